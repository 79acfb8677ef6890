"""The reviewers' dashboard: a Voilà server over the workspace's page notebooks.

``sopbench serve`` and the browser tests use :class:`DashboardServer`. Voilà
runs as a child process in its own session (so SIGTERM to its group also
ends its kernels), bound to 127.0.0.1, always behind a token, with a pool of
preheated kernels per page and culling of idle ones.

The pages are thin notebooks (``notebooks/dashboard/*.ipynb``) calling
:mod:`sopbench.ui`. Their kernels inherit the workspace through the
environment (``SOPBENCH_HOME``, ``SOPBENCH_DB_URL``) and get the request's
``Cookie`` header, which :mod:`sopbench.ui.identity` uses to recognise a
signed-in reviewer; behind a trusted auth proxy also ``X-Forwarded-User``.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import httpx

from sopbench.config import Settings
from sopbench.errors import ConfigError, SopbenchError

__all__ = ["PAGES", "DashboardOptions", "DashboardServer", "dashboard_notebooks"]

PAGES = (
    "home",
    "entity",
    "sop",
    "calendar",
    "content",
    "drafts",
    "media",
    "history",
    "approvals",
    "scheduler",
)
_HEALTH_PATH = "/voila/static/voila.js"  # served without a token and starts no kernel


class DashboardFailed(SopbenchError):
    """The dashboard server did not start."""


@dataclass(frozen=True)
class DashboardOptions:
    port: int | None = None
    token: str | None = None
    pool_size: int = 1
    cull_idle_seconds: int = 900
    trusted_proxy: bool = False
    start_timeout: float = 60.0
    llm_url: str | None = None
    """An LLM server the page kernels should use (e.g. the embedded one serve started)."""
    page_pools: Mapping[str, int] = field(default_factory=dict)
    """Preheated kernels for particular pages (``{"approvals": 10}``), beyond ``pool_size``."""
    pool_refill_delay: float = 1.0
    """Seconds after a pool kernel is taken before its replacement starts (Voilà's
    ``fill_delay``). On a small machine a burst of reviewers is served faster when
    the replacements start after the burst instead of competing with it."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def bundled_notebooks() -> Path:
    from sopbench.resources import bundled

    return bundled("notebooks") / "dashboard"


def dashboard_notebooks(settings: Settings) -> Path:
    """The workspace's dashboard pages, else the bundled ones."""
    own = settings.notebooks_dir / "dashboard"
    folder = own if own.is_dir() else bundled_notebooks()
    missing = [p for p in PAGES if not (folder / f"{p}.ipynb").is_file()]
    if missing:
        raise ConfigError(
            f"{folder} lacks the dashboard page(s) {', '.join(missing)}",
            hint="delete notebooks/dashboard to use the bundled pages, then run sopbench init",
        )
    return folder


