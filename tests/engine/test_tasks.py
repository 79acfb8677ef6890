"""Deciding human tasks while the engine is busy: no decision is ever lost."""

from __future__ import annotations

import threading
import time

from engine.support import Bench
from sopbench.errors import DecisionRefused
from sopbench.services.runs import RunService
from sopbench.store import open_database


def test_a_decision_during_the_wait_being_recorded_is_not_lost(bench: Bench) -> None:
    """Someone decides a task the moment it exists, before its run is recorded as waiting.

    Between opening the task and recording the wait, the run is still
    ``running``; a decision in that window must still wake it (here: a
    poller in another connection decides every open task at once). After
    one round of recovery every run has finished; none waits for ever on a
    task that is already approved.
    """
    other = RunService(
        bench.settings,
        workspace=bench.service.workspace,
        database=open_database(bench.settings.db_url),
    )
    stop = threading.Event()
    refusals: list[str] = []

    def decide_everything() -> None:
        while not stop.is_set():
            for task in other.tasks():
                try:
                    other.decide(task.id, person="bob", action="approve", continue_run=False)
                except DecisionRefused as exc:  # another round got there first
                    refusals.append(exc.message)

    poller = threading.Thread(target=decide_everything, daemon=True)
    poller.start()
    try:
        run_ids = [bench.start("eng_journal", {"qty": 1}).run.id for _ in range(40)]
        deadline = time.monotonic() + 10
        while other.tasks() and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        stop.set()
        poller.join()
        other.db.dispose()
    bench.service.recover()
    statuses = [bench.view(run_id).run.status for run_id in run_ids]
    assert statuses == ["succeeded"] * 40
    assert all("already approved by bob" in r for r in refusals)
    for run_id in run_ids:
        assert bench.kinds(run_id).count("task.decided") == 1
