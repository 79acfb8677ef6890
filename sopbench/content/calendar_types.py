"""Values of the content calendar: its entries, the kinds, and the range asked for.

Kept apart from the queries (:mod:`sopbench.content.calendar`) so that the
dashboard and the CLI can format entries without importing any SQL.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = ["KINDS", "CalendarEntry", "SopInfo", "Window", "short_title"]

KINDS = ("post", "draft", "schedule", "delay", "approval_due", "media", "slot", "theme")
"""Every kind of calendar entry, in the order entries at the same time are listed.

New kinds are appended, so the index of an existing kind never changes."""


@dataclass(frozen=True)
class CalendarEntry:
    """One thing at one time: a post, a draft, a schedule fire, a delay, a due task, media,
    a posting slot or a monthly theme.

    ``when`` is an aware UTC datetime. ``ref_id`` is the id of the draft, task,
    schedule or media request the entry is about (None for a delay: its run is
    ``run_id``; for a slot, the draft that fills it, if any; None for a theme).
    """

    when: datetime
    kind: str
    entity: str | None
    sop_id: str | None
    run_id: str | None
    ref_id: str | None
    title: str
    status: str
    platform: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "when": self.when.isoformat(),
            "kind": self.kind,
            "entity": self.entity,
            "sop_id": self.sop_id,
            "run_id": self.run_id,
            "ref_id": self.ref_id,
            "title": self.title,
            "status": self.status,
            "platform": self.platform,
        }


@dataclass(frozen=True)
class SopInfo:
    """What the calendar needs to know of a SOP: its entity and display name."""

    entity: str
    name: str


@dataclass(frozen=True)
class Window:
    """The half-open range ``[start, end)`` (UTC) and the entity asked for."""

    start: datetime
    end: datetime
    entity: str | None = None
    sops: Mapping[str, SopInfo] = field(default_factory=dict)

    def holds(self, when: datetime) -> bool:
        return self.start <= when < self.end

    def wants_sop(self, sop_id: str) -> bool:
        """Whether a SOP's entries pass the entity filter (unknown SOPs only without one)."""
        if self.entity is None:
            return True
        info = self.sops.get(sop_id)
        return info is not None and info.entity == self.entity

    def sop_name(self, sop_id: str) -> str:
        info = self.sops.get(sop_id)
        return info.name if info else sop_id


def short_title(text: str, width: int = 80) -> str:
    """The first non-empty line of ``text``, cut to ``width`` characters."""
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    return line if len(line) <= width else line[: width - 1] + "…"
