"""The values of the draft store: statuses, revisions, drafts and their fingerprints.

Kept apart from :mod:`sopbench.content.drafts` (the service that changes
drafts) so readers of a draft need none of the write logic.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sopbench.content.platforms import get_platform, violations

__all__ = [
    "DECIDED",
    "EDITABLE",
    "REVIEWABLE",
    "Draft",
    "Reviser",
    "Revision",
    "draft_id_for",
    "draft_of",
    "fingerprint",
    "published_text",
    "revision_of",
]

DECIDED = frozenset({"approved", "rejected", "scheduled", "published", "failed"})
"""Statuses in which the review is over (a waiting run may go on)."""
EDITABLE = frozenset({"draft", "in_review", "approved", "rejected"})
REVIEWABLE = frozenset({"draft", "in_review"})

Reviser = Callable[["Draft", str], str]
"""``(draft, reviewer's note) -> new body``: asks the LLM for a revision."""


def published_text(body: str, hashtags: Sequence[str]) -> str:
    """What gets posted: the body, then the hashtags."""
    return f"{body}\n\n{' '.join(hashtags)}" if hashtags else body


def fingerprint(
    body: str,
    hashtags: Sequence[str],
    media: Sequence[Any],
    account: str | None,
    publish_at: datetime | None,
) -> str:
    """sha256 over everything a reviewer approves: text, media, account and time."""
    payload = json.dumps(
        {
            "body": body,
            "hashtags": list(hashtags),
            "media": list(media),
            "account": account,
            "publish_at": publish_at.isoformat() if publish_at else None,
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def draft_id_for(key: str, platform: str) -> str:
    """A stable draft id for one platform of one generation (a retry finds the first)."""
    return "drf_" + hashlib.sha256(f"{key}\x00{platform}".encode()).hexdigest()[:26]


@dataclass(frozen=True)
class Revision:
    revision: int
    body: str
    hashtags: list[str]
    media: list[Any]
    author: str
    note: str | None
    created_at: datetime

    def as_dict(self) -> dict[str, Any]:
        return {
            "revision": self.revision,
            "body": self.body,
            "hashtags": self.hashtags,
            "media": self.media,
            "author": self.author,
            "note": self.note,
            "created_at": self.created_at.isoformat(),
        }


@dataclass(frozen=True)
class Draft:
    """A draft with its current revision (and, when loaded in full, its history)."""

    id: str
    entity: str
    platform: str
    account: str | None
    status: str
    revision: int
    version: int
    source_run_id: str | None
    source_step: str | None
    publish_at: datetime | None
    approved_fingerprint: str | None
    approved_by: str | None
    approved_at: datetime | None
    post_id: str | None
    created_at: datetime
    updated_at: datetime
    current: Revision
    revisions: list[Revision] = field(default_factory=list)
    comments: list[dict[str, Any]] = field(default_factory=list)

    @property
    def body(self) -> str:
        return self.current.body

    @property
    def hashtags(self) -> list[str]:
        return self.current.hashtags

    @property
    def media(self) -> list[Any]:
        return self.current.media

    @property
    def text(self) -> str:
        return published_text(self.body, self.hashtags)

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.body, self.hashtags, self.media, self.account, self.publish_at)

    @property
    def violations(self) -> list[str]:
        return violations(self.text, get_platform(self.platform))

    @property
    def reviewable(self) -> bool:
        """Waiting for a decision: in review, or approved and edited since (the
        approval no longer covers it, so it may be approved or rejected again)."""
        if self.status in REVIEWABLE:
            return True
        return self.status == "approved" and self.approved_fingerprint != self.fingerprint

    def as_dict(self, *, full: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "entity": self.entity,
            "platform": self.platform,
            "account": self.account,
            "status": self.status,
            "revision": self.revision,
            "version": self.version,
            "source_run_id": self.source_run_id,
            "source_step": self.source_step,
            "publish_at": self.publish_at.isoformat() if self.publish_at else None,
            "body": self.body,
            "hashtags": self.hashtags,
            "media": self.media,
            "text": self.text,
            "violations": self.violations,
            "fingerprint": self.fingerprint,
            "approved_fingerprint": self.approved_fingerprint,
            "approved_by": self.approved_by,
            "approved_at": self.approved_at.isoformat() if self.approved_at else None,
            "post_id": self.post_id,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }
        if full:
            data["revisions"] = [r.as_dict() for r in self.revisions]
            data["comments"] = [
                {**c, "created_at": c["created_at"].isoformat()} for c in self.comments
            ]
        return data


def revision_of(row: Any) -> Revision:
    return Revision(
        revision=int(row["revision"]),
        body=str(row["body"]),
        hashtags=list(row["hashtags"] or []),
        media=list(row["media"] or []),
        author=str(row["author"]),
        note=row["note"],
        created_at=row["created_at"],
    )


def draft_of(
    row: Any, current: Revision, revisions: list[Revision], comments: list[dict[str, Any]]
) -> Draft:
    """A :class:`Draft` from its ``drafts`` row and the revisions loaded with it."""
    return Draft(
        id=row["id"],
        entity=row["entity"],
        platform=row["platform"],
        account=row["account"],
        status=row["status"],
        revision=int(row["revision"]),
        version=int(row["version"]),
        source_run_id=row["source_run_id"],
        source_step=row["source_step"],
        publish_at=row["publish_at"],
        approved_fingerprint=row["approved_fingerprint"],
        approved_by=row["approved_by"],
        approved_at=row["approved_at"],
        post_id=row["post_id"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        current=current,
        revisions=revisions,
        comments=comments,
    )
