"""The command group, shared options and output helpers."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, is_dataclass
from datetime import date, datetime, timedelta
from typing import Any

import click

from sopbench.config import LOG_LEVELS, Settings, load_settings
from sopbench.logs import configure_logging

__all__ = ["cli", "echo_json", "echo_table", "json_option", "settings_of"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--home",
    type=click.Path(file_okay=False),
    default=None,
    help="Workspace folder (default: $SOPBENCH_HOME, else the current directory).",
)
@click.option("--traceback", is_flag=True, help="Show the Python traceback of internal errors.")
@click.option(
    "--log-level",
    type=click.Choice(LOG_LEVELS, case_sensitive=False),
    default=None,
    help="What the sopbench loggers write to stderr (default: $SOPBENCH_LOG, else warning).",
)
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default=None,
    help="text, or one JSON object a line for log collectors (default: $SOPBENCH_LOG_FORMAT).",
)
@click.version_option(package_name="sopbench")
@click.pass_context
def cli(
    ctx: click.Context,
    home: str | None,
    traceback: bool,
    log_level: str | None,
    log_format: str | None,
) -> None:
    """Run small-business SOPs as durable, reviewable workflows."""
    ctx.obj = {"home": home, "log_level": log_level, "log_format": log_format}
    configure_logging(log_level or "warning", log_format or "text")


def settings_of(ctx: click.Context) -> Settings:
    """The settings for this invocation, read once (and logging set up from them)."""
    root = ctx.find_root()
    if "settings" not in root.obj:
        settings = load_settings(root.obj.get("home"))
        root.obj["settings"] = settings
        configure_logging(
            root.obj.get("log_level") or settings.log_level,
            root.obj.get("log_format") or settings.log_format,
            redact=settings.secrets.redact,
        )
    found: Settings = root.obj["settings"]
    return found


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")


def _default(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, set | frozenset):
        return sorted(value)
    return str(value)


def echo_json(value: Any) -> None:
    click.echo(json.dumps(value, default=_default, indent=2, ensure_ascii=False))


def echo_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """A plain aligned table, or "(none)"."""
    if not rows:
        click.echo("(none)")
        return
    text_rows = [[str(cell) for cell in row] for row in rows]
    widths = [
        max(len(headers[i]), *(len(row[i]) for row in text_rows)) for i in range(len(headers))
    ]
    click.echo("  ".join(h.upper().ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    for row in text_rows:
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
