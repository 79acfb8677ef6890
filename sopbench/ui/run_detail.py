"""One run in full, for History: facts, inputs and outputs, steps, tasks, journal.

Read-only; the History page adds the buttons (Refresh, Cancel run).
"""

from __future__ import annotations

import json
from typing import Any

import ipywidgets as widgets

from sopbench.services.runs import RunTask, RunView, json_default
from sopbench.ui.context import PageContext
from sopbench.ui.run_views import run_status, short
from sopbench.ui.widgets import Column, Table, esc, fmt_time, link

__all__ = ["journal_table", "run_facts", "run_values", "tasks_table"]


def _json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, default=json_default, ensure_ascii=False)


def run_facts(ctx: PageContext, view: RunView) -> widgets.Widget:
    run = view.run
    facts = [
        ("SOP", link(ctx.link("sop", sop=run.sop_id), run.sop_id)),
        ("Entity", link(ctx.link("entity", entity=run.entity), run.entity)),
        ("Started by", esc(ctx.person_name(run.started_by) if run.started_by else "nobody")),
        ("Dry run", "yes" if run.dry_run else "no"),
        ("Started", esc(fmt_time(run.created_at))),
        ("Finished", esc(fmt_time(run.finished_at))),
    ]
    if run.wake_at is not None:
        facts.append(("Wakes at", esc(fmt_time(run.wake_at))))
    if run.parent_run_id:
        facts.append(
            ("Parent run", link(ctx.link("history", run=run.parent_run_id), run.parent_run_id))
        )
    rows = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in facts)
    table = widgets.HTML(f"<table class='sb-facts'>{rows}</table>")
    table.add_class("sb-run-facts")
    return widgets.VBox(
        [widgets.HTML(f"<h2>Run <code>{esc(run.id)}</code></h2>"), run_status(run), table]
    )


def run_values(view: RunView) -> widgets.Widget:
    """Inputs, outputs and the error, as the run recorded them."""
    run = view.run
    parts = [
        f'<h3>Inputs</h3><pre class="sb-pre sb-run-inputs">{esc(_json(run.inputs))}</pre>',
        f'<h3>Outputs</h3><pre class="sb-pre sb-run-outputs">{esc(_json(run.outputs))}</pre>',
    ]
    if run.error:
        parts.append(
            f'<h3>Why it failed</h3><pre class="sb-pre sb-run-error">{esc(run.error)}</pre>'
        )
    return widgets.HTML("".join(parts))


def _votes(task: RunTask, ctx: PageContext) -> str:
    return "; ".join(
        f"{ctx.person_name(v.person)}: {v.decision}"
        + (f" ({short(v.comment, 80)})" if v.comment else "")
        for v in task.votes
    )


def tasks_table(ctx: PageContext, tasks: list[RunTask]) -> widgets.Widget:
    """The run's human tasks: who may decide, who did, and how."""
    rows = [
        {
            "task_id": t.id,
            "title": t.title,
            "kind": t.kind,
            "step_path": t.step_path,
            "status": t.status,
            "progress": f"{t.approvals}/{t.required}",
            "approvers": ", ".join(t.approvers),
            "decided_by": ctx.person_name(t.decided_by) if t.decided_by else "",
            "decided_at": t.decided_at,
            "votes": _votes(t, ctx),
            "comment": t.comment or "",
        }
        for t in tasks
    ]

    def title(row: Any) -> str:
        if row["status"] == "open":
            return link(ctx.link("approvals", task=row["task_id"]), row["title"])
        return esc(row["title"])

    table = Table(
        [
            Column("title", "Task", title),
            Column("kind", "Kind"),
            Column("step_path", "Step"),
            Column("status", "Status"),
            Column("progress", "Approvals"),
            Column("approvers", "Roles"),
            Column("decided_by", "Decided by"),
            Column("decided_at", "Decided at", lambda r: esc(fmt_time(r["decided_at"]))),
            Column("votes", "Votes"),
            Column("comment", "Comment"),
        ],
        rows,
        page_size=50,
        empty="This run has asked nobody for anything.",
        name="run-tasks",
    )
    return widgets.VBox([widgets.HTML("<h3>Human tasks</h3>"), table])


def journal_table(ctx: PageContext, events: list[dict[str, Any]]) -> widgets.Widget:
    """Every journal event of the run, in the order it happened."""
    rows = [
        {
            "order": n,
            "ts": e["ts"],
            "actor": e["actor"],
            "actor_name": ctx.person_name(e["actor"]),
            "kind": e["kind"],
            "step_path": e.get("step_path") or "",
            "data": short(json.dumps(e.get("data") or {}, default=json_default), 200),
        }
        for n, e in enumerate(events, start=1)
    ]
    table = Table(
        [
            Column("order", "#", width="40px"),
            Column("ts", "Time", lambda r: esc(r["ts"].strftime("%Y-%m-%d %H:%M:%S"))),
            Column("actor_name", "Actor"),
            Column("kind", "Event"),
            Column("step_path", "Step"),
            Column("data", "Details"),
        ],
        rows,
        page_size=100,
        empty="Nothing recorded yet.",
        name="journal",
    )
    return widgets.VBox([widgets.HTML("<h3>Journal</h3>"), table])
