"""Draft services: list, show, edit, approve, reject, request changes.

The CLI and the dashboard both call these. A decision wakes the run that
waits for the review (in the same transaction) and, when a
:class:`~sopbench.services.runs.RunService` is given, continues it here.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sopbench.config import Settings
from sopbench.content.adapter import llm_reviser
from sopbench.content.drafts import Draft, DraftService
from sopbench.engine.runstore import RunStore
from sopbench.errors import DecisionRefused
from sopbench.library import Workspace, load_workspace
from sopbench.services.runs import RunService
from sopbench.store import Database, open_database

__all__ = ["ContentService"]


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

    def show(self, draft_id: str) -> dict[str, Any]:
        draft = self.drafts.get(draft_id)
        data = draft.as_dict(full=True)
        data["publishable"] = self.drafts.refusal(draft) is None
        data["refusal"] = self.drafts.refusal(draft)
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
        self._reviewer(person)
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
        self._reviewer(person)
        draft = self.drafts.reject(draft_id, person=person, comment=comment)
        return self._decided(draft, continue_run)

    def request_changes(self, draft_id: str, *, person: str, note: str) -> Draft:
        self._reviewer(person)
        return self.drafts.request_changes(draft_id, person=person, note=note)

    def _reviewer(self, person: str) -> None:
        """Reviewers are people of the workspace (when it lists any)."""
        people = self.workspace.people
        if people is not None and people.people and person not in people.people:
            raise DecisionRefused(
                f"'{person}' is not in sops/people.yaml", hint="review drafts as a listed person"
            )

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
