"""Content drafts: revisions, review, approval fingerprints and publishing state.

A draft is one post for one platform of one entity. Its text lives in
``draft_revisions``: every edit (by a person, or by the LLM after "request
changes") adds a row, none is ever overwritten; ``drafts.revision`` names the
current one. Status moves ``draft → in_review → approved | rejected →
scheduled → published | failed``.

Approval records a fingerprint (sha256 of body, hashtags, media, account and
publish time) and who approved. :meth:`DraftService.check_publishable`
refuses a draft whose current fingerprint differs, naming who edited what
after the approval; such a draft may then be approved (or rejected) again,
while an unchanged approved draft is "already approved by X". Approving a
draft that breaks its platform's rules
(:func:`sopbench.content.platforms.violations`) is refused unless the
reviewer overrides with a comment. Who may review is checked by the caller
(:mod:`sopbench.content.reviewers`, applied by the content service).

Every change is a compare-and-set on ``drafts.version``: of two reviewers
deciding at once, one wins and the other hears "already approved by X".

Generated text is data: it is stored and shown, never rendered as a template.

The rows are read and written by :class:`~sopbench.content.draft_store.DraftStore`
(no statement here); this module holds the rules.

A decision can wake the run that waits for the review: pass ``wake`` (the
engine's ``RunStore.wake``), which is called in the same transaction. This
module does not import the engine.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from sopbench.content.draft_store import DraftStore
from sopbench.content.draft_types import (
    DECIDED,
    EDITABLE,
    Draft,
    Reviser,
    Revision,
    draft_id_for,
    fingerprint,
    published_text,
)
from sopbench.content.platforms import get_platform
from sopbench.errors import DecisionRefused, InputError
from sopbench.store import Database, new_id, utcnow

__all__ = [
    "DECIDED",
    "Draft",
    "DraftService",
    "Reviser",
    "Revision",
    "draft_id_for",
    "fingerprint",
    "published_text",
]


class DraftService:
    """Drafts over one database.

    ``wake(conn, run_id)`` is called in the deciding transaction for the run
    that generated the draft; ``reviser`` writes a new revision for "request
    changes" (the LLM), and is optional.
    """

    def __init__(
        self,
        db: Database,
        *,
        wake: Callable[[Connection, str], object] | None = None,
        reviser: Reviser | None = None,
    ) -> None:
        self.db = db
        self.store = DraftStore(db)
        self.wake = wake
        self.reviser = reviser

    # -- reading ------------------------------------------------------------------

    def _load(self, conn: Connection, draft_id: str, *, full: bool = False) -> Draft:
        return self.store.load(conn, draft_id, full=full)

    def get(self, draft_id: str, *, full: bool = True) -> Draft:
        with self.db.read() as conn:
            return self._load(conn, draft_id, full=full)

    def find(
        self,
        *,
        status: str | None = None,
        entity: str | None = None,
        run_id: str | None = None,
        ids: Iterable[str] | None = None,
        limit: int = 200,
    ) -> list[Draft]:
        return self.store.find(status=status, entity=entity, run_id=run_id, ids=ids, limit=limit)

    # -- creating -----------------------------------------------------------------

    def create(
        self,
        *,
        entity: str,
        platform: str,
        body: str,
        author: str,
        hashtags: Sequence[str] = (),
        media: Sequence[Any] = (),
        account: str | None = None,
        publish_at: datetime | None = None,
        source_run_id: str | None = None,
        source_step: str | None = None,
        status: str = "draft",
        draft_id: str | None = None,
        note: str | None = None,
    ) -> Draft:
        """A new draft with revision 1; with a known ``draft_id`` that exists, that draft."""
        get_platform(platform)  # unknown platforms fail here, naming the known ones
        if status not in ("draft", "in_review"):
            raise InputError(f"a new draft is draft or in_review, not {status}")
        with self.db.write() as conn:
            if draft_id is not None and self.store.exists(conn, draft_id):
                return self._load(conn, draft_id)
            draft_id = draft_id or new_id("drf")
            self.store.insert(
                conn,
                draft_id,
                entity=entity,
                platform=platform,
                account=account,
                status=status,
                source_run_id=source_run_id,
                source_step=source_step,
                publish_at=publish_at,
                revision={
                    "body": body,
                    "hashtags": list(hashtags),
                    "media": list(media),
                    "author": author,
                    "note": note,
                },
            )
            return self._load(conn, draft_id)

    # -- changing (compare-and-set on version) ------------------------------------------

    def _set(self, conn: Connection, draft: Draft, **values: Any) -> None:
        if not self.store.swap(conn, draft, **values):
            now = self._load(conn, draft.id)
            raise DecisionRefused(self._taken(now))

    @staticmethod
    def _taken(draft: Draft) -> str:
        if draft.status in ("approved", "scheduled", "published") and draft.approved_by:
            return f"draft {draft.id} was already approved by {draft.approved_by}"
        if draft.status in ("rejected", "failed"):
            return f"draft {draft.id} was already {draft.status}"
        return f"draft {draft.id} changed meanwhile (now revision {draft.revision}); reload it"

    def _checked(self, conn: Connection, draft_id: str, expected_version: int | None) -> Draft:
        draft = self._load(conn, draft_id)
        if expected_version is not None and draft.version != expected_version:
            raise DecisionRefused(self._taken(draft))
        return draft

    def _comment(self, conn: Connection, draft_id: str, author: str, body: str) -> None:
        self.store.comment(conn, draft_id, author, body)

    def _wake(self, conn: Connection, draft: Draft) -> None:
        if self.wake is not None and draft.source_run_id:
            self.wake(conn, draft.source_run_id)

    def submit(self, draft_id: str, *, person: str) -> Draft:
        """``draft → in_review``."""
        with self.db.write() as conn:
            draft = self._load(conn, draft_id)
            if draft.status != "draft":
                raise DecisionRefused(f"draft {draft_id} is {draft.status}, not draft")
            self._set(conn, draft, status="in_review")
            return self._load(conn, draft_id)

    def edit(
        self,
        draft_id: str,
        *,
        person: str,
        body: str | None = None,
        hashtags: Sequence[str] | None = None,
        media: Sequence[Any] | None = None,
        account: str | None = None,
        publish_at: datetime | None = None,
        note: str | None = None,
        expected_version: int | None = None,
    ) -> Draft:
        """A new revision by ``person`` (the old one is kept).

        An approved draft stays approved but its fingerprint no longer
        matches, so it cannot be published until approved again.
        """
        with self.db.write() as conn:
            draft = self._checked(conn, draft_id, expected_version)
            return self._revise(
                conn,
                draft,
                person=person,
                body=body,
                hashtags=hashtags,
                media=media,
                account=account,
                publish_at=publish_at,
                note=note,
            )

    def _revise(
        self,
        conn: Connection,
        draft: Draft,
        *,
        person: str,
        body: str | None = None,
        hashtags: Sequence[str] | None = None,
        media: Sequence[Any] | None = None,
        account: str | None = None,
        publish_at: datetime | None = None,
        note: str | None = None,
        status: str | None = None,
    ) -> Draft:
        if draft.status not in EDITABLE:
            raise DecisionRefused(f"draft {draft.id} is {draft.status}; it can no longer change")
        changed = []
        new_body = draft.body if body is None else body
        new_tags = draft.hashtags if hashtags is None else list(hashtags)
        new_media = draft.media if media is None else list(media)
        if new_body != draft.body:
            changed.append("body")
        if new_tags != draft.hashtags:
            changed.append("hashtags")
        if new_media != draft.media:
            changed.append("media")
        values: dict[str, Any] = {}
        if account is not None and account != draft.account:
            changed.append("account")
            values["account"] = account
        if publish_at is not None and publish_at != draft.publish_at:
            changed.append("publish time")
            values["publish_at"] = publish_at
        if not changed:
            raise InputError(f"nothing to change in draft {draft.id}")
        revision = draft.revision + 1
        what = "changed " + ", ".join(changed)
        self.store.add_revision(
            conn,
            draft.id,
            revision,
            body=new_body,
            hashtags=new_tags,
            media=new_media,
            author=person,
            note=f"{what}: {note}" if note else what,
        )
        if status is None and draft.status == "rejected":
            status = "in_review"  # a rejected draft, reworked, goes back to review
        if status is not None:
            values["status"] = status
        self._set(conn, draft, revision=revision, **values)
        return self._load(conn, draft.id)

    def comment(self, draft_id: str, *, person: str, body: str) -> Draft:
        with self.db.write() as conn:
            draft = self._load(conn, draft_id)
            self._comment(conn, draft_id, person, body)
            return draft

    def approve(
        self,
        draft_id: str,
        *,
        person: str,
        override: str | None = None,
        comment: str | None = None,
        expected_version: int | None = None,
    ) -> Draft:
        """Approve the current revision (also of an approved draft edited since);
        refused while it breaks platform rules unless ``override`` says why it
        may go out anyway."""
        with self.db.write() as conn:
            draft = self._checked(conn, draft_id, expected_version)
            if not draft.reviewable:
                raise DecisionRefused(self._taken(draft))
            problems = draft.violations
            if problems and not (override and override.strip()):
                raise DecisionRefused(
                    f"draft {draft_id} breaks {draft.platform} rules: " + "; ".join(problems),
                    hint="fix the draft (`sopbench draft edit`), or approve with "
                    "--override COMMENT saying why it may go out anyway",
                )
            now = utcnow()
            self._set(
                conn,
                draft,
                status="approved",
                approved_fingerprint=draft.fingerprint,
                approved_by=person,
                approved_at=now,
            )
            if problems and override:
                self._comment(
                    conn, draft_id, person, f"override: {override} (rules: {'; '.join(problems)})"
                )
            if comment:
                self._comment(conn, draft_id, person, comment)
            self._comment(conn, draft_id, person, f"approved revision {draft.revision}")
            self._wake(conn, draft)
            return self._load(conn, draft_id)

    def reject(
        self,
        draft_id: str,
        *,
        person: str,
        comment: str | None = None,
        expected_version: int | None = None,
    ) -> Draft:
        with self.db.write() as conn:
            draft = self._checked(conn, draft_id, expected_version)
            if not draft.reviewable:
                raise DecisionRefused(self._taken(draft))
            self._set(conn, draft, status="rejected")
            self._comment(conn, draft_id, person, f"rejected: {comment}" if comment else "rejected")
            self._wake(conn, draft)
            return self._load(conn, draft_id)

    def request_changes(
        self,
        draft_id: str,
        *,
        person: str,
        note: str,
        expected_version: int | None = None,
        reviser: Reviser | None = None,
    ) -> Draft:
        """Record the note; with a reviser (the LLM; ``reviser`` overrides the
        service's, e.g. one that streams), add its new revision.

        The LLM is asked before the transaction opens (it can take seconds);
        the new revision is then written with compare-and-set, so an edit
        made meanwhile is not lost.
        """
        if not note.strip():
            raise InputError("request changes needs a note saying what to change")
        draft = self.get(draft_id)
        if expected_version is not None and draft.version != expected_version:
            raise DecisionRefused(self._taken(draft))
        if draft.status not in EDITABLE:
            raise DecisionRefused(f"draft {draft_id} is {draft.status}; it can no longer change")
        revise = reviser or self.reviser
        new_body = revise(draft, note) if revise is not None else None
        with self.db.write() as conn:
            self._comment(conn, draft_id, person, f"changes requested: {note}")
            if new_body is None or new_body == draft.body:
                if draft.status != "in_review":
                    self._set(conn, draft, status="in_review")
                return self._load(conn, draft_id)
            return self._revise(
                conn,
                draft,
                person="llm",
                body=new_body,
                note=f"requested by {person}: {note}",
                status="in_review",
            )

    # -- publishing ---------------------------------------------------------------------

    def check_publishable(self, draft_id: str) -> Draft:
        """The draft, if it is approved and unchanged since; else :class:`DecisionRefused`
        naming who edited what after the approval."""
        draft = self.get(draft_id)
        refusal = self.refusal(draft)
        if refusal:
            raise DecisionRefused(refusal)
        return draft

    def is_publishable(self, draft: Draft) -> bool:
        return self.refusal(draft) is None

    def refusal(self, draft: Draft) -> str | None:
        """Why ``draft`` may not be published, or None."""
        if draft.status in ("scheduled", "published"):
            return None  # already out: publishing again finds the recorded post
        if draft.status != "approved" or draft.approved_fingerprint is None:
            return f"draft {draft.id} is {draft.status}, not approved; only approved drafts go out"
        if draft.fingerprint == draft.approved_fingerprint:
            return None
        history = draft.revisions or self.get(draft.id).revisions
        after = [
            r for r in history if draft.approved_at is not None and r.created_at > draft.approved_at
        ]
        edits = "; ".join(
            f"{r.author} {r.note or 'edited it'} (revision {r.revision})" for r in after
        )
        return (
            f"draft {draft.id} changed after {draft.approved_by} approved it"
            + (f": {edits}" if edits else "")
            + "; approve it again before it is published"
        )

    def mark(
        self,
        draft_id: str,
        status: str,
        *,
        post_id: str | None = None,
        note: str | None = None,
    ) -> Draft:
        """Record the outcome of publishing: scheduled, published or failed."""
        if status not in ("scheduled", "published", "failed"):
            raise InputError(
                f"a publishing outcome is scheduled, published or failed, not {status}"
            )
        with self.db.write() as conn:
            draft = self._load(conn, draft_id)
            values: dict[str, Any] = {"status": status}
            if post_id is not None:
                values["post_id"] = post_id
            self._set(conn, draft, **values)
            if note:
                self._comment(conn, draft_id, "publisher", note)
            return self._load(conn, draft_id)

    # -- for a waiting run ---------------------------------------------------------------

    def all_decided(self, draft_ids: Sequence[str]) -> bool:
        return all(d.status in DECIDED for d in self.find(ids=draft_ids))

    def decisions(self, draft_ids: Sequence[str]) -> dict[str, str]:
        return {d.id: d.status for d in self.find(ids=draft_ids)}
