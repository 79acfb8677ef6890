"""Proof 1 — a crash never loses a run and never re-runs a completed step.

A real worker process drives the 10-step SOP ``crash10`` (five transforms,
three webhooks, two api_calls against a real HTTP server) and is SIGKILLed:

* ``step-sNN``: at every step boundary, from ``on_step_end`` right after
  step NN's result was committed (N = 1..10);
* ``start-s04``: from ``on_step_start`` of an api_call (the step is recorded
  as started, its intent not yet);
* ``call-before-sNN``: while the server holds the call unprocessed;
* ``call-after-sNN``: after the server has done the effect but before it
  answers (the worker never learns the outcome);
* ``answered-s06``: the moment the server has answered (the worker is
  recording the outcome; either side of that commit must be safe).

Then the run is recovered (``RunService.recover`` in this process, or the
``sopbench recover`` CLI in another one) once the dead holder's lease has
expired, and the proof checks:

* the run ends ``succeeded`` with exactly the outputs of an uncrashed run
  (later steps consume earlier results and the server's per-path counters,
  so any lost or repeated effect changes them);
* the journal holds one ``step.started`` and one ``step.succeeded`` per
  step, one ``run.succeeded``, and two drivers that never interleave: the
  dead one, then the recoverer;
* every effect's idempotency key is ``idempotency_key(run id, step path,
  name)``; the server saw each key *completed exactly once*; any other
  request with that key is a repeat of an unprocessed call (before) or a
  replay of an answered one (after), never a second effect. The key sent
  before the crash is the key sent after it.
"""

from __future__ import annotations

import itertools
import json
import time
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from sopbench.engine import idempotency_key
from sopbench.services.runs import RunService
from sopbench.store import utcnow

from ._server import Recorder
from ._workspace import CALL_STEPS, CRASH_STEPS
from .conftest import Procs, note

BOUNDARIES = [f"step-{s}" for s in CRASH_STEPS]
IN_CALLS = [
    "start-s04",
    "call-before-s02",
    "call-after-s02",
    "call-before-s04",
    "call-after-s04",
    "call-after-s07",
    "call-before-s09",
    "answered-s06",
]
# Recovered by the `sopbench recover` CLI in its own process; the rest in-process.
BY_CLI = {"step-s05", "call-after-s04"}
# Every scenario runs on SQLite; PostgreSQL runs this representative set.
ON_POSTGRES = {
    "step-s01",
    "step-s02",
    "step-s05",
    "step-s07",
    "step-s10",
    "start-s04",
    "call-before-s04",
    "call-after-s04",
    "call-after-s07",
    "answered-s06",
}

EXPECTED_TOTAL = 2013  # see _workspace.CRASH10: what an uncrashed run ends with
EFFECT_NAME = {"webhook": "webhook", "api_call": "http"}


def _scenarios() -> list[object]:
    cases: list[object] = []
    for backend in ("sqlite", "postgresql"):
        marks = [pytest.mark.postgres] if backend == "postgresql" else []
        for scenario in BOUNDARIES + IN_CALLS:
            if backend == "sqlite" or scenario in ON_POSTGRES:
                cases.append(
                    pytest.param(backend, scenario, marks=marks, id=f"{backend}-{scenario}")
                )
    return cases


def _run_id(stdout: str) -> str:
    for line in stdout.splitlines():
        if line.startswith("run "):
            return line.split()[1]
    raise AssertionError(f"the driver never started a run:\n{stdout}")


def crash(procs: Procs, server: Recorder, scenario: str, prefix: str) -> tuple[str, float]:
    """Start a driver that dies at ``scenario``; its run id and when it was dead."""
    kind, step = scenario.split("-", 1)
    args = ["start", "crash10", "--input", f"base={server.url}{prefix}"]
    hold = None
    if kind == "step":
        args += ["--kill-after", step]
    elif kind == "start":
        args += ["--kill-at-start", step]
    else:
        when, step = ("answered", step) if kind == "answered" else step.split("-", 1)
        hold = server.hold(f"{prefix}/{step}", when)
    proc = procs.driver(*args)
    if hold is not None:
        try:
            hold.wait(timeout=60)
        except TimeoutError:
            proc.kill()
            out, err = proc.communicate()
            raise AssertionError(f"the call never reached the server:\n{out}\n{err}") from None
        proc.kill()  # SIGKILL
    out, err = proc.communicate(timeout=60)
    dead = time.monotonic()
    assert proc.returncode == -9, f"driver was not killed ({proc.returncode}):\n{out}\n{err}"
    if hold is not None:
        # The caller is gone: a call held before processing is dropped
        # unprocessed, one held after processing gets its (unread) answer.
        if hold.when == "before":
            hold.abort()
        else:
            hold.release()
    return _run_id(out), dead


