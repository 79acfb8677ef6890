"""Attach a finished media asset to a draft.

Drafts already carry media: the ``media`` list of each revision, part of the
approval fingerprint. Attaching appends a reference to the asset through
:meth:`DraftService.edit`, so it is an ordinary revision (author, time,
note "attached media …"): the old revision is kept, and an approved draft
must be approved again before it goes out, because what was approved changed.

Only a ``succeeded`` request has an asset; anything else is refused with
what to do next. Attaching the same request twice changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sopbench.content.draft_types import Draft
from sopbench.content.drafts import DraftService
from sopbench.content.media import MediaRequestView
from sopbench.errors import DecisionRefused

__all__ = ["Attached", "asset_ref", "attach_asset"]

_NEXT_STEP = {
    "requested": "it waits for approval (`sopbench media approve ID --by PERSON`)",
    "approved": "its job has not started yet (`sopbench media poll ID`)",
    "starting": "its job is starting (`sopbench media poll ID`)",
    "running": "its job is still running (`sopbench media poll ID`)",
}


@dataclass(frozen=True)
class Attached:
    """The draft after attaching, and whether this call added the asset."""

    draft: Draft
    request: MediaRequestView
    added: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "draft_id": self.draft.id,
            "request_id": self.request.id,
            "added": self.added,
            "revision": self.draft.revision,
            "status": self.draft.status,
            "media": self.draft.media,
        }


def asset_ref(view: MediaRequestView) -> dict[str, Any]:
    """What a draft keeps of an asset: where it came from and where its files are."""
    asset = view.asset or {}
    ref: dict[str, Any] = {
        "request_id": view.id,
        "kind": view.kind,
        "prompt_id": view.prompt_id,
        "files": list(asset.get("files") or []),
    }
    for key in ("design_id", "view_url", "edit_url", "video_id"):
        if asset.get(key):
            ref[key] = asset[key]
    return ref


def attach_asset(
    drafts: DraftService, view: MediaRequestView, draft_id: str, *, person: str
) -> Attached:
    """Append ``view``'s asset to the draft's media as a new revision by ``person``."""
    if view.status != "succeeded" or not view.asset:
        why = _NEXT_STEP.get(view.status, "it did not produce an asset")
        raise DecisionRefused(
            f"media request {view.id} is {view.status}, not succeeded: {why}",
            hint="only a finished asset can be attached to a draft",
        )
    draft = drafts.get(draft_id)
    if view.entity != draft.entity and "cross_entity" not in (view.entity, draft.entity):
        raise DecisionRefused(
            f"media request {view.id} is for {view.entity}, draft {draft.id} for {draft.entity}",
            hint="attach assets to drafts of the same entity",
        )
    if any(isinstance(m, dict) and m.get("request_id") == view.id for m in draft.media):
        return Attached(draft, view, added=False)
    changed = drafts.edit(
        draft.id,
        person=person,
        media=[*draft.media, asset_ref(view)],
        note=f"attached media {view.id} ({view.kind} {view.prompt_id})",
        expected_version=draft.version,
    )
    return Attached(changed, view, added=True)
