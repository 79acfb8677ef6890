"""Schedules: trigger sync, manual schedules, catch-up, DST, pause/resume, concurrency."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import yaml
from sqlalchemy import func, select

from sopbench.library import load_workspace
from sopbench.scheduler import Scheduler, trigger_id
from sopbench.store.tables import fire_records, runs
from tests.engine.support import Bench


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def fire_times(bench: Bench, schedule_id: str) -> list[datetime]:
    with bench.db.read() as conn:
        rows = conn.execute(
            select(fire_records.c.fire_time)
            .where(fire_records.c.schedule_id == schedule_id)
            .order_by(fire_records.c.fire_time)
        )
        return [r[0] for r in rows]


def test_triggers_sync_with_stable_ids_and_removed_ones_are_disabled(bench: Bench) -> None:
    scheduler = Scheduler(bench.service)
    scheduler.sync(at("2026-03-07T12:00:00"))
    sid = trigger_id("sch_daily", 0)
    view = scheduler.get(sid)
    assert (view.source, view.state, view.cron) == ("trigger", "active", "30 2 * * *")
    # 02:30 on 2026-03-08 does not exist in Denver: first valid minute is 03:00 MDT.
    assert view.next_fire_at == at("2026-03-08T09:00:00")
    assert view.inputs == {"who": "night shift", "day": "2027-03-14"}  # YAML date as JSON
    scheduler.sync(at("2026-03-07T13:00:00"))  # unchanged trigger: nothing moves
    assert scheduler.get(sid) == view
    result = scheduler.tick(at("2026-03-08T09:00:20"))
    assert [f.status for f in result.fires] == ["fired"]
    assert result.fires[0].run_status == "succeeded"

    # Remove the trigger from the SOP file: the schedule is disabled, its history kept.
    path = bench.home / "sops" / "shop" / "sch_daily.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["triggers"] = [{"manual": True}]
    path.write_text(yaml.safe_dump(doc))
    bench.service.workspace = load_workspace(bench.home)
    scheduler.sync(at("2026-03-09T12:00:00"))
    assert scheduler.get(sid).state == "removed"
    assert scheduler.tick(at("2026-03-20T12:00:00")).fires == []
    assert fire_times(bench, sid) == [at("2026-03-08T09:00:00")]
    with pytest.raises(Exception, match="removed"):
        scheduler.resume(sid)


@pytest.mark.parametrize(
    ("catchup", "expected"),
    [
        ("none", []),
        ("latest", ["2026-05-01T11:00:00"]),
        (
            "all",
            [f"2026-05-01T10:{m}:00" for m in ("10", "20", "30", "40", "50")]
            + ["2026-05-01T11:00:00"],
        ),
    ],
)
def test_catchup_after_downtime(bench: Bench, catchup: str, expected: list[str]) -> None:
    scheduler = Scheduler(bench.service)
    view = scheduler.add(
        "sch_plain", "*/10 * * * *", catchup=catchup, now=at("2026-05-01T10:00:00")
    )
    result = scheduler.tick(at("2026-05-01T11:06:00"), sync=False)
    assert [f.fire_time for f in result.fires] == [at(t) for t in expected]
    assert fire_times(bench, view.id) == [at(t) for t in expected]
    assert scheduler.get(view.id).next_fire_at == at("2026-05-01T11:10:00")
    # A tick on time fires the next one under every policy.
    result = scheduler.tick(at("2026-05-01T11:10:05"), sync=False)
    assert [f.fire_time for f in result.fires] == [at("2026-05-01T11:10:00")]


def test_catchup_all_is_capped_per_tick_and_loses_nothing(bench: Bench) -> None:
    scheduler = Scheduler(bench.service, cap=4)
    view = scheduler.add("sch_plain", "* * * * *", catchup="all", now=at("2026-05-01T09:59:30"))
    now = at("2026-05-01T10:09:30")
    counts = [len(scheduler.tick(now, sync=False).fires) for _ in range(4)]
    assert counts == [4, 4, 2, 0]
    assert fire_times(bench, view.id) == [at(f"2026-05-01T10:0{m}:00") for m in range(10)]


def _tick_every(scheduler: Scheduler, start: datetime, end: datetime, step: timedelta) -> int:
    fired, now = 0, start
    while now <= end:
        fired += len(scheduler.tick(now, sync=False).fires)
        now += step
    return fired


def test_dst_spring_forward_fires_once_at_the_next_valid_minute(bench: Bench) -> None:
    scheduler = Scheduler(bench.service)
    view = scheduler.add(
        "sch_plain",
        "30 2 * * *",
        timezone="America/Denver",
        catchup="none",
        now=at("2026-03-08T06:00:00"),
    )
    fired = _tick_every(
        scheduler, at("2026-03-08T06:00:10"), at("2026-03-08T12:00:10"), timedelta(minutes=7)
    )
    assert fired == 1
    assert fire_times(bench, view.id) == [at("2026-03-08T09:00:00")]  # 03:00 MDT


def test_dst_fall_back_repeated_hour_fires_once(bench: Bench) -> None:
    scheduler = Scheduler(bench.service)
    view = scheduler.add(
        "sch_plain",
        "30 1 * * *",
        timezone="America/Denver",
        catchup="all",
        now=at("2026-11-01T05:00:00"),
    )
    fired = _tick_every(
        scheduler, at("2026-11-01T05:00:10"), at("2026-11-01T11:00:10"), timedelta(minutes=7)
    )
    assert fired == 1
    assert fire_times(bench, view.id) == [at("2026-11-01T07:30:00")]  # 01:30 MDT, first one


def test_pause_and_resume(bench: Bench) -> None:
    scheduler = Scheduler(bench.service)
    view = scheduler.add("sch_plain", "0 * * * *", catchup="all", now=at("2026-05-01T09:30:00"))
    assert scheduler.pause(view.id).state == "paused"
    assert scheduler.tick(at("2026-05-01T12:30:00"), sync=False).fires == []
    resumed = scheduler.resume(view.id, now=at("2026-05-01T12:30:00"))
    assert (resumed.state, resumed.next_fire_at) == ("active", at("2026-05-01T13:00:00"))
    result = scheduler.tick(at("2026-05-01T13:00:01"), sync=False)
    assert [f.fire_time for f in result.fires] == [at("2026-05-01T13:00:00")]
    scheduler.remove(view.id)
    assert scheduler.schedules(sop_id="sch_plain") == []


def test_concurrency_skip_and_queue(bench: Bench) -> None:
    scheduler = Scheduler(bench.service)
    gate = scheduler.add("sch_gate", "0 * * * *", now=at("2026-05-01T09:30:00"))
    queue = scheduler.add("sch_queue", "0 * * * *", now=at("2026-05-01T09:30:00"))
    first = scheduler.tick(at("2026-05-01T10:00:01"), sync=False)
    assert sorted((f.status, f.run_status) for f in first.fires) == [
        ("fired", "waiting"),
        ("fired", "waiting"),
    ]
    second = {f.schedule_id: f for f in scheduler.tick(at("2026-05-01T11:00:01"), sync=False).fires}
    assert second[gate.id].status == "skipped"
    assert second[gate.id].run_id is None
    assert (second[queue.id].status, second[queue.id].run_status) == ("fired", "pending")
    with bench.db.read() as conn:
        count = conn.execute(select(func.count()).select_from(runs)).scalar_one()
    assert count == 3
    assert "schedule.skipped" in bench.dump()


def test_bad_inputs_are_refused_when_added(bench: Bench) -> None:
    scheduler = Scheduler(bench.service)
    with pytest.raises(Exception, match="sch_nope"):
        scheduler.add("sch_nope", "* * * * *")
    with pytest.raises(Exception, match="time zone"):
        scheduler.add("sch_plain", "* * * * *", timezone="Mars/Olympus")
    with pytest.raises(Exception, match="cron"):
        scheduler.add("sch_plain", "61 * * * *")
