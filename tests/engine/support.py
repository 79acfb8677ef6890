"""Helpers shared by the engine and step tests.

Every test gets a real workspace in a temporary home (``sops/`` with
entities, people and connections copied from ``tests/engine/workspace`` plus
the SOP files of the test package), a real database (SQLite or PostgreSQL,
from the ``db_url``/``database`` fixtures) and a :class:`RunService` over
both, with settings built from an explicit environment.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import time_machine
from sqlalchemy import select

from sopbench.config import Settings, load_settings
from sopbench.library import load_workspace
from sopbench.services.runs import RunService, RunView, TaskRow
from sopbench.store import Database, utcnow
from sopbench.store.run_rows import StepRow
from sopbench.store.tables import metadata
from sopbench.testing.recorder import Recorder

__all__ = ["BASE", "SECRET", "Bench", "build_home", "make_bench", "wait_until"]

HERE = Path(__file__).parent
BASE = HERE / "workspace" / "sops"
SECRET = "rec-tok-7f3a9c1e5b2d4a60"
"""The value of RECORDER_TOKEN: it must never be written anywhere."""


def build_home(root: Path, sources: Sequence[Path], recorder_url: str) -> Path:
    """A workspace home: the base sops/ files, connections to the recorder, and the
    SOP folders of ``sources`` copied into ``sops/``."""
    home = root / "home"
    sops = home / "sops"
    shutil.copytree(BASE, sops, ignore=shutil.ignore_patterns("*.in"))
    template = (BASE / "connections.yaml.in").read_text(encoding="utf-8")
    (sops / "connections.yaml").write_text(
        template.replace("{recorder}", recorder_url), encoding="utf-8"
    )
    for source in sources:
        shutil.copytree(source, sops, dirs_exist_ok=True)
    return home


def environ(db_url: str) -> dict[str, str]:
    """The whole environment the settings see (nothing leaks in from os.environ)."""
    return {"SOPBENCH_DB_URL": db_url, "RECORDER_TOKEN": SECRET}


@dataclass
class Bench:
    """One test's workspace, database, recorder and run service."""

    home: Path
    settings: Settings
    service: RunService
    db: Database
    recorder: Recorder

    # -- runs ------------------------------------------------------------------

    def start(
        self, sop_id: str, inputs: Mapping[str, Any] | None = None, **options: Any
    ) -> RunView:
        return self.service.start(sop_id, dict(inputs or {}), **options)

    def dry(self, sop_id: str, inputs: Mapping[str, Any] | None = None) -> RunView:
        return self.service.start(sop_id, dict(inputs or {}), started_by="dry-run", dry_run=True)

    def view(self, run_id: str) -> RunView:
        return self.service.view(run_id)

    def steps(self, run_id: str) -> dict[str, StepRow]:
        return {s.path: s for s in self.service.view(run_id).steps}

    def journal(self, run_id: str) -> list[dict[str, Any]]:
        return self.service.journal(run_id)

    def kinds(self, run_id: str) -> list[str]:
        return [e["kind"] for e in self.journal(run_id)]

    def through_retries(self, run_id: str, *, rounds: int = 10) -> RunView:
        """Drive a run through its durable waits for a retry or a recovery.

        Each time it waits, a recover pass before ``wake_at`` must leave it
        alone (nothing sleeps, nothing retries early); then the clock moves
        past ``wake_at`` and a recover pass (what a worker or tick does)
        takes it on. The run's view once it no longer waits so.
        """
        view = self.view(run_id)
        for _ in range(rounds):
            if view.run.status != "waiting" or view.run.wait_kind not in ("retry", "recovery"):
                return view
            assert view.run.wake_at is not None
            if view.run.wake_at > utcnow() + timedelta(milliseconds=200):
                assert run_id not in [moved for moved, _ in self.service.recover()]
            with time_machine.travel(view.run.wake_at + timedelta(seconds=1), tick=True):
                self.service.recover()
            view = self.view(run_id)
        raise AssertionError(f"run {run_id} still waits after {rounds} wake-ups")

    def open_task(self, run_id: str) -> TaskRow:
        tasks = [t for t in self.service.tasks(status="open") if t.run_id == run_id]
        assert len(tasks) == 1, tasks
        return tasks[0]

    def decide(self, task_id: str, person: str, action: str = "approve", **kw: Any) -> Any:
        return self.service.decide(task_id, person=person, action=action, **kw)

    # -- the database as a whole -------------------------------------------------

    def dump(self) -> str:
        """Every row of every table, as text (to look for things that must not be there)."""
        parts = []
        with self.db.read() as conn:
            for table in metadata.sorted_tables:
                for row in conn.execute(select(table)).mappings():
                    parts.append(f"{table.name}: {dict(row)!r}")
        return "\n".join(parts)

    # -- the command line in another process ----------------------------------------

    def cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SOPBENCH_")}
        env.update(environ(self.settings.db_url))
        return subprocess.run(
            [sys.executable, "-m", "sopbench", "--home", str(self.home), *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


def make_bench(
    root: Path, sources: Sequence[Path], database: Database, db_url: str, recorder: Recorder
) -> Bench:
    home = build_home(root, sources, recorder.url)
    settings = load_settings(home, environ=environ(db_url))
    workspace = load_workspace(home)
    assert workspace.problems == [], "\n".join(map(str, workspace.problems))
    service = RunService(settings, workspace=workspace, database=database)
    return Bench(home, settings, service, database, recorder)


def wait_until(check: Callable[[], bool], *, timeout: float = 10.0, every: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(every)
