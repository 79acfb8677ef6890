"""Guarantees enforced by the database itself, whoever writes to it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, IntegrityError

from sopbench.store import Database, new_id
from sopbench.store import tables as t

NOW = datetime(2026, 11, 1, 15, 0, tzinfo=UTC)


@pytest.fixture
def event_id(database: Database) -> int:
    run_id = new_id("run")
    with database.write() as conn:
        conn.execute(
            t.runs.insert().values(
                id=run_id,
                sop_id="s",
                entity="e",
                status="running",
                definition={},
                sop_hash="h" * 64,
            )
        )
        inserted = conn.execute(
            t.events.insert().values(
                run_id=run_id, actor="alice", kind="run.started", data={"n": 1}
            )
        )
        key = inserted.inserted_primary_key
        assert key is not None
        return int(key[0])


def journal(database: Database) -> list[tuple[object, ...]]:
    with database.read() as conn:
        return [tuple(row) for row in conn.execute(sa.select(t.events))]


@pytest.mark.parametrize(
    "statement",
    [
        lambda: t.events.update().values(actor="mallory"),
        lambda: t.events.delete(),
        lambda: sa.text("UPDATE events SET kind = 'forged'"),
        lambda: sa.text("DELETE FROM events"),
    ],
    ids=["core-update", "core-delete", "sql-update", "sql-delete"],
)
def test_events_are_append_only(database: Database, event_id: int, statement: object) -> None:
    before = journal(database)
    with pytest.raises(DBAPIError, match="append-only"), database.write() as conn:
        conn.execute(statement())  # type: ignore[operator]
    assert journal(database) == before


def test_events_ids_increase_and_rows_can_still_be_added(database: Database, event_id: int) -> None:
    with database.write() as conn:
        conn.execute(t.events.insert().values(actor="system", kind="tick", data={}))
    ids = [int(str(row[0])) for row in journal(database)]
    assert ids == sorted(ids) and ids[0] == event_id and len(ids) == 2


def test_fire_record_fires_once(database: Database) -> None:
    with database.write() as conn:
        conn.execute(
            t.schedules.insert().values(
                id="sch_1",
                sop_id="s",
                cron="0 9 * * MON",
                timezone="America/Denver",
                catchup="latest",
                source="trigger",
                inputs={},
            )
        )
        conn.execute(
            t.fire_records.insert().values(schedule_id="sch_1", fire_time=NOW, status="fired")
        )
    same_instant = NOW.astimezone(timezone(timedelta(hours=-7)))  # 08:00 in Denver (MST)
    with pytest.raises(IntegrityError), database.write() as conn:
        conn.execute(
            t.fire_records.insert().values(
                schedule_id="sch_1", fire_time=same_instant, status="fired"
            )
        )
    with database.write() as conn:  # another fire time of the same schedule is fine
        conn.execute(
            t.fire_records.insert().values(
                schedule_id="sch_1", fire_time=NOW + timedelta(days=7), status="fired"
            )
        )
        count = conn.execute(sa.select(sa.func.count()).select_from(t.fire_records)).scalar()
    assert count == 2


def test_status_values_are_checked(database: Database) -> None:
    with pytest.raises(IntegrityError), database.write() as conn:
        conn.execute(
            t.runs.insert().values(
                id=new_id("run"),
                sop_id="s",
                entity="e",
                status="bogus",
                definition={},
                sop_hash="h" * 64,
            )
        )


def test_foreign_keys_are_enforced(database: Database) -> None:
    with pytest.raises(IntegrityError), database.write() as conn:
        conn.execute(
            t.step_states.insert().values(
                run_id="run_missing", path="a", step_id="a", type="manual", status="running", seq=1
            )
        )
