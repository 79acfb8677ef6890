"""A real Voilà dashboard server: token, 127.0.0.1, pages execute, clean stop.

The browser side (widgets visible, clicks) is in ``tests/ui/browser``.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sopbench.config import Settings, load_settings
from sopbench.errors import ConfigError
from sopbench.services.dashboard import PAGES, DashboardOptions, DashboardServer

REPO = Path(__file__).resolve().parents[2]
ENTRY = "import sys; from sopbench.cli import main; sys.exit(main())"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    shutil.copytree(REPO / "sops", tmp_path / "home" / "sops")
    return load_settings(tmp_path / "home", environ={"SOPBENCH_SANDBOX_FILE": "off"})


@pytest.fixture
def server(settings: Settings) -> Iterator[DashboardServer]:
    with DashboardServer(settings, DashboardOptions(pool_size=0)) as running:
        yield running


def _listening_addresses(port: int) -> set[str]:
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.rsplit(":", 1)
            if int(hex_port, 16) == port and state == "0A":  # LISTEN
                found.add(address)
    return found


def test_pages_need_the_token(server: DashboardServer) -> None:
    anonymous = httpx.get(server.url("home", with_token=False))
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["location"]
    wrong = httpx.get(server.url("home", with_token=False) + "?token=not-it")
    assert wrong.status_code == 302
    with httpx.Client() as browser:
        page = browser.get(server.url("home"), timeout=120)
        assert page.status_code == 200
        assert any(name.startswith("username-") for name in browser.cookies)
        again = browser.get(server.url("history", with_token=False), timeout=120)
        assert again.status_code == 200  # the login cookie carries the session
    assert "HomePage(" in page.text
    assert "Traceback" not in page.text and '"output_type": "error"' not in page.text


def test_binds_loopback_only(server: DashboardServer) -> None:
    assert _listening_addresses(server.port) == {"0100007F"}  # 127.0.0.1, nothing else
    assert "--Voila.port_retries=0" in server.command()


def test_every_page_notebook_is_served(server: DashboardServer) -> None:
    with httpx.Client() as browser:
        browser.get(server.url("home"), timeout=120)
        for name in PAGES:
            tree = browser.get(f"{server.base_url}/voila/render/{name}.ipynb", timeout=120)
            assert tree.status_code == 200, name
            assert "Traceback" not in tree.text, name


def test_stop_ends_voila_and_its_kernels(settings: Settings) -> None:
    server = DashboardServer(settings, DashboardOptions(pool_size=1)).start()
    assert server.process is not None
    pgid = server.process.pid
    with httpx.Client() as browser:
        assert browser.get(server.url("home"), timeout=120).status_code == 200
    server.stop()
    time.sleep(0.2)
    with pytest.raises(ProcessLookupError):
        os.killpg(pgid, 0)  # no process of the group (kernels included) is left


def test_a_workspace_with_incomplete_pages_is_refused(settings: Settings) -> None:
    own = settings.notebooks_dir / "dashboard"
    own.mkdir(parents=True)
    (own / "home.ipynb").write_text("{}", encoding="utf-8")
    with pytest.raises(ConfigError, match="lacks the dashboard page"):
        DashboardServer(settings)


def test_serve_command_prints_the_url_and_stops_on_sigterm(settings: Settings) -> None:
    env = {**os.environ, "SOPBENCH_SANDBOX_FILE": "off", "PYTHONUNBUFFERED": "1"}
    env.pop("SOPBENCH_DB_URL", None)
    process = subprocess.Popen(
        [
            *(sys.executable, "-c", ENTRY, "--home", str(settings.home), "serve"),
            *("--pool-size", "0", "--pool-refill-delay", "7.5"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith("llm: embedded ") and "http://127.0.0.1:" in first, first
        line = process.stdout.readline()
        assert line.startswith("dashboard: http://127.0.0.1:"), line
        url = line.split(" ", 1)[1].strip()
        assert "token=" in url
        with httpx.Client(follow_redirects=True) as browser:
            page = browser.get(url, timeout=120)
            assert page.status_code == 200 and "HomePage(" in page.text
            # the login cookie was set before the first page, so sign-ins bind to it
            assert page.history[0].cookies and any(
                name.startswith("username-") for name in browser.cookies
            )
        assert "--VoilaKernelManager.fill_delay=7.5" in _voila_arguments(settings.home)
        process.send_signal(signal.SIGTERM)
        _out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 0, err
    assert "dashboard stopped" in err and "Traceback" not in err


def _voila_arguments(home: Path) -> list[str]:
    """The command line of the Voilà process serving ``home``'s pages."""
    for entry in Path("/proc").iterdir():
        try:
            arguments = (entry / "cmdline").read_bytes().decode().split("\0")
        except (OSError, ValueError):
            continue  # not a process, or one that ended meanwhile
        if "voila" in arguments and any(str(home) in a for a in arguments):
            return arguments
    raise AssertionError(f"no Voilà process serves {home}")


