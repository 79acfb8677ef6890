"""Scheduler tests: the engine test bench over this package's SOP files."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.engine.conftest import bench, recorder  # noqa: F401

HERE = Path(__file__).parent


@pytest.fixture
def sop_sources() -> list[Path]:
    return [HERE / "sops"]