class DashboardServer:
    """One Voilà process serving the dashboard pages of a workspace."""

    def __init__(self, settings: Settings, options: DashboardOptions | None = None) -> None:
        self.settings = settings
        self.options = options or DashboardOptions()
        self.port = self.options.port or free_port()
        self.token = self.options.token or secrets.token_urlsafe(24)
        self.folder = dashboard_notebooks(settings)
        self.process: subprocess.Popen[bytes] | None = None
        self._log_path = settings.state_dir / "dashboard.log"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, page: str = "home", query: str = "", *, with_token: bool = True) -> str:
        params = [q for q in (query, f"token={self.token}" if with_token else "") if q]
        suffix = "?" + "&".join(params) if params else ""
        return f"{self.base_url}/voila/render/{page}.ipynb{suffix}"

    def login_url(self, page: str = "home", query: str = "") -> str:
        """The URL to hand a person: it signs the browser in with the token (setting
        Voilà's login cookie, which reviewer sign-ins are bound to) and then opens
        the page, so even the first page knows the browser."""
        target = quote(f"/voila/render/{page}.ipynb" + (f"?{query}" if query else ""), safe="")
        return f"{self.base_url}/login?next={target}&token={self.token}"

    def command(self) -> list[str]:
        headers = ["Cookie", "X-Forwarded-User"] if self.options.trusted_proxy else ["Cookie"]
        cull = self.options.cull_idle_seconds
        return [
            sys.executable,
            "-m",
            "voila",
            str(self.folder),
            "--no-browser",
            "--Voila.ip=127.0.0.1",
            f"--port={self.port}",
            "--Voila.port_retries=0",
            f"--token={self.token}",
            "--show_tracebacks=False",
            f"--preheat_kernel={self.options.pool_size > 0}",
            f"--pool_size={max(self.options.pool_size, 0)}",
            f"--VoilaKernelManager.fill_delay={max(self.options.pool_refill_delay, 0.0)}",
            f"--MappingKernelManager.cull_idle_timeout={cull}",
            f"--MappingKernelManager.cull_interval={max(cull // 4, 10)}",
            "--MappingKernelManager.cull_connected=False",
            # Many reviewers at once on a small machine start kernels slowly; wait
            # for them rather than failing the page after jupyter's 60 s default.
            "--MappingKernelManager.kernel_info_timeout=180",
            # A busy machine delivers a page's widget messages late; with nbclient's
            # 4 s default Voilà then drops the cell's output and the page is blank.
            "--VoilaExecutor.iopub_timeout=120",
            "--VoilaExecutor.startup_timeout=180",  # as kernel_info_timeout, for pool kernels
            f"--VoilaConfiguration.http_header_envs={headers!r}",
            *self._pool_config(),
        ]

    def _pool_config(self) -> list[str]:
        if not self.options.page_pools:
            return []
        unknown = sorted(set(self.options.page_pools) - set(PAGES))
        if unknown:
            raise ConfigError(
                f"no dashboard page {', '.join(unknown)}", hint=f"pages: {', '.join(PAGES)}"
            )
        pools: dict[str, dict[str, int]] = {"default": {"pool_size": self.options.pool_size}}
        for page, size in self.options.page_pools.items():
            pools[f"{page}.ipynb"] = {"pool_size": max(size, 0)}
        return [f"--VoilaKernelManager.kernel_pools_config={json.dumps(pools)}"]

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        env["SOPBENCH_HOME"] = str(self.settings.home)
        env["SOPBENCH_DB_URL"] = self.settings.db_url
        env["SOPBENCH_TRUSTED_PROXY"] = "1" if self.options.trusted_proxy else "0"
        if self.options.llm_url:
            env["SOPBENCH_LLM_URL"] = self.options.llm_url
        env["PYTHONUNBUFFERED"] = "1"
        return env

    def start(self) -> DashboardServer:
        self.settings.state_dir.mkdir(parents=True, exist_ok=True)
        log = self._log_path.open("ab")
        try:
            self.process = subprocess.Popen(
                self.command(),
                cwd=str(self.settings.home),
                env=self.environment(),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        finally:
            log.close()
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.options.start_timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise DashboardFailed(
                    f"Voilà exited with code {self.process.returncode} while starting",
                    hint=f"see {self._log_path}; is port {self.port} already in use?",
                )
            if self.healthy():
                return
            time.sleep(0.1)
        self.stop()
        raise DashboardFailed(
            f"Voilà did not answer on {self.base_url} within {self.options.start_timeout:.0f} s",
            hint=f"see {self._log_path}",
        )

    def healthy(self) -> bool:
        """True when Voilà answers HTTP (does not start a kernel)."""
        try:
            return httpx.get(self.base_url + _HEALTH_PATH, timeout=2.0).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM Voilà's process group (its kernels too); SIGKILL if it lingers."""
        process = self.process
        if process is None or process.poll() is not None:
            return None if process is None else process.returncode
        try:
            os.killpg(process.pid, signal.SIGTERM)
            return process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            return process.wait(timeout)
        except ProcessLookupError:
            return process.wait(timeout)

    def __enter__(self) -> DashboardServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
