"""Media request services: list, request, approve, reject, poll, attach to a draft.

The CLI (``sopbench media``) and the dashboard's Media page both call
:class:`MediaDesk`. It adds the people rules to
:class:`~sopbench.content.media.MediaService`, the same ones the engine
applies to a ``media_request`` step's approval task:

* whoever requests or attaches is a person of ``sops/people.yaml`` (when it
  lists any) who serves the request's entity;
* a paid job is approved or rejected only by a listed person who serves the
  entity and holds one of :data:`APPROVER_ROLES` (the step's default
  approvers, and the owner), and never by the person who requested it.

The Canva and video clients come from the workspace's connections (a running
sandbox first), as for the ``media_request`` step.

The faces also get the prompt library's types from here
(:func:`prompt_library` for ``sopbench prompts``), never from
:mod:`sopbench.content` directly.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sopbench.config import Settings
from sopbench.content.drafts import DraftService
from sopbench.content.media import MediaRequestView, MediaService, cost_class
from sopbench.content.media_adapter import service_for
from sopbench.content.media_attach import Attached, attach_asset
from sopbench.content.prompts import (
    SORA_PRO_SIZES,
    SORA_SECONDS,
    SORA_SIZES,
    CanvaPrompt,
    Prompt,
    PromptLibrary,
    load_prompt_library,
)
from sopbench.errors import DecisionRefused, NotFound
from sopbench.library import Workspace, load_workspace
from sopbench.model.workspace import CROSS_ENTITY
from sopbench.store import Database, open_database
from sopbench.store.runs import RunStore
from sopbench.suggest import did_you_mean

__all__ = [
    "APPROVER_ROLES",
    "SORA_PRO_SIZES",
    "SORA_SECONDS",
    "SORA_SIZES",
    "Attached",
    "CanvaPrompt",
    "MediaDesk",
    "MediaRequestView",
    "Prompt",
    "PromptLibrary",
    "cost_class",
    "prompt_library",
]

APPROVER_ROLES = ("manager", "owner")
"""Who may let a paid image or video job run."""


def prompt_library(settings: Settings, workspace: Workspace | None = None) -> PromptLibrary:
    """The media prompt library of the workspace, checked against its entities'
    brand colours when ``entities.yaml`` loads (problems are collected, not raised)."""
    workspace = workspace or load_workspace(settings.home)
    palettes = None
    if workspace.entities is not None:
        palettes = {eid: list(e.brand_colors) for eid, e in workspace.entities.entities.items()}
    return load_prompt_library(settings.home, palettes=palettes)


class MediaDesk:
    """One workspace's media requests, over its database.

    A database passed in stays open on :meth:`close`; one opened here is disposed.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        workspace: Workspace | None = None,
        database: Database | None = None,
        media: MediaService | None = None,
    ) -> None:
        self.settings = settings
        self.workspace = workspace or load_workspace(settings.home)
        self._owns_db = database is None
        self.db = database or open_database(settings)
        self.media = media or service_for(settings, self.db)
        # editing a draft wakes no run (only review decisions do), but pass the
        # engine's wake anyway so the service behaves like every other writer
        self.drafts = DraftService(self.db, wake=RunStore(self.db).wake)

    def close(self) -> None:
        if self._owns_db:
            self.db.dispose()

    # -- reading ---------------------------------------------------------------------

    def list_requests(
        self, *, status: str | None = None, entity: str | None = None, limit: int = 200
    ) -> list[MediaRequestView]:
        if entity is not None:
            self._check_entity(entity)
        return self.media.list_requests(status=status, entity=entity, limit=limit)

    def get(self, request_id: str) -> MediaRequestView:
        return self.media.get(request_id)

    # -- changing --------------------------------------------------------------------

    def request(
        self,
        prompt_id: str,
        *,
        by: str,
        entity: str | None = None,
        overrides: Mapping[str, Any] | None = None,
    ) -> MediaRequestView:
        """Record a request awaiting approval (nothing paid runs yet).

        ``entity`` defaults to the entity whose service the prompt belongs to.
        """
        prompt = self.media.library.get(prompt_id)
        entity = entity or self.media.library.entity_of(prompt)
        self._check_entity(entity)
        self._check_member(by, entity)
        return self.media.request(entity, prompt_id, overrides, requested_by=by)

    def approve(self, request_id: str, *, by: str) -> MediaRequestView:
        """Approve and start the job (or leave it for ``poll`` when the provider is busy)."""
        self._check_approver(self.media.get(request_id), by)
        return self.media.approve(request_id, by=by)

    def reject(self, request_id: str, *, by: str, reason: str | None = None) -> MediaRequestView:
        self._check_approver(self.media.get(request_id), by)
        return self.media.reject(request_id, by=by, reason=reason)

    def poll(self, request_id: str | None = None) -> list[MediaRequestView]:
        """Advance one request's job by one look, or every unfinished approved request's."""
        if request_id is None:
            return self.media.poll_all()
        return [self.media.poll(request_id)]

    def attach(self, request_id: str, *, draft_id: str, by: str) -> Attached:
        """Add the finished asset of ``request_id`` to the draft, as a new revision."""
        view = self.media.get(request_id)
        draft = self.drafts.get(draft_id, full=False)
        self._check_member(by, draft.entity)
        return attach_asset(self.drafts, view, draft_id, person=by)

    # -- people ------------------------------------------------------------------------

    def _check_entity(self, entity: str) -> None:
        found = self.workspace.entities
        known = found.entities if found else {}
        if known and entity not in known and entity != CROSS_ENTITY:
            hint = did_you_mean(entity, known).strip(" ()") or "see sops/entities.yaml"
            raise NotFound(f"no entity '{entity}'", hint=hint)

    def _check_member(self, person: str, entity: str) -> None:
        """A listed person serving ``entity`` (anyone, when people.yaml lists nobody)."""
        people = self.workspace.people
        if people is None or not people.people:
            return
        member = people.people.get(person)
        if member is None:
            raise DecisionRefused(
                f"'{person}' is not in sops/people.yaml", hint="act as a listed person"
            )
        if "*" not in member.entities and entity not in member.entities:
            raise DecisionRefused(f"{person} does not serve entity '{entity}'")

    def _check_approver(self, view: MediaRequestView, person: str) -> None:
        people = self.workspace.people
        if people is None or person not in people.people:
            raise DecisionRefused(
                f"'{person}' is not in sops/people.yaml",
                hint="a paid media job is approved by a listed person",
            )
        if person == view.requested_by:
            raise DecisionRefused(
                f"{person} requested {view.id} and cannot approve or reject it",
                hint="ask another approver",
            )
        self._check_member(person, view.entity)
        if not set(APPROVER_ROLES) & set(people.people[person].roles):
            raise DecisionRefused(
                f"{person} lacks the role to decide media request {view.id} "
                f"(needs one of: {', '.join(APPROVER_ROLES)})"
            )
