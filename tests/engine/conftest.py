"""Fixtures of the engine tests: ``recorder`` (a real HTTP server) and ``bench``.

``recorder``
    A :class:`sopbench.testing.recorder.Recorder` on 127.0.0.1, started for
    the test and stopped after it. The workspace's ``recorder`` connection
    points at it.
``sop_sources``
    Folders copied into the temporary home's ``sops/`` (entity folders of SOP
    files); a test package overrides it with its own.
``bench``
    :class:`tests.engine.support.Bench`: home + settings + RunService over
    the test database (SQLite and PostgreSQL, see ``tests/conftest.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sopbench.store import Database
from sopbench.testing.recorder import Recorder

from .support import HERE, Bench, make_bench


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    with Recorder() as server:
        yield server


@pytest.fixture
def sop_sources() -> list[Path]:
    return [HERE / "sops"]


@pytest.fixture
def bench(
    tmp_path: Path,
    sop_sources: list[Path],
    database: Database,
    db_url: str,
    recorder: Recorder,
) -> Bench:
    return make_bench(tmp_path, sop_sources, database, db_url, recorder)