def recover_in_process(service: RunService, run_id: str) -> float:
    """Poll ``recover`` (as a worker would) until it moves the run; that call's duration."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        started = time.monotonic()
        moved = dict(service.recover())
        if run_id in moved:
            assert moved[run_id] == "succeeded", moved
            return time.monotonic() - started
        time.sleep(0.02)
    raise AssertionError(f"run {run_id} was never recovered")


def recover_by_cli(procs: Procs, service: RunService, run_id: str) -> float:
    run = service.view(run_id).run
    assert run.lease_expires_at is not None
    wait = (run.lease_expires_at - utcnow()).total_seconds()
    time.sleep(max(wait, 0) + 0.05)
    started = time.monotonic()
    proc = procs.cli("recover", "--json")
    out, err = proc.communicate(timeout=60)
    took = time.monotonic() - started
    assert proc.returncode == 0, err
    assert {"run_id": run_id, "status": "succeeded"} in json.loads(out), out
    return took


def assert_ran_once(
    service: RunService,
    server: Recorder,
    run_id: str,
    prefix: str,
    dead_owner: str,
    drivers: int = 2,
) -> dict[str, list[str]]:
    """Every promise of proof 1; the server's outcomes per step, for scenario checks."""
    view = service.view(run_id)
    run = view.run
    assert run.status == "succeeded", run.error

    # Same answer as an uncrashed run; s07 consumed s04's real response.
    effects = service.engine.effects.of_run(run_id)
    keys = {e["step_path"]: e["idempotency_key"] for e in effects}
    assert run.outputs["total"] == EXPECTED_TOTAL, run.outputs
    assert run.outputs["s04_seen"] == 1 and run.outputs["s07_seen"] == 1, run.outputs
    assert run.outputs["s07_echo"] == {"total": 2011, "s04": keys["s04"]}, run.outputs
    assert [(s.path, s.status, s.attempt) for s in view.steps] == [
        (s, "succeeded", 1) for s in CRASH_STEPS
    ]

    # The journal: each step started and succeeded once; one end.
    journal = service.journal(run_id)
    kinds = Counter(e["kind"] for e in journal)
    assert kinds["run.succeeded"] == 1 and kinds["run.failed"] == 0, kinds
    for kind in ("step.started", "step.succeeded"):
        per_path = Counter(e["step_path"] for e in journal if e["kind"] == kind)
        assert per_path == dict.fromkeys(CRASH_STEPS, 1), (kind, per_path)
    # Drivers one after the other: the dead one(s), then the recoverer.
    actors = [
        e["actor"]
        for e in journal
        if e["kind"].startswith("step.") or e["kind"] in ("run.running", "run.succeeded")
    ]
    order = [actor for actor, _ in itertools.groupby(actors)]
    assert len(order) == len(set(order)) == drivers and order[0] == dead_owner, order
    assert kinds["run.running"] == drivers, kinds

    # Effects: one per call step, all done, keyed by run id + step path.
    assert {e["step_path"]: e["status"] for e in effects} == dict.fromkeys(CALL_STEPS, "done")
    for path, key in keys.items():
        assert key == idempotency_key(run_id, path, EFFECT_NAME[CALL_STEPS[path]])

    # The server: every request carried one of those keys; each key completed
    # exactly once; anything else is a repeat of an unprocessed call or a replay.
    seen: dict[str, list[str]] = defaultdict(list)
    for request in server.under(prefix):
        path = request.path[len(prefix) + 1 :]
        assert request.key == keys[path], (request.path, request.key)
        seen[path].append(request.outcome)
    assert set(seen) == set(CALL_STEPS)
    for path, outcomes in seen.items():
        assert outcomes.count("completed") == 1, (path, outcomes)
        first = outcomes.index("completed")
        assert set(outcomes[:first]) <= {"aborted"}, (path, outcomes)
        assert set(outcomes[first + 1 :]) <= {"replayed"}, (path, outcomes)
    assert server.overlaps == []
    return dict(seen)


