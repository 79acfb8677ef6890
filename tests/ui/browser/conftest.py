"""One real ``sopbench serve`` and one chromium for all browser tests.

The dashboard runs over a copy of the reference workspace on SQLite with the
sandbox doubles in this process, plus the small SOPs of this folder's
``sops/`` (an approval; a draft under review that social_post publishes),
which have no concurrency limit, so tests can start as many runs as they
need. Every test gets a new browser context that holds the login cookie but
is signed in as nobody. Screenshots go to ``test-artifacts/screenshots/``
(git-ignored), for CI to keep as artifacts.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from sopbench.services.runs import RunService
from sopbench.testing.browser import admit, launch, open_page
from sopbench.testing.live import LiveDashboard, live_dashboard

REPO = Path(__file__).resolve().parents[3]
HERE = Path(__file__).resolve().parent
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"
VIEWPORT = {"width": 1280, "height": 800}


@pytest.fixture(scope="session")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveDashboard]:
    home = tmp_path_factory.mktemp("browser") / "home"
    shutil.copytree(REPO / "sops", home / "sops")
    for extra in sorted((HERE / "sops").glob("*.yaml")):
        shutil.copy(extra, home / "sops" / "saas" / extra.name)
    with live_dashboard(home, sops=REPO / "sops") as live:
        yield live


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser(playwright: Playwright, dashboard: LiveDashboard) -> Iterator[Browser]:
    chromium = launch(playwright)
    # The first page waits for the preheated kernels of all pages to start (2 cores).
    warm = chromium.new_page()
    open_page(warm, dashboard.url("home"), timeout_ms=180_000)
    warm.close()
    yield chromium
    chromium.close()


@pytest.fixture
def context(browser: Browser, dashboard: LiveDashboard) -> Iterator[BrowserContext]:
    """A new browser that holds the login cookie (as after following the printed URL)."""
    ctx = browser.new_context(viewport=VIEWPORT)
    ctx.set_default_timeout(90_000)  # 2 shared cores: a new kernel can take long
    admit(ctx, dashboard.server.base_url, dashboard.server.token)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


@pytest.fixture
def runs(dashboard: LiveDashboard) -> Iterator[RunService]:
    """The services, in this process, over the dashboard's database."""
    service = RunService(dashboard.settings)
    yield service
    service.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
