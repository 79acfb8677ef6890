"""``sandbox``: local doubles of every outside service, until Ctrl-C or SIGTERM.

The doubles live in :mod:`sopbench.testing`, which only tests and this module
import (the "testing" contract in pyproject.toml); ``serve --sandbox`` starts
them through :func:`sandbox_runner` too.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import TYPE_CHECKING

import click

from sopbench.cli._common import cli, echo_json, json_option, settings_of
from sopbench.config import Settings
from sopbench.errors import SopbenchError
from sopbench.services.workspace import open_workspace

if TYPE_CHECKING:
    from sopbench.testing.sandbox import SandboxRunner

__all__ = ["SandboxRunning", "sandbox_runner"]


class SandboxRunning(SopbenchError):
    """A sandbox is already running for this workspace."""


def sandbox_runner(settings: Settings, *, llm_url: str | None = None) -> SandboxRunner:
    """The doubles for ``settings``' workspace; entering it starts them and points
    the workspace at them (``llm_url``: an LLM to use instead of the LLM double)."""
    from sopbench.testing.sandbox import SandboxRunner

    return SandboxRunner(settings, open_workspace(settings), llm_url=llm_url)


@cli.command()
@json_option
@click.pass_context
def sandbox(ctx: click.Context, as_json: bool) -> int:
    """Start local doubles of Mixpost, Zoho, Discord, SMTP, Canva, Sora and an LLM.

    While it runs, every sopbench command on this workspace talks to the
    doubles (fake secrets, local URLs); nothing reaches a real service.
    Stop it with Ctrl-C or SIGTERM.
    """
    settings = settings_of(ctx)
    if settings.sandbox is not None:
        raise SandboxRunning(
            f"a sandbox is already running for {settings.home} (pid {settings.sandbox.pid})",
            hint="stop it first (Ctrl-C in its terminal), or use it",
        )
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with sandbox_runner(settings) as runner:
            summary = runner.summary()
            if as_json:
                echo_json(summary)
            else:
                _print(summary)
            click.echo("sandbox running; press Ctrl-C (or send SIGTERM) to stop", err=as_json)
            while not stop.wait(0.5):
                pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    click.echo("sandbox stopped; the workspace uses its real connections again", err=as_json)
    return 0


def _print(summary: dict[str, object]) -> None:
    services = summary["services"]
    assert isinstance(services, dict)
    click.echo("sandbox: local doubles started")
    width = max(len(name) for name in services) if services else 0
    for name, info in services.items():
        note = f"  ({info['note']})" if info.get("note") else ""
        click.echo(f"  {name.ljust(width)}  {info['url']}{note}")
    skipped = summary["skipped"]
    assert isinstance(skipped, dict)
    for name, why in skipped.items():
        click.echo(f"  {name.ljust(width)}  not started: {why}")
    connections = summary["connections"]
    secrets = summary["secrets"]
    assert isinstance(connections, list) and isinstance(secrets, list)
    click.echo(f"connections pointed at the doubles: {', '.join(connections)}")
    click.echo(f"fake secrets: {', '.join(secrets)}")
    click.echo(f"overlay: {summary['overlay']} (removed when the sandbox stops)")
