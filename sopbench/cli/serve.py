"""``serve``: the reviewers' dashboard (Voilà) on 127.0.0.1, behind a token."""

from __future__ import annotations

import signal
import threading
import time
from contextlib import ExitStack
from types import FrameType
from typing import TYPE_CHECKING

import click

from sopbench.cli._common import cli, settings_of
from sopbench.errors import UsageError

if TYPE_CHECKING:
    from sopbench.services.dashboard import DashboardServer


@cli.command()
@click.option("--port", type=int, default=None, help="Port on 127.0.0.1 (default: a free one).")
@click.option(
    "--pool-size",
    type=int,
    default=1,
    show_default=True,
    help="Preheated kernels per page (0 turns preheating off).",
)
@click.option(
    "--cull-idle",
    type=int,
    default=900,
    show_default=True,
    help="Seconds after which an idle page kernel is shut down.",
)
@click.option(
    "--trusted-proxy",
    is_flag=True,
    help="Believe X-Forwarded-User (only behind an auth proxy on this machine).",
)
@click.option(
    "--sandbox",
    "with_sandbox",
    is_flag=True,
    help="Also start the local doubles of every outside service (sopbench sandbox).",
)
@click.option(
    "--page-pool",
    "page_pools",
    multiple=True,
    metavar="PAGE=N",
    help="Preheated kernels for one page, e.g. approvals=10 (repeatable).",
)
@click.option(
    "--pool-refill-delay",
    type=click.FloatRange(min=0),
    default=1.0,
    show_default=True,
    help="Seconds before a taken preheated kernel is replaced; a few seconds keep "
    "replacements from slowing a rush of reviewers down.",
)
@click.option(
    "--no-llm",
    is_flag=True,
    help="Do not start the embedded LLM (templates still work; LLM drafts fail).",
)
@click.pass_context
def serve(
    ctx: click.Context,
    port: int | None,
    pool_size: int,
    cull_idle: int,
    trusted_proxy: bool,
    with_sandbox: bool,
    page_pools: tuple[str, ...],
    pool_refill_delay: float,
    no_llm: bool,
) -> int:
    """Serve the dashboard until Ctrl-C or SIGTERM.

    Prints the URL with its token: the dashboard never runs without one.
    Reviewers sign in with the access code the operator set
    (`sopbench users set-code NAME`), or are known from JupyterHub or a
    trusted auth proxy.
    """
    from sopbench.services.dashboard import DashboardOptions, DashboardServer
    from sopbench.services.workspace import database_shown, init_workspace

    pools = _page_pools(page_pools)  # a usage error before anything starts
    settings = settings_of(ctx)
    init_workspace(settings)  # database at head, reports/ present
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with ExitStack() as stack:
            llm_url = None if no_llm or settings.llm_url else _embedded_llm(stack)
            if with_sandbox and settings.sandbox is None:
                from sopbench.cli.sandbox import sandbox_runner
                from sopbench.config import load_settings

                stack.enter_context(sandbox_runner(settings, llm_url=llm_url))
                settings = load_settings(settings.home)  # now with the sandbox overlay
                click.echo("sandbox: local doubles of every outside service are running")
            options = DashboardOptions(
                port=port,
                pool_size=pool_size,
                cull_idle_seconds=cull_idle,
                trusted_proxy=trusted_proxy,
                llm_url=llm_url,
                page_pools=pools,
                pool_refill_delay=pool_refill_delay,
            )
            server = stack.enter_context(DashboardServer(settings, options))
            click.echo(f"dashboard: {server.login_url('home')}")
            click.echo(f"workspace: {settings.home}  database: {database_shown(settings)}")
            click.echo("press Ctrl-C (or send SIGTERM) to stop", err=True)
            if not watch(server, stop):
                return 1
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    click.echo("dashboard stopped", err=True)
    return 0


HEALTH_EVERY = 10.0  # seconds between health checks of the running Voilà
HEALTH_FAILURES = 3  # consecutive failed checks before serve gives up (a supervisor restarts it)


def watch(
    server: DashboardServer,
    stop: threading.Event,
    *,
    every: float = HEALTH_EVERY,
    give_up_after: int = HEALTH_FAILURES,
) -> bool:
    """Wait for ``stop``; False when Voilà died or stopped answering."""
    failures, next_check = 0, time.monotonic() + every
    while not stop.wait(min(0.5, every)):
        if server.process is not None and server.process.poll() is not None:
            click.echo(f"Voilà stopped (exit {server.process.returncode})", err=True)
            return False
        if time.monotonic() < next_check:
            continue
        next_check = time.monotonic() + every
        failures = 0 if server.healthy() else failures + 1
        if failures >= give_up_after:
            click.echo(
                f"Voilà stopped answering on {server.base_url} "
                f"({failures} failed health checks); stopping",
                err=True,
            )
            return False
    return True


def _embedded_llm(stack: ExitStack) -> str | None:
    """Start the embedded model for the page kernels; None (with a note) if it cannot."""
    from sopbench.services.content import embedded_problem, start_embedded

    problem = embedded_problem()
    if problem is not None:
        click.echo(f"llm: embedded model not available ({problem}); templates still work", err=True)
        return None
    llm = stack.enter_context(start_embedded())
    click.echo(f"llm: embedded {llm.model} at {llm.base_url} (loaded in {llm.load_seconds:.1f} s)")
    return llm.base_url


def _page_pools(values: tuple[str, ...]) -> dict[str, int]:
    pools = {}
    for value in values:
        page, sep, size = value.partition("=")
        if not sep or not size.strip().isdigit():
            raise UsageError(f"--page-pool takes PAGE=N, not {value!r}", hint="e.g. approvals=10")
        pools[page.strip()] = int(size)
    return pools
