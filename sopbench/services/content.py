"""Draft services: list, show, edit, approve, reject, request changes, publish.

Every decision is checked against the draft's reviewer rules first
(:mod:`sopbench.content.reviewers`, the rules human tasks follow).

The CLI and the dashboard both call these. A decision wakes the run that
waits for the review (in the same transaction) and, when a
:class:`~sopbench.services.runs.RunService` is given, continues it here.

The faces also get from here what they show a draft with (its types, the
platform rules that measure it, the template library) and the LLM that writes
drafts (:func:`llm_status`, :func:`start_embedded`), so they never import
:mod:`sopbench.content` or :mod:`sopbench.integrations` themselves.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sopbench.config import Settings
from sopbench.content.draft_types import EDITABLE, REVIEWABLE, Revision, published_text
from sopbench.content.drafts import Draft, DraftService
from sopbench.content.llm_drafts import TokenSink, llm_reviser
from sopbench.content.platforms import PlatformRules, get_platform, measure, violations
from sopbench.content.reviewers import (
    ReviewRules,
    check_reviewer,
    review_rules,
    reviewer_refusal,
)
from sopbench.content.templates import TemplateLibrary, templates_of
from sopbench.errors import DecisionRefused, SopbenchError
from sopbench.integrations.embedded_llm import (
    EmbeddedLlm,
    embedded_problem,
    find_model,
    start_embedded,
)
from sopbench.integrations.llm import LlmClient
from sopbench.library import Workspace, load_workspace
from sopbench.services.runs import RunService
from sopbench.store import Database, open_database
from sopbench.store.runs import RunStore

__all__ = [
    "EDITABLE",
    "ContentService",
    "Draft",
    "EmbeddedLlm",
    "PlatformRules",
    "Revision",
    "TemplateLibrary",
    "embedded_problem",
    "get_platform",
    "llm_status",
    "measure",
    "published_text",
    "start_embedded",
    "templates_of",
    "violations",
]


def llm_status(settings: Settings) -> dict[str, Any]:
    """Which LLM writes drafts and whether it can: ``SOPBENCH_LLM_URL``'s server
    (asked for its models), else the embedded model (its file found, not started).

    ``usable`` is False with the ``problem`` when drafts could not be written by an LLM.
    """
    if settings.llm_url:
        out: dict[str, Any] = {"source": "url", "url": settings.llm_url}
        try:
            with LlmClient.from_settings(settings) as client:
                out["models"] = client.models()
            out.update(usable=True, problem=None)
        except SopbenchError as exc:
            out.update(usable=False, problem=str(exc))
        return out
    problem = embedded_problem(settings.llm_model_file)
    model = None if problem else str(find_model(settings.llm_model_file))
    return {
        "source": "embedded",
        "model_file": model,
        "usable": problem is None,
        "problem": problem,
    }


class ContentService:
    """One workspace's drafts, over its database."""

    def __init__(
        self,
        settings: Settings,
        *,
        workspace: Workspace | None = None,
        database: Database | None = None,
        runs: RunService | None = None,
    ) -> None:
        self.settings = settings
        self.workspace = workspace or (runs.workspace if runs else load_workspace(settings.home))
        self.db = database or (runs.db if runs else open_database(settings))
        self.runs = runs
        entities = self.workspace.entities.entities if self.workspace.entities else {}
        self._entities: dict[str, Mapping[str, Any]] = {
            eid: {"id": eid, **e.model_dump(mode="json")} for eid, e in entities.items()
        }
        self.drafts = DraftService(
            self.db,
            wake=RunStore(self.db).wake,
            reviser=llm_reviser(settings, self._entities),
        )

    def close(self) -> None:
        self.db.dispose()

    # -- reading -------------------------------------------------------------------

    def list_drafts(
        self, *, status: str | None = None, entity: str | None = None, limit: int = 200
    ) -> list[Draft]:
        return self.drafts.find(status=status, entity=entity, limit=limit)

    def status_counts(self) -> dict[tuple[str, str], int]:
        """How many drafts each (entity, status) has."""
        return self.drafts.store.status_counts()

    def recent_posts(self, *, entity: str | None = None, limit: int = 20) -> list[Draft]:
        """Drafts handed to a platform (scheduled, published, failed), newest first."""
        ids = self.drafts.store.latest_out(entity=entity, limit=limit)
        found = {d.id: d for d in self.drafts.find(ids=ids, limit=limit)}
        return [found[i] for i in ids if i in found]

    def run_sops(self, run_ids: Iterable[str]) -> dict[str, str]:
        """The SOP id of each run (for showing where drafts came from)."""
        return RunStore(self.db).sop_ids(run_ids)

    def show(self, draft_id: str) -> dict[str, Any]:
        draft = self.drafts.get(draft_id)
        data = draft.as_dict(full=True)
        data["publishable"] = self.drafts.refusal(draft) is None
        data["refusal"] = self.drafts.refusal(draft)
        rules = review_rules(self.db, draft)
        data["reviewers"] = list(rules.reviewers)
        data["started_by"] = rules.started_by
        return data

    # -- changing ------------------------------------------------------------------

    def edit(
        self,
        draft_id: str,
        *,
        person: str,
        body: str | None = None,
        hashtags: list[str] | None = None,
        account: str | None = None,
        publish_at: datetime | None = None,
        note: str | None = None,
    ) -> Draft:
        return self.drafts.edit(
            draft_id,
            person=person,
            body=body,
            hashtags=hashtags,
            account=account,
            publish_at=publish_at,
            note=note,
        )

    def approve(
        self,
        draft_id: str,
        *,
        person: str,
        override: str | None = None,
        comment: str | None = None,
        continue_run: bool = True,
    ) -> dict[str, Any]:
        self._check(draft_id, person, "approve")
        draft = self.drafts.approve(draft_id, person=person, override=override, comment=comment)
        return self._decided(draft, continue_run)

    def reject(
        self,
        draft_id: str,
        *,
        person: str,
        comment: str | None = None,
        continue_run: bool = True,
    ) -> dict[str, Any]:
        self._check(draft_id, person, "reject")
        draft = self.drafts.reject(draft_id, person=person, comment=comment)
        return self._decided(draft, continue_run)

    def request_changes(
        self, draft_id: str, *, person: str, note: str, on_token: TokenSink | None = None
    ) -> Draft:
        """The note, and the LLM's new revision; ``on_token(platform, piece)`` sees
        the revision's text as it is generated (the pieces join to the stored body)."""
        self._check(draft_id, person, "request_changes")
        reviser = llm_reviser(self.settings, self._entities, on_token) if on_token else None
        return self.drafts.request_changes(draft_id, person=person, note=note, reviser=reviser)

    def publish(self, draft_id: str, *, person: str) -> dict[str, Any]:
        """Send an approved draft out: the run waiting on its review goes on to
        ``social_post``. Refused (with the reason) unless the draft is approved and
        unchanged since; the other drafts of the same review must be decided too."""
        self._check(draft_id, person, "publish")
        draft = self.drafts.check_publishable(draft_id)
        run_id = draft.source_run_id
        if run_id is None or self.runs is None:
            raise DecisionRefused(
                f"draft {draft_id} came from no run, so no social_post step publishes it",
                hint="drafts are published by the social_post step of the SOP that wrote them",
            )
        if draft.status in ("scheduled", "published"):
            status = self.runs.engine.runs.get_run(run_id).status
        else:
            self.drafts.comment(draft_id, person=person, body="publish requested")
            status = self.runs.engine.drive(run_id)
        after = self.drafts.get(draft_id, full=False)
        waiting = [d.id for d in self.drafts.find(run_id=run_id) if d.status in REVIEWABLE]
        return {
            "draft_id": after.id,
            "status": after.status,
            "post_id": after.post_id,
            "run_id": run_id,
            "run_status": status,
            "run_error": self.runs.engine.runs.get_run(run_id).error,
            "undecided": waiting,
        }

    def review_rules(self, draft: Draft) -> ReviewRules:
        """Who reviews ``draft``: its entity, reviewer roles and the run's starter."""
        return review_rules(self.db, draft)

    def review_refusal(
        self, draft: Draft, person: str, action: str, *, rules: ReviewRules | None = None
    ) -> str | None:
        """Why ``person`` may not ``action`` (approve, reject, publish,
        request_changes) ``draft``, or None (the checks every decision makes)."""
        rules = rules or review_rules(self.db, draft)
        refused = reviewer_refusal(rules, person, self.workspace.people, action)
        return refused.message if refused is not None else None

    def _check(self, draft_id: str, person: str, action: str) -> None:
        """The rules human tasks follow (:mod:`sopbench.content.reviewers`): a listed
        person, serving the draft's entity, with one of the step's reviewer roles,
        and for approve/reject/publish not the person who started the run."""
        draft = self.drafts.get(draft_id, full=False)
        check_reviewer(review_rules(self.db, draft), person, self.workspace.people, action)

    def _decided(self, draft: Draft, continue_run: bool) -> dict[str, Any]:
        out: dict[str, Any] = {
            "draft_id": draft.id,
            "status": draft.status,
            "run_id": draft.source_run_id,
            "run_status": None,
        }
        if draft.source_run_id and self.runs is not None:
            run_id = draft.source_run_id
            if continue_run:
                out["run_status"] = self.runs.engine.drive(run_id)
            else:
                out["run_status"] = self.runs.engine.runs.get_run(run_id).status
        return out
