"""Pieces of a run shown on more than one page: its status line and its steps.

The SOP page shows them for the run it just started, History for any run.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import ipywidgets as widgets

from sopbench.services.runs import RunRow, StepRow
from sopbench.ui.widgets import Column, Table, esc, fmt_time

__all__ = ["STATUS_KIND", "run_status", "short", "steps_table"]

# Notice colour of each run status (see ``notice`` kinds).
STATUS_KIND = {
    "succeeded": "ok",
    "failed": "error",
    "cancelled": "warn",
    "waiting": "info",
    "running": "info",
    "pending": "info",
}


def short(value: object, limit: int = 120) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def run_status(run: RunRow, *, detail_href: str | None = None) -> widgets.HTML:
    """``Run X (dry run) is waiting for approval``, coloured by status, with a link."""
    waiting = f" for {run.wait_kind}" if run.status == "waiting" and run.wait_kind else ""
    dry = " (dry run)" if run.dry_run else ""
    text = f"Run {esc(run.id)}{dry} of {esc(run.sop_id)} is <b>{esc(run.status)}</b>{waiting}"
    if run.error:
        text += f": {esc(short(run.error, 400))}"
    if detail_href:
        text += f' · <a class="sb-run-link" href="{esc(detail_href)}">details in History</a>'
    kind = STATUS_KIND.get(run.status, "info")
    box = widgets.HTML(f'<div class="sb-notice sb-{kind}">{text}</div>')
    box.add_class("sb-run-status")
    box.add_class(f"sb-run-{run.status}")
    return box


def _step_row(step: StepRow) -> dict[str, Any]:
    return {
        "seq": step.seq,
        "path": step.path,
        "type": step.type,
        "status": step.status,
        "attempt": step.attempt,
        "error": short(step.error, 300),
        "started_at": step.started_at,
        "finished_at": step.finished_at,
    }


def steps_table(steps: Sequence[StepRow], *, name: str = "steps") -> Table:
    """The steps a run has reached, in the order it reached them."""
    rows = [_step_row(s) for s in sorted(steps, key=lambda s: s.seq)]
    return Table(
        [
            Column("seq", "#", width="40px"),
            Column("path", "Step"),
            Column("type", "Type"),
            Column("status", "Status"),
            Column("attempt", "Attempt", width="70px"),
            Column("error", "Failure"),
            Column("started_at", "Started", lambda r: esc(fmt_time(r["started_at"]))),
        ],
        rows,
        page_size=50,
        empty="No step has started yet.",
        name=name,
    )
