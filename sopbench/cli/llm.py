"""``llm serve`` (the embedded model server) and ``llm status`` (which LLM drafts use)."""

from __future__ import annotations

import signal
import threading
from types import FrameType

import click

from sopbench.cli._common import cli, echo_json, json_option, settings_of


@cli.group()
def llm() -> None:
    """The LLM that writes content drafts (SOPBENCH_LLM_URL, else the embedded model)."""


@llm.command()
@click.option("--port", type=click.IntRange(0, 65535), default=0, help="Port (0: a free one).")
@click.option("--threads", type=click.IntRange(1, 256), default=None, help="CPU threads.")
@click.pass_context
def serve(ctx: click.Context, port: int, threads: int | None) -> int:
    """Serve the embedded model on 127.0.0.1 until Ctrl-C or SIGTERM.

    Prints the OpenAI-compatible base URL; set SOPBENCH_LLM_URL to it to
    share one model server between processes.
    """
    from sopbench.services.content import start_embedded

    settings = settings_of(ctx)
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    # handlers first: a SIGTERM during the model load still ends cleanly
    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with start_embedded(settings.llm_model_file, port=port, threads=threads) as server:
            click.echo(f"embedded LLM {server.model} serving at {server.base_url}")
            click.echo(f"SOPBENCH_LLM_URL={server.base_url}")
            click.echo(
                f"model {server.model_file} loaded in {server.load_seconds:.2f}s, "
                f"{server.threads} threads; press Ctrl-C (or send SIGTERM) to stop",
                err=True,
            )
            while not stop.wait(0.5):
                pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    click.echo("embedded LLM stopped", err=True)
    return 0


@llm.command()
@json_option
@click.pass_context
def status(ctx: click.Context, as_json: bool) -> int:
    """Which LLM content drafts use, and whether it answers (exit 1 when none can)."""
    from sopbench.services.content import llm_status

    out = llm_status(settings_of(ctx))
    if as_json:
        echo_json(out)
    elif out["source"] == "url":
        if out["usable"]:
            click.echo(
                f"SOPBENCH_LLM_URL={out['url']}: reachable, models: {', '.join(out['models'])}"
            )
        else:
            click.echo(f"SOPBENCH_LLM_URL={out['url']}: not usable: {out['problem']}")
    elif out["usable"]:
        click.echo(
            "SOPBENCH_LLM_URL is not set: drafts use the embedded model "
            f"{out['model_file']} (started on first use; `sopbench llm serve` to share one)"
        )
    else:
        click.echo(
            f"SOPBENCH_LLM_URL is not set and the embedded model cannot start: {out['problem']}"
        )
    return 0 if out["usable"] else 1
