"""``sopbench tick`` moves waiting runs: overdue approvals expire per ``on_timeout``
(reject or fail, never approve) and due ``delay`` steps wake. The tick that
must act runs as its own process, as cron starts it; the one that must not
(before the moment) runs in this process, so a slow process start cannot
make it late. SQLite and PostgreSQL (``db_url``)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from sopbench.scheduler import Scheduler
from tests.engine.support import Bench


def tick(bench: Bench) -> dict[str, Any]:
    done = bench.cli("tick", "--no-reports", "--json")
    assert done.returncode == 0, done.stderr
    out: dict[str, Any] = json.loads(done.stdout)
    return out


def early_tick(bench: Bench, moment: datetime) -> list[tuple[str, str]] | None:
    """What an in-process tick recovers while ``moment`` is still ahead (None: too late)."""
    if (moment - datetime.now(UTC)).total_seconds() < 0.5:
        return None
    recovered = Scheduler(bench.service).tick().recovered
    assert datetime.now(UTC) < moment, "the early tick took too long to tell"
    return recovered


def sleep_until(moment: datetime) -> None:
    time.sleep(max(0.0, (moment - datetime.now(UTC)).total_seconds()) + 0.05)


def waiting_task(bench: Bench, sop_id: str) -> tuple[str, dict[str, Any]]:
    view = bench.start(sop_id, {}, started_by="cara")
    assert (view.run.status, view.run.wait_kind) == ("waiting", "approval")
    task = bench.open_task(view.run.id)
    assert task.due_at is not None
    return view.run.id, task


@pytest.mark.slow
def test_tick_rejects_an_overdue_approval(bench: Bench) -> None:
    run_id, task = waiting_task(bench, "sch_expire_reject")
    assert early_tick(bench, task.due_at) in ([], None)  # not due yet: it keeps waiting
    assert bench.view(run_id).run.status == "waiting"

    sleep_until(task.due_at)
    late = tick(bench)
    assert {"run_id": run_id, "status": "succeeded"} in late["recovered"]
    run = bench.view(run_id).run
    assert run.vars == {"decision": "rejected", "by": "timeout"}  # never approved
    [after] = [t for t in bench.service.tasks(status="all") if t.id == task.id]
    assert after.status == "expired"
    refused = bench.cli("approve", task.id, "--as", "bob")
    assert refused.returncode == 1 and "timed out at" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert tick(bench)["recovered"] == []  # expired once, resumed once


@pytest.mark.slow
def test_tick_fails_a_run_whose_approval_timed_out_with_on_timeout_fail(bench: Bench) -> None:
    run_id, task = waiting_task(bench, "sch_expire_fail")
    sleep_until(task.due_at)
    late = tick(bench)
    assert {"run_id": run_id, "status": "failed"} in late["recovered"]
    view = bench.view(run_id)
    assert view.run.error is not None and "timed out without a decision" in view.run.error
    assert "paid" not in view.run.vars
    assert {s.path: s.status for s in view.steps} == {"sign_off": "failed"}


@pytest.mark.slow
def test_tick_wakes_a_due_delay(bench: Bench) -> None:
    view = bench.start("sch_nap", {})
    assert (view.run.status, view.run.wait_kind) == ("waiting", "delay")
    wake_at = view.run.wake_at
    assert wake_at is not None
    assert early_tick(bench, wake_at) in ([], None)  # not due yet: it keeps waiting
    assert bench.view(view.run.id).run.status == "waiting"
    sleep_until(wake_at)
    late = tick(bench)
    assert late["recovered"] == [{"run_id": view.run.id, "status": "succeeded"}]
    run = bench.view(view.run.id).run
    assert datetime.fromisoformat(run.vars["woke"]) >= wake_at
