"""Finding Debian's chromium, and the clear error when it is missing."""

from __future__ import annotations

from pathlib import Path

import pytest

from sopbench.errors import SopbenchError
from sopbench.testing.browser import BrowserMissing, find_chromium


def test_the_installed_chromium_is_found() -> None:
    found = find_chromium()
    assert found.name == "chromium"
    assert found.is_file()


def test_a_missing_chromium_says_how_to_install_it(tmp_path: Path) -> None:
    with pytest.raises(BrowserMissing) as caught:
        find_chromium((str(tmp_path / "chromium"),), search_path=str(tmp_path))
    assert isinstance(caught.value, SopbenchError)
    assert "no chromium executable found" in caught.value.message
    assert "apt-get install -y chromium" in caught.value.hint


def test_a_chromium_on_the_path_is_used(tmp_path: Path) -> None:
    fake = tmp_path / "chromium"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    assert find_chromium((), search_path=str(tmp_path)) == fake
