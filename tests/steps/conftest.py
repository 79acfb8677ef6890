"""The step tests use the engine tests' fixtures, with their own SOP files."""

from __future__ import annotations

from pathlib import Path

import pytest
from engine.conftest import bench, recorder

__all__ = ["bench", "recorder"]


@pytest.fixture
def sop_sources() -> list[Path]:
    return [Path(__file__).parent / "sops"]