def test_page_kernels_get_the_llm_serve_started(settings: Settings) -> None:
    server = DashboardServer(settings, DashboardOptions(llm_url="http://127.0.0.1:9/v1"))
    env = server.environment()
    assert env["SOPBENCH_LLM_URL"] == "http://127.0.0.1:9/v1"
    assert env["SOPBENCH_HOME"] == str(settings.home)
    assert env["SOPBENCH_TRUSTED_PROXY"] == "0"
    assert "Cookie" in " ".join(server.command())
    assert "X-Forwarded-User" not in " ".join(server.command())


def test_serve_gives_up_when_voila_stops_answering(settings: Settings) -> None:
    from sopbench.cli.serve import watch

    with DashboardServer(settings, DashboardOptions(pool_size=0)) as server:
        assert server.process is not None
        os.killpg(server.process.pid, signal.SIGSTOP)  # alive but frozen
        try:
            started = time.monotonic()
            assert watch(server, threading.Event(), every=0.2, give_up_after=2) is False
            assert time.monotonic() - started < 30
        finally:
            os.killpg(server.process.pid, signal.SIGCONT)


def test_serve_notices_voila_dying(settings: Settings) -> None:
    from sopbench.cli.serve import watch

    with DashboardServer(settings, DashboardOptions(pool_size=0)) as server:
        assert server.process is not None
        stop = threading.Event()
        assert server.healthy()
        os.killpg(server.process.pid, signal.SIGKILL)
        assert watch(server, stop, every=0.2) is False


def test_page_pools_reach_voila_and_unknown_pages_are_refused(settings: Settings) -> None:
    server = DashboardServer(
        settings, DashboardOptions(pool_size=1, page_pools={"approvals": 10, "home": 4})
    )
    (pools,) = [a for a in server.command() if a.startswith("--VoilaKernelManager.kernel_pools")]
    assert json.loads(pools.split("=", 1)[1]) == {
        "default": {"pool_size": 1},
        "approvals.ipynb": {"pool_size": 10},
        "home.ipynb": {"pool_size": 4},
    }
    bad = DashboardServer(settings, DashboardOptions(page_pools={"inbox": 3}))
    with pytest.raises(ConfigError, match="no dashboard page inbox"):
        bad.command()


def test_serve_refuses_a_malformed_page_pool(settings: Settings) -> None:
    from sopbench.cli import main

    assert main(["--home", str(settings.home), "serve", "--page-pool", "approvals"]) == 2


def test_a_busy_machine_waits_for_kernels_instead_of_blanking_pages(settings: Settings) -> None:
    # Measured with 20 reviewers at once on 2 cores: with nbclient's 4 s IOPub
    # default Voilà dropped a page's widgets (a blank page, no error), and pool
    # kernels hit the 60 s start-up limit while 28 kernels preheated.
    command = DashboardServer(settings, DashboardOptions(pool_refill_delay=20)).command()
    assert "--VoilaExecutor.iopub_timeout=120" in command
    assert "--VoilaExecutor.startup_timeout=180" in command
    assert "--MappingKernelManager.kernel_info_timeout=180" in command
    assert "--VoilaKernelManager.fill_delay=20" in command
