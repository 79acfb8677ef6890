"""Fixtures of the durability proofs: a workspace, a recording server, real processes.

Every proof runs on SQLite and on PostgreSQL (the ``db_url`` fixture of
``tests/conftest.py``). Processes that are killed are real OS processes
running ``_driver.py`` (or the ``sopbench`` CLI); the test process itself
only starts, kills, recovers and inspects.

Measured timings (recovery after a crash, race and worker wall times) are
printed at the end of the session.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from sopbench.config import load_settings
from sopbench.services.runs import RunService

from ._server import Recorder
from ._workspace import write_workspace

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
DRIVER = HERE / "_driver.py"
RACER = HERE / "_racer.py"

TIMINGS: dict[str, list[str]] = {}


def note(section: str, line: str) -> None:
    """Keep a measurement for the end-of-session summary."""
    TIMINGS.setdefault(section, []).append(line)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not TIMINGS:
        return
    terminalreporter.section("durability timings")
    for section, lines in TIMINGS.items():
        terminalreporter.write_line(section)
        for line in lines:
            terminalreporter.write_line(f"  {line}")


def child_env(db_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPBENCH_")}
    env["SOPBENCH_DB_URL"] = db_url
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


@pytest.fixture
def home(tmp_path: Path, db_url: str) -> Path:
    return write_workspace(tmp_path / "home", db_url)


@pytest.fixture
def server() -> Iterator[Recorder]:
    with Recorder() as recorder:
        yield recorder


def open_service(home: Path, db_url: str, lease: float = 5.0) -> RunService:
    settings = load_settings(home, environ={"SOPBENCH_DB_URL": db_url})
    return RunService(settings, lease_ttl=timedelta(seconds=lease))


@pytest.fixture
def service(home: Path, db_url: str) -> Iterator[RunService]:
    """An in-process RunService over the same workspace and database."""
    svc = open_service(home, db_url)
    yield svc
    svc.close()


class Procs:
    """Start helper processes; make sure none outlives the test."""

    def __init__(self, home: Path, db_url: str) -> None:
        self.home, self.db_url = home, db_url
        self.started: list[subprocess.Popen[str]] = []

    def popen(self, args: list[str]) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            args,
            cwd=REPO,
            env=child_env(self.db_url),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.started.append(proc)
        return proc

    def driver(self, *args: str) -> subprocess.Popen[str]:
        return self.popen([sys.executable, str(DRIVER), *args, "--home", str(self.home)])

    def cli(self, *args: str) -> subprocess.Popen[str]:
        return self.popen([sys.executable, "-m", "sopbench", "--home", str(self.home), *args])

    def racer(self, *args: str) -> subprocess.Popen[str]:
        return self.popen([sys.executable, str(RACER), "--home", str(self.home), *args])

    def cleanup(self) -> None:
        for proc in self.started:
            if proc.poll() is None:
                proc.kill()
            proc.communicate()


@pytest.fixture
def procs(home: Path, db_url: str) -> Iterator[Procs]:
    helper = Procs(home, db_url)
    yield helper
    helper.cleanup()
