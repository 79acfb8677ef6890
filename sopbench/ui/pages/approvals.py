"""Approvals: the signed-in person's inbox of open tasks, and deciding one.

The inbox is paged, sorted and filtered in the database
(:meth:`RunService.inbox`), so it stays fast with thousands of open tasks.
Opening a task (button "Open", or ``approvals.ipynb?task=ID``) shows what is
being decided, the task's form and a comment box; the decision goes through
:meth:`RunService.decide`, which records the signed-in person and refuses
the run's starter, people without the role and late deciders with a message
that the page shows as it is.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import ipywidgets as widgets

from sopbench.errors import AlreadyDecided, SopbenchError
from sopbench.services.content import Draft
from sopbench.services.runs import TaskRow, TaskVote
from sopbench.ui.app import Page
from sopbench.ui.forms import FormFields
from sopbench.ui.widgets import Column, PageQuery, RowAction, Table, esc, fmt_time, link

__all__ = ["PAGE", "ApprovalsPage", "progress_text"]

_KIND_NAMES = {
    "approval": "approval",
    "review": "review",
    "media": "media request",
    "manual": "manual task",
}


def progress_text(task: TaskRow | Mapping[str, Any]) -> str:
    """ "1 of 2 approvals" (or what a manual task waits for): of a task, or of an
    inbox table row (the task's fields by name)."""
    values = task.to_dict() if isinstance(task, TaskRow) else task
    if values["kind"] == "manual":
        return "to complete"
    required = int(values["required"])
    return f"{values['approvals']} of {required} approval{'s' if required != 1 else ''}"


def _pre(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, indent=2, default=str)
    return f'<pre class="sb-pre">{esc(text)}</pre>'


class ApprovalsPage(Page):
    name = "approvals"
    title = "Approvals"
    needs_person = True

    # Which view to show: None = the ``task`` query parameter decides, "" = the
    # inbox, anything else = that task (set by the buttons of this page).
    chosen: str | None = None

    def build(self) -> list[widgets.Widget]:
        task_id = self.ctx.param("task") if self.chosen is None else self.chosen
        if task_id:
            return TaskDetail(self, task_id).view()
        return [self._inbox()]

    def open_task(self, task_id: str) -> None:
        self.chosen = task_id
        self.messages.children = []
        self.render()

    def back(self) -> None:
        self.open_task("")

    # -- the inbox -------------------------------------------------------------

    def _rows(self, query: PageQuery) -> tuple[list[dict[str, Any]], int]:
        rows, total = self.ctx.runs.inbox(
            self.ctx.require_person(),
            offset=query.offset,
            limit=query.limit,
            sort=query.sort,
            descending=query.descending,
            text=query.text,
        )
        # the table reads cells by column name (and sorts by it)
        return [row.to_dict() for row in rows], total

    def _inbox(self) -> widgets.Widget:
        ctx = self.ctx
        table = Table(
            [
                Column("title", "Task · progress", _task_cell),
                Column("sop_id", "SOP · entity", lambda r: _sop_cell(ctx.link, r)),
                Column("step_path", "Step · run", lambda r: _step_cell(ctx.link, r)),
                Column("due_at", "Due", lambda r: esc(fmt_time(r["due_at"]) or "-")),
            ],
            source=self._rows,
            actions=[RowAction("Open", lambda r: self.open_task(str(r["id"])), style="primary")],
            page_size=20,
            empty="Nothing waits for you. Tasks you may decide appear here.",
            name="inbox",
        )
        heading = widgets.HTML(
            f"<h2>Tasks for {esc(ctx.person_name())}</h2>"
            f"<p>{table.total:,} open task(s) you may decide (oldest first; click a "
            "column to sort, type to filter).</p>"
        )
        heading.add_class("sb-inbox-heading")
        return widgets.VBox([heading, table]).add_class("sb-inbox")


# Several facts share a cell: every cell is a widget (three comm objects), and
# fewer widgets per row keep a full inbox page close to an empty one.
def _task_cell(row: Mapping[str, Any]) -> str:
    kind = _KIND_NAMES.get(row["kind"], row["kind"])
    return (
        f'<span class="sb-task-title">{esc(row["title"])}</span> <small>({esc(kind)})</small>'
        f"<br><small>{esc(progress_text(row))}</small>"
    )


def _sop_cell(href: Any, row: Mapping[str, Any]) -> str:
    return f"{link(href('sop', sop=row['sop_id']), row['sop_id'])} · {esc(row['entity'])}"


def _step_cell(href: Any, row: Mapping[str, Any]) -> str:
    run = link(href("history", run=row["run_id"]), row["run_id"])
    return f"{esc(row['step_path'])}<br><small>{run}</small>"


class TaskDetail:
    """One task: its subject, form, votes and the decision buttons."""

    def __init__(self, page: ApprovalsPage, task_id: str) -> None:
        self.page = page
        self.ctx = page.ctx
        self.task_id = task_id
        detail = self.ctx.runs.task_detail(task_id)  # NotFound: the not-found view
        self.task: TaskRow = detail["task"]
        self.run = detail["run"]
        self.step = detail["step"]
        self.votes: list[TaskVote] = detail["votes"]

    def view(self) -> list[widgets.Widget]:
        back = widgets.Button(description="Back to inbox", icon="arrow-left")
        back.add_class("sb-back")
        back.on_click(lambda _: self.page.back())
        parts: list[widgets.Widget] = [back, self._summary(), self._subject()]
        if self.votes:
            parts.append(self._votes())
        parts.append(self._decision() if self.task.status == "open" else self._closed())
        return [widgets.VBox(parts).add_class("sb-task")]

    def _summary(self) -> widgets.HTML:
        t, run, ctx = self.task, self.run, self.ctx
        due = fmt_time(t.due_at) or "no deadline"
        rows = [
            ("SOP", link(ctx.link("sop", sop=run.sop_id), run.sop_id)),
            ("Entity", esc(t.entity)),
            ("Step", esc(t.step_path)),
            ("Kind", esc(_KIND_NAMES.get(t.kind, t.kind))),
            ("Status", f'<span class="sb-task-status">{esc(t.status)}</span>'),
            ("Progress", f'<span class="sb-progress-text">{esc(progress_text(t))}</span>'),
            ("Due", esc(due)),
            ("Run", link(ctx.link("history", run=run.id), f"{run.id} ({run.status})")),
            ("Started by", esc(ctx.person_name(run.started_by) if run.started_by else "-")),
        ]
        cells = "".join(f"<tr><th align=left>{k}</th><td>{v}</td></tr>" for k, v in rows)
        summary = widgets.HTML(f"<h2>{esc(t.title)}</h2><table>{cells}</table>")
        summary.add_class("sb-task-summary")
        return summary

    def _subject(self) -> widgets.Widget:
        """What is being decided: the description, then what the step was given."""
        t = self.task
        parts: list[widgets.Widget] = []
        if t.kind == "manual":
            parts.append(widgets.HTML(f"<p>{esc(t.description or '')}</p>"))
            boxes = [widgets.Checkbox(description=item, indent=False) for item in t.checklist]
            if boxes:
                parts.append(widgets.VBox(boxes).add_class("sb-checklist"))
        else:
            if t.description:
                parts.append(widgets.HTML(f"<p>{esc(t.description)}</p>"))
            parts.extend(self._drafts() if t.kind == "review" else [])
            if self.step is not None and self.step.rendered:
                given = self.step.rendered
                subject = given.get("subject") if isinstance(given, dict) else None
                if subject is not None:
                    parts.append(widgets.HTML("<h4>Subject</h4>" + _pre(subject)))
                    parts.extend(self._subject_drafts(subject))
                parts.append(widgets.HTML("<h4>The step was given</h4>" + _pre(given)))
        return widgets.VBox(parts).add_class("sb-subject")

    def _subject_drafts(self, subject: Any) -> list[widgets.Widget]:
        """A subject that lists drafts (an approval of generated content): their texts."""
        ids = [i for i in subject if isinstance(i, str)] if isinstance(subject, list) else []
        if not ids or not all(i.startswith("drf_") for i in ids):
            return []
        return [self._draft_view(d) for d in self.ctx.content.drafts.find(ids=ids)]

    def _draft_view(self, draft: Draft) -> widgets.HTML:
        href = self.ctx.link("drafts", draft=draft.id)
        return widgets.HTML(
            f"<h4>Draft {link(href, draft.id)} ({esc(draft.platform)}, {esc(draft.status)})</h4>"
            + _pre(draft.body)
        )

    def _drafts(self) -> list[widgets.Widget]:
        """The draft texts a review task is about (drafts of this run and step)."""
        found = self.ctx.content.drafts.find(run_id=self.run.id)
        return [self._draft_view(d) for d in found if d.source_step in (None, self.task.step_path)]

    def _votes(self) -> widgets.HTML:
        items = "".join(
            f"<li>{esc(self.ctx.person_name(v.person))}: {esc(v.decision)} "
            f"at {esc(fmt_time(v.at))}{' - ' + esc(v.comment) if v.comment else ''}</li>"
            for v in self.votes
        )
        votes = widgets.HTML(f"<h4>Votes so far</h4><ul>{items}</ul>")
        votes.add_class("sb-votes")
        return votes

    def _closed(self) -> widgets.Widget:
        t = self.task
        who = self.ctx.person_name(t.decided_by) if t.decided_by else "nobody"
        text = f"This task is {t.status}"
        if t.decided_at is not None:
            text += f" by {who} at {fmt_time(t.decided_at)}"
        if t.comment:
            text += f" ({t.comment})"
        closed = widgets.HTML(f'<div class="sb-notice sb-info">{esc(text)}.</div>')
        closed.add_class("sb-task-closed")
        return closed

    def _decision(self) -> widgets.Widget:
        self.form = FormFields(self.task.form)
        self.comment = widgets.Textarea(placeholder="comment (optional)", layout={"width": "420px"})
        self.comment.add_class("sb-comment")
        self.status = widgets.HTML()
        self.status.add_class("sb-decide-status")
        actions = ["complete"] if self.task.kind == "manual" else ["approve", "reject"]
        styles = {"approve": "success", "reject": "danger", "complete": "success"}
        buttons = []
        for action in actions:
            button = widgets.Button(description=action.capitalize(), button_style=styles[action])
            button.add_class(f"sb-{action}")
            button.on_click(lambda _, a=action: self.decide(a))
            buttons.append(button)
        heading = widgets.HTML(f"<h4>Your decision, {esc(self.ctx.person_name())}</h4>")
        return widgets.VBox(
            [heading, self.form, self.comment, widgets.HBox(buttons), self.status]
        ).add_class("sb-decision")

    def decide(self, action: str) -> None:
        page = self.page
        self.status.value = "<i>recording your decision…</i>"
        try:
            result = self.ctx.runs.decide(
                self.task_id,
                person=self.ctx.require_person(),
                action=action,
                comment=self.comment.value.strip() or None,
                fields=self.form.values(),
            )
        except SopbenchError as exc:
            # Show the task as it is now (someone may have decided it first).
            page.render()
            page.say(str(exc), "warn" if isinstance(exc, AlreadyDecided) else "error")
            return
        page.render()
        page.say(_outcome(result), "ok")


def _outcome(result: Mapping[str, Any]) -> str:
    if result["settled"]:
        return f"{result['status']}; run continues: {result['run_status']}"
    return f"{result['approvals']} of {result['required']} approvals recorded"


PAGE = ApprovalsPage
