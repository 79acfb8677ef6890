"""A real dashboard over a throwaway workspace: what browser tests, screenshots and benchmarks use.

:func:`live_dashboard` copies a workspace's ``sops/`` into a new home,
initialises it (SQLite), sets access codes for a few people, starts the
sandbox doubles in this process (so a test can look at what a double
received) and then ``sopbench serve``'s :class:`DashboardServer`, whose page
kernels pick the sandbox up from the overlay file like any ``sopbench``
command would.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from sopbench.config import Settings, load_settings
from sopbench.errors import ConfigError
from sopbench.services.dashboard import DashboardOptions, DashboardServer

__all__ = ["DEFAULT_CODES", "LiveDashboard", "live_dashboard"]

DEFAULT_CODES = {
    "olivia": "olivia-code-2026",
    "sam": "sam-code-2026",
    "priya": "priya-code-2026",
    "theo": "theo-code-2026",
    "marco": "marco-code-2026",
    "grant": "grant-code-2026",
}
"""Access codes :func:`live_dashboard` sets (people of the reference workspace)."""


@dataclass
class LiveDashboard:
    """A running dashboard, its workspace and the sandbox doubles behind it."""

    settings: Settings
    server: DashboardServer
    doubles: dict[str, Any] = field(default_factory=dict)
    codes: dict[str, str] = field(default_factory=dict)

    def url(self, page: str, *, token: bool = True, **params: object) -> str:
        """The page's URL (with the token, which sets the browser's login cookie)."""
        query = urlencode({k: v for k, v in params.items() if v is not None})
        return self.server.url(page, query, with_token=token)

    def bind_browser(self, cookie_header: str, person: str) -> None:
        """Sign the browser holding these cookies in as ``person`` (as the sign-in panel would)."""
        from sopbench.services.users import AccessService
        from sopbench.ui.identity import browser_key

        key = browser_key(cookie_header)
        if key is None:
            raise ConfigError(
                "the browser holds no Voilà login cookie",
                hint="admit it first (browser.admit / HeadlessSession.admitted)",
            )
        access = AccessService(self.settings)
        try:
            access.bind(key, person)
        finally:
            access.close()

    def double(self, name: str) -> Any:
        """The in-process sandbox double ``name`` (``mixpost``, ``canva``, ``video`` ...)."""
        try:
            return self.doubles[name]
        except KeyError:
            raise ConfigError(
                f"the sandbox runs no '{name}' double", hint=f"doubles: {', '.join(self.doubles)}"
            ) from None


def _prepare(home: Path, sops: Path, codes: Mapping[str, str]) -> Settings:
    from sopbench.services.users import AccessService
    from sopbench.services.workspace import init_workspace

    if not (home / "sops").exists():
        shutil.copytree(sops, home / "sops")
    settings = load_settings(home, environ={})
    init_workspace(settings)
    access = AccessService(settings)
    try:
        for person, code in codes.items():
            access.set_code(person, code)
    finally:
        access.close()
    return settings


@contextmanager
def live_dashboard(
    home: Path,
    *,
    sops: Path,
    codes: Mapping[str, str] = DEFAULT_CODES,
    pool_size: int = 1,
    sandbox: bool = True,
    page_pools: Mapping[str, int] | None = None,
    pool_refill_delay: float = 1.0,
) -> Iterator[LiveDashboard]:
    """Start the dashboard over a copy of ``sops`` in ``home``; stop everything after."""
    from sopbench.library import load_workspace

    settings = _prepare(home, sops, codes)
    with ExitStack() as stack:
        doubles: dict[str, Any] = {}
        if sandbox:
            from sopbench.testing.sandbox import SandboxRunner

            # video jobs finish after one poll, a second apart: a media test waits ~2 s
            runner = SandboxRunner(settings, load_workspace(home), video_polls=1)
            stack.enter_context(runner)
            doubles = {s.name: s.server for s in runner.started}
            settings = load_settings(home, environ={})  # now with the sandbox overlay
        server = DashboardServer(
            settings,
            DashboardOptions(
                pool_size=pool_size,
                start_timeout=120.0,
                page_pools=dict(page_pools or {}),
                pool_refill_delay=pool_refill_delay,
            ),
        )
        stack.enter_context(server)
        yield LiveDashboard(settings, server, doubles, dict(codes))
