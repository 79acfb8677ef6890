"""The crash tests install a real third-party step package (see ``tests/fixtures/plugins``)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from sopbench.model.registry import step_param_models

from ..support import HERE as ENGINE_TESTS

PLUGIN_DIR = ENGINE_TESTS.parent / "fixtures" / "plugins" / "crashy"


@pytest.fixture(autouse=True)
def crashy_plugin() -> Iterator[Path]:
    """``sopbench_crashy`` importable and its entry points visible, for this test only."""
    sys.path.insert(0, str(PLUGIN_DIR))
    step_param_models.cache_clear()
    try:
        yield PLUGIN_DIR
    finally:
        sys.path.remove(str(PLUGIN_DIR))
        sys.modules.pop("sopbench_crashy", None)
        step_param_models.cache_clear()


@pytest.fixture
def sop_sources() -> list[Path]:
    return [ENGINE_TESTS / "sops", Path(__file__).parent / "sops"]
