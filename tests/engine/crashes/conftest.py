"""The crash tests install a real third-party step package (see ``tests/fixtures/plugins``)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..support import HERE as ENGINE_TESTS

PLUGIN_DIR = ENGINE_TESTS.parent / "fixtures" / "plugins" / "crashy"


@pytest.fixture(autouse=True)
def crashy_plugin(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """``sopbench_crashy`` importable and its entry points visible, for this test only
    (the step-type table follows ``sys.path``)."""
    monkeypatch.syspath_prepend(str(PLUGIN_DIR))
    yield PLUGIN_DIR
    sys.modules.pop("sopbench_crashy", None)


@pytest.fixture
def sop_sources() -> list[Path]:
    return [ENGINE_TESTS / "sops", Path(__file__).parent / "sops"]
