"""Proof 3 — two workers never drive the same run at the same time.

40 runs of ``work`` (three outside calls to a server that takes 30 ms per
call; half of the runs park on a durable 1 s ``delay`` that a worker must
wake) are left ``pending``; then two real ``sopbench worker`` processes are
started at the same instant (``_racer.py`` forks both and releases them
together) and left to drain the queue until idle. On PostgreSQL they claim
with ``FOR UPDATE SKIP LOCKED`` + a compare-and-set lease; on SQLite with the
same compare-and-set under ``BEGIN IMMEDIATE``.

For every run:

* it ends ``succeeded``, once (one ``run.succeeded``), every step started
  and succeeded once;
* the journal, in commit order, splits into drives, each opened by its
  driver's ``run.running`` and holding only that driver's events: no two
  workers ever interleave on one run; one drive, or two for a run that
  paused (never woken before it was due, never picked up while parked);
* a paused run is woken no earlier than its ``wake_at``;
* the server saw each call completed once, never replayed (nobody repeated
  a finished call) and never two calls for one key at once.

Both workers did share the work (each drove some runs), and each reports
exactly the drives it made.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from sopbench.services.runs import RunService

from ._server import Recorder
from .conftest import Procs, note

RUNS = 40
WORKER = ["worker", "--poll", "0.05", "--max-idle", "2.5"]


@pytest.fixture
def server() -> Iterator[Recorder]:
    with Recorder(delay=0.03) as recorder:
        yield recorder


def drive_segments(journal: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """The run's engine events in commit order, cut at each ``run.running``.

    Each segment is one drive; every event in it must be its driver's.
    """
    segments: list[tuple[str, list[dict[str, Any]]]] = []
    for event in journal:
        kind = str(event["kind"])
        if kind == "run.running":
            segments.append((str(event["actor"]), [event]))
        elif kind.startswith("step.") or kind in ("run.waiting", "run.succeeded", "run.failed"):
            assert segments, f"{kind} before any run.running"
            driver, events = segments[-1]
            assert event["actor"] == driver, (
                f"{event['actor']} wrote {kind} while {driver} was driving the run"
            )
            events.append(event)
    return segments


@pytest.mark.slow
def test_two_workers_never_drive_one_run_at_once(
    backend: str, service: RunService, server: Recorder, procs: Procs, tmp_path: Path
) -> None:
    base = f"{server.url}/w"
    run_ids = [
        service.start(
            "work", {"base": base, "pause": i % 2 == 0}, started_by="starter", detach=True
        ).run.id
        for i in range(RUNS)
    ]
    started = time.monotonic()
    proc = procs.racer("--out", str(tmp_path / "workers"), "--", *WORKER, ";;", *WORKER)
    out, err = proc.communicate(timeout=240)
    took = time.monotonic() - started
    assert proc.returncode == 0, err
    workers = [json.loads(line) for line in out.splitlines()]
    assert [w["rc"] for w in workers] == [0, 0], workers

    drives: Counter[str] = Counter()
    for i, run_id in enumerate(run_ids):
        paused = i % 2 == 0
        view = service.view(run_id)
        assert view.run.status == "succeeded", (run_id, view.run.error)
        journal = service.journal(run_id)
        kinds = Counter(str(e["kind"]) for e in journal)
        assert kinds["run.succeeded"] == 1, kinds
        ended = {"a": "succeeded", "b": "succeeded", "pause": "skipped", "c": "succeeded"}
        ended |= {"pause": "succeeded" if paused else "skipped", "d": "succeeded"}
        assert {s.path: s.status for s in view.steps} == ended
        per_path = Counter(e["step_path"] for e in journal if e["kind"] == "step.started")
        assert per_path == dict.fromkeys(ended, 1), (run_id, per_path)
        per_path = Counter(
            e["step_path"] for e in journal if e["kind"] in ("step.succeeded", "step.skipped")
        )
        assert per_path == dict.fromkeys(ended, 1), (run_id, per_path)

        segments = drive_segments(journal)
        assert kinds["run.running"] == (2 if paused else 1), (run_id, kinds)
        for actor, events in segments:
            assert events[0]["kind"] == "run.running", (run_id, actor, events[0])
            drives[actor] += 1
        ends = [str(events[-1]["kind"]) for _, events in segments]
        assert ends == (["run.waiting", "run.succeeded"] if paused else ["run.succeeded"])
        if paused:
            wake_at = datetime.fromisoformat(segments[0][1][-1]["data"]["wake_at"])
            assert segments[1][1][0]["ts"] >= wake_at, (run_id, wake_at, segments[1][1][0])

        for step in ("a", "c", "d"):
            calls = server.under(f"/w/{run_id}/{step}")
            assert [r.outcome for r in calls] == ["completed"], (run_id, step, calls)
    assert server.overlaps == []

    # Both real worker processes took part, and each reports the drives it made
    # (not the runs it listed but the other worker took first).
    assert len(drives) == 2, drives
    said = sorted(
        int(re.fullmatch(r"worker stopped after driving (\d+) run\(s\)\n", w["out"])[1])  # type: ignore[index]
        for w in workers
    )
    assert said == sorted(drives.values()), (said, drives)
    note(
        f"two workers [{backend}]",
        f"{RUNS} runs ({RUNS // 2} with a 1 s delay) drained in {took:5.2f} s; "
        f"drives per worker: {sorted(drives.values())}",
    )
