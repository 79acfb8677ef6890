"""Dashboard page fixtures: the reference workspace on SQLite and PostgreSQL.

Pages are built in-process exactly as Voilà builds them (``PageContext`` +
the page class) and driven through their widgets; browser tests against a
real ``sopbench serve`` live in ``tests/ui/browser``. Override ``home`` in a
test module to use another workspace.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest

from sopbench.config import PageRequest, Settings, load_settings
from sopbench.services.runs import RunService
from sopbench.ui import Page, PageContext, page_class

REPO = Path(__file__).resolve().parents[2]

PageFactory = Callable[..., Page]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A copy of the bundled reference workspace."""
    target = tmp_path / "home"
    shutil.copytree(REPO / "sops", target / "sops")
    return target


@pytest.fixture
def settings(home: Path, db_url: str) -> Settings:
    return load_settings(home, environ={"SOPBENCH_DB_URL": db_url, "SOPBENCH_SANDBOX_FILE": "off"})


@pytest.fixture
def runs(settings: Settings) -> Iterator[RunService]:
    service = RunService(settings)
    yield service
    service.close()


@pytest.fixture
def make_page(settings: Settings) -> Iterator[PageFactory]:
    """``make_page(name, query={...}, person=...)``: a page as a reviewer would get it."""
    contexts: list[PageContext] = []

    def build(name: str, query: Mapping[str, str] | None = None, person: str | None = None) -> Page:
        ctx = PageContext(settings, request=PageRequest(query=dict(query or {})))
        ctx.person = person
        contexts.append(ctx)
        return page_class(name)(ctx)

    yield build
    for ctx in contexts:
        ctx.close()
