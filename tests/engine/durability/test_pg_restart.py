"""PostgreSQL restarted under a worker: the worker survives and every run succeeds.

A private PostgreSQL (not the suite's shared one) holds the state. One real
``sopbench worker`` drives 40 runs of ``work`` (three outside calls each to a
server that takes 30 ms a call, half of the runs parking on a 1 s delay);
once a few runs have finished, the server is restarted with
``pg_ctl restart -m fast``, which cuts every connection mid-step. Then:

* the worker process keeps going and exits on its own when idle (rc 0);
* all 40 runs end ``succeeded``, each once;
* no step that the journal shows succeeded is ever started or succeeded
  again (a drive cut short resumes from its last committed step).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from sopbench.services.runs import RunService
from sopbench.store import open_database
from sopbench.testing.postgres import PostgresServer

from ._server import Recorder
from .conftest import Procs, note

RUNS = 40


@pytest.fixture
def backend() -> str:
    return "postgresql"


@pytest.fixture
def private_pg(tmp_path: Path) -> Iterator[PostgresServer]:
    with PostgresServer() as server:
        yield server


@pytest.fixture
def db_url(private_pg: PostgresServer) -> str:
    url = private_pg.create_database()
    open_database(url).dispose()
    return url


@pytest.fixture
def server() -> Iterator[Recorder]:
    with Recorder(delay=0.03) as recorder:
        yield recorder


@pytest.mark.slow
@pytest.mark.postgres
def test_a_worker_survives_a_postgres_restart(
    service: RunService, server: Recorder, procs: Procs, private_pg: PostgresServer
) -> None:
    base = f"{server.url}/w"
    run_ids = [
        service.start("work", {"base": base, "pause": i % 2 == 0}, detach=True).run.id
        for i in range(RUNS)
    ]
    worker = procs.cli("worker", "--poll", "0.05", "--max-idle", "4")
    deadline = time.monotonic() + 60
    while len(server.requests) < 20:  # some runs done, many mid-flight
        assert time.monotonic() < deadline, "the worker made no progress"
        assert worker.poll() is None, worker.communicate()
        time.sleep(0.02)
    started = time.monotonic()
    private_pg.restart()
    restarted = time.monotonic() - started
    out, err = worker.communicate(timeout=180)
    assert worker.returncode == 0, err
    assert "worker pass failed" in err or "database could not be used" in err, err

    service.db.dispose()  # its pooled connections died with the server
    for run_id in run_ids:
        view = service.view(run_id)
        assert view.run.status == "succeeded", (run_id, view.run.error)
        journal = service.journal(run_id)
        kinds = Counter(str(e["kind"]) for e in journal)
        assert kinds["run.succeeded"] == 1, kinds
        done: set[str] = set()
        for event in journal:
            path = event["step_path"]
            if event["kind"] in ("step.started", "step.succeeded", "step.skipped"):
                assert path not in done, f"{run_id}: step {path} ran again after it finished"
            if event["kind"] in ("step.succeeded", "step.skipped"):
                done.add(path)
        assert {s.status for s in view.steps} <= {"succeeded", "skipped"}
    note(
        "postgres restart under a worker",
        f"{RUNS} runs all succeeded; pg_ctl restart took {restarted:4.2f} s; "
        f"worker said: {out.strip()}",
    )
