"""Proof 2 — deciding a human task is one compare-and-set.

50 ``sopbench approve/reject TASK --as PERSON`` commands run in 50 separate
processes released at the same instant (``_racer.py``). Whatever the mix:

* exactly one decision settles the task (``required: 1``), or exactly
  ``required`` approvals are accepted (``required: 2``);
* every other process exits non-zero with one clear line,
  ``error: task T was already approved by X at <time>``, naming the real
  winner and the real decision time (no traceback, no "try again");
* the run resumes exactly once: one ``task.decided``, the step after the
  approval started, succeeded and called the server once; one
  ``run.succeeded``;
* refused decisions leave no vote behind.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from sopbench.services.runs import RunService
from sopbench.store.tables import task_votes

from ._server import Recorder
from ._workspace import APPROVERS
from .conftest import Procs, note, open_service

REFUSAL = re.compile(
    r"^error: task (?P<task>tsk_\w+) was already (?P<status>approved|rejected) "
    r"by (?P<who>\w+) at (?P<at>\S+)\n$"
)


def race(
    procs: Procs, tmp_path: Path, commands: list[list[str]]
) -> tuple[list[dict[str, object]], float]:
    words: list[str] = []
    for command in commands:
        words += [*command, ";;"]
    started = time.monotonic()
    proc = procs.racer("--out", str(tmp_path / "race"), "--", *words[:-1])
    out, err = proc.communicate(timeout=240)
    took = time.monotonic() - started
    assert proc.returncode == 0, err
    results = [json.loads(line) for line in out.splitlines()]
    assert len(results) == len(commands)
    for result in results:
        assert "Traceback" not in str(result["err"]), result["err"]
    return results, took


def start_waiting(service: RunService, server: Recorder, sop_id: str, prefix: str) -> str:
    view = service.start(sop_id, {"base": f"{server.url}{prefix}"}, started_by="starter")
    assert (view.run.status, view.run.wait_kind) == ("waiting", "approval")
    (task,) = service.tasks()
    assert task.run_id == view.run.id
    return task.id


def assert_resumed_once(
    service: RunService, server: Recorder, task_id: str, prefix: str, votes: int
) -> dict[str, object]:
    task = service.engine.tasks.get(task_id).to_dict()
    run_id = str(task["run_id"])
    run = service.view(run_id).run
    assert run.status == "succeeded", run.error
    journal = service.journal(run_id)
    kinds = Counter(e["kind"] for e in journal)
    assert kinds["task.decided"] == 1, kinds
    assert kinds["task.vote"] == votes - 1, kinds
    assert kinds["run.running"] == 2, kinds  # started, then resumed once
    assert kinds["run.succeeded"] == 1, kinds
    for kind in ("step.started", "step.succeeded"):
        per_path = Counter(e["step_path"] for e in journal if e["kind"] == kind)
        assert per_path == {"prepare": 1, "sign_off": 1, "after": 1, "done": 1}, (kind, per_path)
    calls = server.under(prefix)
    assert [(r.path, r.outcome) for r in calls] == [(f"{prefix}/after", "completed")]
    assert calls[0].body == {"run": run_id, "decided_by": task["decided_by"]}
    with service.db.read() as conn:
        stored = conn.execute(
            select(task_votes.c.person).where(task_votes.c.task_id == task_id)
        ).all()
    assert len(stored) == votes, stored
    return task


def check_outcome(
    results: list[dict[str, object]], task: dict[str, object], accepted: int
) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    winners = [r for r in results if r["rc"] == 0]
    losers = [r for r in results if r["rc"] != 0]
    assert len(winners) == accepted, [(r["argv"], r["out"], r["err"]) for r in winners]
    when = task["decided_at"].isoformat(timespec="seconds")  # type: ignore[attr-defined]
    for loser in losers:
        match = REFUSAL.match(str(loser["err"]))
        assert match, loser["err"]
        assert match["task"] == task["id"]
        assert (match["status"], match["who"], match["at"]) == (
            task["status"],
            task["decided_by"],
            when,
        ), loser["err"]
        assert loser["out"] == ""
    settle = [r for r in winners if "; run " in str(r["out"])]
    assert len(settle) == 1, winners
    assert str(settle[0]["out"]).strip() == (
        f"task {task['id']} {task['status']} by {task['decided_by']}; "
        f"run {task['run_id']} is succeeded"
    )
    return winners, losers


@pytest.mark.slow
def test_fifty_people_decide_one_approval_at_once(
    backend: str, service: RunService, server: Recorder, procs: Procs, tmp_path: Path
) -> None:
    """Half approve, half reject, all at once: one decision wins, 49 are refused."""
    task_id = start_waiting(service, server, "approve_one", "/one")
    commands = [
        ["approve" if i % 2 else "reject", task_id, "--as", person]
        for i, person in enumerate(APPROVERS)
    ]
    results, took = race(procs, tmp_path, commands)
    task = assert_resumed_once(service, server, task_id, "/one", votes=1)
    winners, _ = check_outcome(results, task, accepted=1)
    assert winners[0]["argv"][-1] == task["decided_by"]  # type: ignore[index]
    note(
        f"decision races [{backend}]",
        f"50 people, required 1: {took:5.2f} s; winner {task['decided_by']} ({task['status']})",
    )


@pytest.mark.slow
def test_one_person_decides_fifty_times_at_once(
    backend: str, service: RunService, server: Recorder, procs: Procs, tmp_path: Path
) -> None:
    task_id = start_waiting(service, server, "approve_one", "/same")
    commands = [["approve", task_id, "--as", "p07"] for _ in range(50)]
    results, took = race(procs, tmp_path, commands)
    task = assert_resumed_once(service, server, task_id, "/same", votes=1)
    assert (task["status"], task["decided_by"]) == ("approved", "p07")
    check_outcome(results, task, accepted=1)
    note(f"decision races [{backend}]", f"1 person x 50, required 1: {took:5.2f} s")


@pytest.mark.slow
def test_two_of_fifty_approvals_at_once(
    backend: str, service: RunService, server: Recorder, procs: Procs, tmp_path: Path
) -> None:
    """N of M under concurrency: exactly two approvals count; the rest are refused."""
    task_id = start_waiting(service, server, "approve_two", "/two")
    commands = [["approve", task_id, "--as", person] for person in APPROVERS]
    results, took = race(procs, tmp_path, commands)
    task = assert_resumed_once(service, server, task_id, "/two", votes=2)
    assert (task["status"], task["approvals"]) == ("approved", 2)
    winners, _ = check_outcome(results, task, accepted=2)
    (vote,) = [r for r in winners if "; run " not in str(r["out"])]
    assert str(vote["out"]).strip() == f"task {task_id}: 1 of 2 approvals recorded"
    note(f"decision races [{backend}]", f"50 people, required 2: {took:5.2f} s")


def test_a_waiting_run_is_not_taken_by_another_driver(
    service: RunService, server: Recorder, home: Path, db_url: str
) -> None:
    """A worker holding a stale list of runs must not drive a run that waits on a person.

    Were it allowed to, it would mark the run running and could re-park it
    as waiting right after a decision settled the task (the decision's
    waiting -> pending switch then finds it running and does nothing): the
    run would wait forever on an approved task.
    """
    task_id = start_waiting(service, server, "approve_one", "/stale")
    run_id = service.engine.tasks.get(task_id).run_id
    before = service.journal(run_id)
    other = open_service(home, db_url)
    try:
        assert other.engine.drive(run_id) == "waiting"
    finally:
        other.close()
    after = service.journal(run_id)
    assert [e["kind"] for e in after] == [e["kind"] for e in before]
    run = service.view(run_id).run
    assert (run.status, run.lease_owner) == ("waiting", None)


@pytest.mark.slow
def test_decider_dies_while_continuing_the_run(
    backend: str, service: RunService, server: Recorder, procs: Procs
) -> None:
    """The deciding process continues the run and is killed doing it: the
    decision stands, recovery resumes the run once more, nothing runs twice."""
    task_id = start_waiting(service, server, "approve_one", "/died")
    proc = procs.driver("decide", task_id, "--as", "p03", "--kill-at-start", "after")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == -9, (out, err)
    task = service.engine.tasks.get(task_id)
    assert (task.status, task.decided_by) == ("approved", "p03")
    run_id = task.run_id
    assert service.view(run_id).run.status == "running"

    deadline = time.monotonic() + 30
    while not (moved := dict(service.recover())) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert moved == {run_id: "succeeded"}
    journal = service.journal(run_id)
    kinds = Counter(e["kind"] for e in journal)
    assert kinds["task.decided"] == 1 and kinds["run.succeeded"] == 1, kinds
    assert kinds["run.running"] == 3, kinds  # started, decider (died), recoverer
    for kind in ("step.started", "step.succeeded"):
        per_path = Counter(e["step_path"] for e in journal if e["kind"] == kind)
        assert per_path == {"prepare": 1, "sign_off": 1, "after": 1, "done": 1}, (kind, per_path)
    assert [r.outcome for r in server.under("/died")] == ["completed"]
