"""One draft on the Drafts page: editor, rules, revisions with a diff, comments, decisions.

Decisions need a signed-in person (a sign-in panel stands in for the buttons
otherwise) and record who made them:

* **Save edit**: a new revision by the reviewer (the old ones are kept);
* **Approve**: the saved revision (unsaved editor changes are refused); when
  it breaks the platform's rules the service requires an override comment;
  the run is made ready but not continued: **Publish** does that;
* **Request changes**: the note goes to the LLM (when one is configured)
  for a new revision, streamed into the editor as it is written;
* **Reject**: the run continues once every draft of its review is decided;
* **Publish**: the run waiting on the review goes on to its ``social_post``
  step; a draft edited after approval is refused with the service's reason.

Draft text is data: it is escaped wherever it is shown.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NoReturn

import ipywidgets as widgets

from sopbench.errors import InputError, SopbenchError, StepFailed
from sopbench.services.content import (
    EDITABLE,
    Draft,
    Revision,
    get_platform,
    measure,
    published_text,
    violations,
)
from sopbench.ui.diff import diff_html, diff_stats
from sopbench.ui.identity import SignInPanel
from sopbench.ui.widgets import Column, Table, esc, fmt_time, link, progress

if TYPE_CHECKING:
    from sopbench.ui.pages.drafts import DraftsPage

__all__ = ["DraftDetail", "parse_hashtags"]


def parse_hashtags(text: str) -> list[str]:
    """``"#A B, #C"`` → ``["#A", "#B", "#C"]``."""
    words = text.replace(",", " ").split()
    return [w if w.startswith("#") else f"#{w}" for w in words if w.strip("#")]


class DraftDetail(widgets.VBox):
    """The detail view of one draft (``NotFound`` for an unknown id)."""

    def __init__(self, page: DraftsPage, draft_id: str) -> None:
        super().__init__()
        self.page = page
        self.ctx = page.ctx
        self.draft = self.ctx.content.drafts.get(draft_id)
        self.rules = get_platform(self.draft.platform)
        self.add_class("sb-draft")
        self.body = widgets.Textarea(
            value=self.draft.body, rows=10, layout={"width": "100%", "height": "200px"}
        )
        self.body.add_class("sb-draft-body")
        self.hashtags = widgets.Text(
            value=" ".join(self.draft.hashtags), description="Hashtags", layout={"width": "100%"}
        )
        self.hashtags.add_class("sb-draft-hashtags")
        if self.draft.status not in EDITABLE:  # out already: nothing to edit
            self.body.disabled = self.hashtags.disabled = True
        self.count = widgets.HTML()
        self.count.add_class("sb-char-count")
        self.live_rules = widgets.HTML()
        self.body.observe(lambda _: self._measure(), names="value")
        self.hashtags.observe(lambda _: self._measure(), names="value")
        self._measure()
        self.children = [
            self._facts(),
            widgets.HTML("<h3>Text</h3>"),
            self.body,
            self.hashtags,
            widgets.HBox([self.count, self.live_rules]),
            self._violations(),
            self._actions(),
            self._history(),
            self._comments(),
        ]

    # -- what the draft is -----------------------------------------------------------------

    def _facts(self) -> widgets.HTML:
        d, ctx = self.draft, self.ctx
        entity = ctx.entities().get(d.entity)
        rows = [
            ("Entity", esc(entity.name if entity else d.entity)),
            ("Platform", f"{esc(self.rules.name)} (at most {self.rules.max_length:,} characters)"),
            ("Status", f'<b class="sb-draft-status">{esc(d.status)}</b>'),
            ("Revision", str(d.revision)),
            ("Account", esc(d.account or "-")),
        ]
        if d.publish_at:
            rows.append(("Publish at", esc(fmt_time(d.publish_at))))
        if d.source_run_id:
            rows.append(
                (
                    "From",
                    link(ctx.link("history", run=d.source_run_id), d.source_run_id)
                    + f" step {esc(d.source_step or '-')}",
                )
            )
        if d.approved_by:
            who = ctx.person_name(d.approved_by)
            rows.append(("Approved by", f"{esc(who)} at {esc(fmt_time(d.approved_at))}"))
        if d.post_id:
            rows.append(("Post", f'<code class="sb-post-id">{esc(d.post_id)}</code>'))
        cells = "".join(f"<tr><th align=left>{k}</th><td>{v}</td></tr>" for k, v in rows)
        head = f"<h2>Draft <code>{esc(d.id)}</code></h2><table>{cells}</table>"
        refusal = self.ctx.content.drafts.refusal(d) if d.status == "approved" else None
        if refusal:
            head += f'<div class="sb-notice sb-warn sb-not-publishable">{esc(refusal)}</div>'
        facts = widgets.HTML(head)
        facts.add_class("sb-draft-facts")
        return facts

    def _measure(self) -> None:
        text = published_text(self.body.value, parse_hashtags(self.hashtags.value))
        used = measure(text, self.rules)
        over = used > self.rules.max_length
        colour = "#a00" if over else "#555"
        self.count.value = (
            f'<span style="color:{colour}">{used:,} / {self.rules.max_length:,} characters'
            f"{' (too long)' if over else ''}</span>"
        )
        problems = violations(text, self.rules)
        self.live_rules.value = (
            f'<span style="color:#a00">&nbsp;· {len(problems)} rule problem(s) as typed</span>'
            if problems and text != self.draft.text
            else ""
        )

    def _violations(self) -> widgets.HTML:
        problems = self.draft.violations
        if not problems:
            box = widgets.HTML('<p class="sb-rules-ok">Platform rules: all met.</p>')
        else:
            items = "".join(f"<li>{esc(p)}</li>" for p in problems)
            box = widgets.HTML(
                f'<div class="sb-notice sb-warn"><b>Platform rules broken by revision '
                f"{self.draft.revision}</b><ul>{items}</ul>Approving needs an override "
                "comment saying why it may go out anyway.</div>"
            )
        box.add_class("sb-violations")
        return box

    # -- decisions -----------------------------------------------------------------------

    def _actions(self) -> widgets.Widget:
        if self.ctx.person is None:
            panel = SignInPanel(self.ctx, lambda _: self._signed_in())
            hint = widgets.HTML("<p>Sign in to edit, approve, reject or publish this draft.</p>")
            return widgets.VBox([hint, panel])
        status = self.draft.status
        self.note = widgets.Textarea(
            placeholder="Note: what to change, or why (kept with the decision)",
            layout={"width": "100%"},
        )
        self.note.add_class("sb-draft-note")
        self.override = widgets.Text(
            placeholder="Why it may go out despite the rule problems",
            description="Override",
            layout={"width": "100%", "display": "" if self.draft.violations else "none"},
        )
        self.override.add_class("sb-draft-override")
        reviewable = self.draft.reviewable  # approved and edited since counts too
        buttons = [
            self._button("Save edit", self.save, status in EDITABLE, ""),
            self._button("Approve", self.approve, reviewable, "success"),
            self._button("Request changes", self.request_changes, status in EDITABLE, "warning"),
            self._button("Reject", self.reject, reviewable, "danger"),
            self._button("Publish", self.publish, status == "approved", "primary"),
        ]
        self.bar = progress("LLM")
        self.bar.layout.display = "none"
        self.working = widgets.HTML()
        self.working.add_class("sb-working")
        return widgets.VBox(
            [
                widgets.HTML("<h3>Review</h3>"),
                self._who_may_review(reviewable),
                self.note,
                self.override,
                widgets.HBox(buttons),
                widgets.HBox([self.bar, self.working]),
            ]
        ).add_class("sb-draft-actions")

    def _who_may_review(self, reviewable: bool) -> widgets.HTML:
        """Which roles review this draft, and why the signed-in person may not (the
        service refuses the same decisions; the buttons stay so the reason shows)."""
        person = self.ctx.require_person()
        status = self.draft.status
        action = "approve" if reviewable else "publish" if status == "approved" else None
        content = self.ctx.content
        rules = content.review_rules(self.draft)
        text = f"Reviewers: {esc(', '.join(rules.reviewers) or 'any role')}"
        if rules.started_by:
            text += f" · run started by {esc(self.ctx.person_name(rules.started_by))}"
        refusal = action and content.review_refusal(self.draft, person, action, rules=rules)
        if refusal:
            text += f'<div class="sb-notice sb-warn sb-review-refusal">{esc(refusal)}</div>'
        box = widgets.HTML(f"<p>{text}</p>")
        box.add_class("sb-draft-reviewers")
        return box

    def _signed_in(self) -> None:
        self.page.render()

    @staticmethod
    def _button(label: str, run: Any, enabled: bool, style: str) -> widgets.Button:
        button = widgets.Button(description=label, button_style=style)
        button.add_class("sb-" + label.lower().replace(" ", "-"))
        button.disabled = not enabled
        button.on_click(lambda _: run())
        return button

    def _note(self) -> str | None:
        return self.note.value.strip() or None

    def save(self) -> None:
        def action() -> str:
            person = self.ctx.require_person()
            changed = self.ctx.content.edit(
                self.draft.id,
                person=person,
                body=self.body.value,
                hashtags=parse_hashtags(self.hashtags.value),
                note=self._note(),
            )
            return f"Saved revision {changed.revision} by {self.ctx.person_name(person)}."

        self.page.act(action)

    def approve(self) -> None:
        def action() -> str:
            person = self.ctx.require_person()
            self._no_unsaved_edits("approving")
            out = self.ctx.content.approve(
                self.draft.id,
                person=person,
                override=self.override.value.strip() or None,
                comment=self._note(),
                continue_run=False,
            )
            then = " Publish sends it out." if out["run_id"] else ""
            return f"Approved revision {self.draft.revision} as {person}.{then}"

        self.page.act(action)

    def reject(self) -> None:
        def action() -> str:
            person = self.ctx.require_person()
            out = self.ctx.content.reject(self.draft.id, person=person, comment=self._note())
            run = f" Run {out['run_id']} is {out['run_status']}." if out["run_id"] else ""
            return f"Rejected by {person}.{run}"

        self.page.act(action)

    def publish(self) -> None:
        def action() -> str:
            person = self.ctx.require_person()
            self._no_unsaved_edits("publishing")
            self.working.value = "<i>Publishing: the run continues to its social_post step…</i>"
            try:
                out = self.ctx.content.publish(self.draft.id, person=person)
            finally:
                self.working.value = ""
            return _published_message(out)

        self.page.act(action)

    def request_changes(self) -> None:
        def action() -> str:
            person = self.ctx.require_person()
            note = self._note()
            if note is None:
                self._warn("write a note saying what to change first")
            self._no_unsaved_edits("requesting changes")
            if self.ctx.content.drafts.reviser is None:
                changed = self.ctx.content.request_changes(self.draft.id, person=person, note=note)
                return f"Changes requested (no LLM is configured): draft is {changed.status}."
            changed = self._stream_revision(person, note)
            return f"The LLM wrote revision {changed.revision}; compare it below."

        self.page.act(action)

    def _stream_revision(self, person: str, note: str) -> Draft:
        """Ask the LLM, showing its text in the editor as it arrives."""
        self.bar.layout.display = ""
        self.bar.max = min(self.rules.max_length, 1500)  # posts are short; keep it moving
        self.bar.value = 0
        self.working.value = "<i>Asking the LLM for a new revision…</i>"
        self.body.disabled = True
        written: list[str] = []

        def on_token(_platform: str, piece: str) -> None:
            written.append(piece)
            text = "".join(written)
            self.body.value = text
            self.bar.value = min(len(text), self.bar.max)
            self.working.value = f"<i>Writing… {len(text):,} characters</i>"

        try:
            return self.ctx.content.request_changes(
                self.draft.id, person=person, note=note, on_token=on_token
            )
        except SopbenchError:
            self.body.value = self.draft.body  # not a revision: the stored text again
            raise
        finally:
            self.body.disabled = False
            self.bar.layout.display = "none"
            self.working.value = ""

    @staticmethod
    def _warn(text: str) -> NoReturn:
        raise InputError(text)

    def _no_unsaved_edits(self, doing: str) -> None:
        edited = self.body.value != self.draft.body or parse_hashtags(self.hashtags.value) != list(
            self.draft.hashtags
        )
        if edited:
            self._warn(
                f"the editor has unsaved changes; Save edit before {doing} "
                f"(a decision covers the saved revision {self.draft.revision})"
            )

    # -- history -------------------------------------------------------------------------

    def _history(self) -> widgets.Widget:
        revisions = self.draft.revisions
        table = Table(
            [
                Column("revision", "Rev"),
                Column("author", "Author"),
                Column("note", "Note"),
                Column("created_at", "When", lambda r: esc(fmt_time(r["created_at"]))),
            ],
            [r.as_dict() | {"created_at": r.created_at} for r in reversed(revisions)],
            page_size=10,
            name="revisions",
        )
        diff = widgets.HTML()
        diff.add_class("sb-draft-diff")
        others = [r for r in revisions if r.revision != self.draft.revision]
        if not others:
            diff.value = "<p><i>Only one revision so far.</i></p>"
            return widgets.VBox([widgets.HTML("<h3>Revisions</h3>"), table, diff])
        chooser = widgets.Dropdown(
            options=[(f"revision {r.revision} by {r.author}", r.revision) for r in others],
            value=others[-1].revision,
            description="Compare",
        )
        chooser.add_class("sb-diff-revision")
        by_number = {r.revision: r for r in revisions}

        def show(_: object = None) -> None:
            diff.value = self._diff(by_number[int(chooser.value)])

        chooser.observe(show, names="value")
        show()
        return widgets.VBox([widgets.HTML("<h3>Revisions</h3>"), table, chooser, diff])

    def _diff(self, old: Revision) -> str:
        current = self.draft.current
        before = published_text(old.body, old.hashtags)
        after = published_text(current.body, current.hashtags)
        added, removed = diff_stats(before, after)
        return (
            f"<p>Revision {old.revision} → current revision {current.revision}: "
            f"{added} word(s) added, {removed} removed</p>" + diff_html(before, after)
        )

    def _comments(self) -> widgets.Widget:
        comments = self.draft.comments
        if not comments:
            html = "<p><i>No comments yet.</i></p>"
        else:
            html = (
                "<ul>"
                + "".join(
                    f"<li><b>{esc(self.ctx.person_name(c['author']))}</b> "
                    f"<small>{esc(fmt_time(c['created_at']))}</small>: {esc(c['body'])}</li>"
                    for c in comments
                )
                + "</ul>"
            )
        box = widgets.HTML("<h3>Comments</h3>" + html)
        box.add_class("sb-comments")
        return box


def _published_message(out: dict[str, Any]) -> str:
    status, run_status = out["status"], out["run_status"]
    if status in ("published", "scheduled"):
        post = f" (post {out['post_id']})" if out.get("post_id") else ""
        return f"Draft {status}{post}; run {out['run_id']} is {run_status}."
    if out["undecided"]:
        return (
            f"Run {out['run_id']} still waits for {len(out['undecided'])} other draft(s) of "
            f"its review ({', '.join(out['undecided'])}); it publishes once they are decided."
        )
    if run_status == "failed":
        raise StepFailed(f"run {out['run_id']} failed: {out.get('run_error') or 'see History'}")
    return f"Run {out['run_id']} is {run_status}; the draft is {status}."
