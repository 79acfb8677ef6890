"""Crash containment: one run's unexpected error never stops the others.

The buggy step types come from a real third-party package registered through
the public ``sopbench.steps`` entry-point group.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys

import pytest
from sqlalchemy import update

from sopbench.store.tables import runs

from ..support import SECRET, Bench
from .conftest import PLUGIN_DIR


def crashes(bench: Bench, run_id: str) -> list[dict[str, object]]:
    return [e for e in bench.journal(run_id) if e["kind"] == "run.crashed"]


def test_a_crashing_step_is_contained_and_fails_after_five_crashes(
    bench: Bench, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="sopbench")
    boom = bench.start("crash_boom", {"key": SECRET}, detach=True).run.id
    fine = [bench.start("crash_fine", {"n": n}, detach=True).run.id for n in range(3)]

    moved = dict(bench.service.recover())  # what one worker pass does
    assert moved[boom] == "waiting"
    view = bench.view(boom)
    assert (view.run.status, view.run.wait_kind, view.run.crash_count) == (
        "waiting",
        "recovery",
        1,
    )
    assert view.run.lease_owner is None and view.run.error_step == "boom"
    (first,) = crashes(bench, boom)
    assert first["step_path"] == "boom"
    assert first["data"]["error_class"] == "RuntimeError"
    assert first["data"]["error"] == "RuntimeError: plugin bug: key ***"
    # the other runs on the same pass went on to their end
    bench.service.recover()  # their 0 s delays are due: the next pass ends them
    assert [bench.view(r).run.status for r in fine] == ["succeeded"] * 3
    assert [bench.view(r).run.vars["thrice"] for r in fine] == [0, 3, 6]

    # logged with its traceback, secrets masked
    assert "Traceback" in caplog.text and "plugin bug: key ***" in caplog.text
    assert SECRET not in caplog.text

    # recovery retries it with backoff, then gives up at the fifth crash
    done = bench.through_retries(boom)
    assert done.run.status == "failed"
    assert done.run.error == "crashed 5 times: RuntimeError: plugin bug: key ***"
    assert done.run.error_step == "boom" and done.run.crash_count == 5
    waits = [e["data"]["retry_at"] for e in crashes(bench, boom)[:-1]]
    assert len(crashes(bench, boom)) == 5 and len(waits) == 4
    steps = bench.steps(boom)
    assert steps["before"].status == "succeeded"
    assert "boom" not in steps or steps["boom"].status == "failed"
    assert bench.kinds(boom)[-1] == "run.failed"
    assert [e["kind"] for e in bench.journal(boom)].count("step.succeeded") == 1
    assert SECRET not in bench.dump()

    shown = bench.cli("show", boom, "--json")
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)
    assert data["status"] == "failed" and data["error"].startswith("crashed 5 times:")
    assert data["error_step"] == "boom"


def test_an_unknown_wait_kind_fails_the_step_clearly(bench: Bench) -> None:
    view = bench.start("crash_poll")
    assert view.run.status == "failed"
    step = bench.steps(view.run.id)["poll"]
    assert step.status == "failed"
    assert step.error == (
        "step type 'crashy_poll' asked to wait for 'poll', which is not a wait sopbench "
        "knows (one of: approval, manual, delay, child, review, media)"
    )
    assert crashes(bench, view.run.id) == []


def test_a_definition_that_no_longer_loads_is_contained(bench: Bench) -> None:
    broken = bench.start("crash_fine", detach=True).run.id
    fine = bench.start("crash_fine", {"n": 5}, detach=True).run.id
    with bench.db.write() as conn:
        conn.execute(
            update(runs)
            .where(runs.c.id == broken)
            .values(definition={"steps": "not a list"}, sop_hash="f" * 64)
        )
    moved = dict(bench.service.recover())
    assert moved[broken] == "waiting"
    assert bench.through_retries(fine).run.status == "succeeded"
    (crash,) = crashes(bench, broken)
    assert crash["step_path"] is None
    assert bench.view(broken).run.crash_count == 1


def test_a_worker_process_serves_the_other_runs(bench: Bench) -> None:
    boom = bench.start("crash_boom", detach=True).run.id
    poll = bench.start("crash_poll", detach=True).run.id
    fine = [bench.start("crash_fine", {"n": n}, detach=True).run.id for n in range(4)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPBENCH_")}
    env.update(
        SOPBENCH_DB_URL=bench.settings.db_url,
        RECORDER_TOKEN=SECRET,
        PYTHONPATH=os.pathsep.join([str(PLUGIN_DIR), *sys.path]),
    )
    worker = subprocess.run(
        [
            sys.executable,
            "-m",
            "sopbench",
            "--home",
            str(bench.home),
            "worker",
            "--poll",
            "0.1",
            "--max-idle",
            "1.5",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert worker.returncode == 0, worker.stderr
    assert [bench.view(r).run.status for r in fine] == ["succeeded"] * 4
    assert bench.view(poll).run.status == "failed"
    crashed = bench.view(boom).run
    assert (crashed.status, crashed.wait_kind, crashed.crash_count) == ("waiting", "recovery", 1)
    assert "crashed at step boom" in worker.stderr