@pytest.mark.slow
@pytest.mark.parametrize(("backend", "scenario"), _scenarios(), indirect=["backend"])
def test_crash_then_recover(
    backend: str, scenario: str, procs: Procs, server: Recorder, service: RunService, home: Path
) -> None:
    prefix = f"/{scenario}"
    run_id, dead = crash(procs, server, scenario, prefix)

    # What the crash left: a running run whose holder is dead.
    left = service.view(run_id).run
    assert left.status == "running" and left.lease_owner, left
    dead_owner = left.lease_owner
    effect_state = {e["step_path"]: e["status"] for e in service.engine.effects.of_run(run_id)}

    if scenario in BY_CLI:
        took = recover_by_cli(procs, service, run_id)
        how = "cli"
    else:
        took = recover_in_process(service, run_id)
        how = "in-process"
    total = time.monotonic() - dead
    note(
        f"recovery after a crash [{backend}] (driver lease 0.5 s)",
        f"{scenario:<18} {how:<10} recover call {took * 1000:7.1f} ms, "
        f"kill -> succeeded {total * 1000:7.1f} ms",
    )

    seen = assert_ran_once(service, server, run_id, prefix, dead_owner)

    kind, _, rest = scenario.partition("-")
    step = rest.rsplit("-", 1)[-1]
    if kind == "step":
        # Killed after step N was committed: nothing was called twice.
        assert all(outcomes == ["completed"] for outcomes in seen.values()), seen
    elif kind == "start":
        assert step not in effect_state  # died before the intent: the call is made once
        assert seen[step] == ["completed"]
    elif rest.startswith("before"):
        # The held call never happened; recovery repeated it with the same key.
        assert effect_state[step] == "intent"
        assert seen[step] == ["aborted", "completed"]
    elif rest.startswith("after"):
        # The effect happened but its answer was lost: the repeat is a replay.
        assert effect_state[step] == "intent"
        assert seen[step] == ["completed", "replayed"]
    else:  # answered: the outcome may or may not have been committed
        expected = ["completed"] if effect_state[step] == "done" else ["completed", "replayed"]
        assert seen[step] == expected
        note(
            f"recovery after a crash [{backend}] (driver lease 0.5 s)",
            f"  answered-s06 hit the window where the effect row was '{effect_state[step]}'",
        )


@pytest.mark.slow
def test_uncrashed_run_is_the_baseline(service: RunService, server: Recorder, backend: str) -> None:
    """The expected outputs above are those of a run nobody killed."""
    view = service.start("crash10", {"base": f"{server.url}/plain"}, started_by="starter")
    assert view.run.status == "succeeded"
    assert view.run.outputs["total"] == EXPECTED_TOTAL
    keys = Counter(r.key for r in server.under("/plain"))
    assert len(keys) == len(CALL_STEPS) and set(keys.values()) == {1}


@pytest.mark.slow
def test_crash_twice(backend: str, procs: Procs, server: Recorder, service: RunService) -> None:
    """The recoverer dies too (inside a call): the key survives both crashes."""
    run_id, _ = crash(procs, server, "step-s03", "/twice")
    first_owner = service.view(run_id).run.lease_owner
    assert first_owner

    hold = server.hold("/twice/s07", "after")
    second = procs.driver("recover")
    hold.wait(timeout=60)
    second.kill()
    out, err = second.communicate(timeout=60)
    assert second.returncode == -9, (out, err)
    hold.release()
    run = service.view(run_id).run
    assert run.status == "running" and run.lease_owner not in (None, first_owner), run

    recover_in_process(service, run_id)
    seen = assert_ran_once(service, server, run_id, "/twice", first_owner, drivers=3)
    assert seen["s07"] == ["completed", "replayed"]
    assert all(seen[s] == ["completed"] for s in ("s02", "s04", "s06", "s09")), seen
