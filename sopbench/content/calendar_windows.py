"""Best posting windows: per platform, the local weekday hours an entity should post in.

Two sources, both read in the entity's own time zone (so a window is
wall-clock time there, the same in summer and winter):

* its weekly posting slots (``entities.yaml``), the plan;
* its published posts of the last :data:`HISTORY_DAYS` days, the track
  record. sopbench does not store engagement numbers (likes, clicks), so a
  post counts by its publish time alone: every published post weighs 1,
  as does every slot.

Each slot or post is a point (weekday, local minute) that opens a window of
:data:`MARGIN` either side, cut to its day; overlapping windows of one
platform and weekday merge, adding up their slots and posts. A window made of
posts alone needs at least :data:`MIN_POSTS` of them (one post is a one-off,
not a habit). The best :data:`PER_PLATFORM` windows of each platform are
kept, highest score first (score = slots + posts; ties: earlier in the week).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sopbench.cron import load_zone
from sopbench.model.workspace import Entity

__all__ = [
    "DAYS",
    "HISTORY_DAYS",
    "MARGIN",
    "MIN_POSTS",
    "PER_PLATFORM",
    "PostingWindow",
    "posting_windows",
]

DAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
HISTORY_DAYS = 90
MARGIN = timedelta(hours=1)
MIN_POSTS = 2
PER_PLATFORM = 3
_DAY_MINUTES = 24 * 60


@dataclass(frozen=True)
class PostingWindow:
    """A local weekday time range ``[start, end)`` (``HH:MM``; ``24:00`` is the day's end)."""

    entity: str
    platform: str
    day: str
    start: str
    end: str
    timezone: str
    slots: int
    posts: int
    rank: int

    @property
    def score(self) -> int:
        return self.slots + self.posts

    @property
    def basis(self) -> str:
        """What the window rests on: ``slots``, ``posts`` or ``slots+posts``."""
        return "+".join(name for name, n in (("slots", self.slots), ("posts", self.posts)) if n)

    def label(self) -> str:
        return f"{self.day} {self.start}-{self.end} {self.timezone}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "entity": self.entity,
            "platform": self.platform,
            "rank": self.rank,
            "day": self.day,
            "start": self.start,
            "end": self.end,
            "timezone": self.timezone,
            "slots": self.slots,
            "posts": self.posts,
            "score": self.score,
            "basis": self.basis,
        }


@dataclass
class _Span:
    start: int
    end: int
    slots: int = 0
    posts: int = 0


def posting_windows(
    entity_id: str,
    entity: Entity,
    published: Iterable[tuple[str, datetime]] = (),
    *,
    per_platform: int = PER_PLATFORM,
) -> list[PostingWindow]:
    """The best windows of each platform, by platform then rank.

    ``published`` holds (platform, aware publish time) of published posts.
    """
    zone = load_zone(entity.timezone)
    points: dict[tuple[str, int], list[tuple[int, str]]] = defaultdict(list)
    for slot in entity.posting_slots:
        hour, minute = (int(part) for part in slot.time.split(":"))
        points[(slot.platform.lower(), DAYS.index(slot.day))].append((hour * 60 + minute, "slot"))
    for platform, when in published:
        local = when.astimezone(zone)
        points[(platform.lower(), local.weekday())].append((local.hour * 60 + local.minute, "post"))
    ranked: dict[str, list[tuple[int, _Span]]] = defaultdict(list)
    for (platform, day), found in points.items():
        ranked[platform] += [(day, span) for span in _merge(found) if _counts(span)]
    windows: list[PostingWindow] = []
    for platform in sorted(ranked):
        best = sorted(
            ranked[platform], key=lambda ds: (-ds[1].slots - ds[1].posts, ds[0], ds[1].start)
        )
        for rank, (day, span) in enumerate(best[:per_platform], start=1):
            windows.append(
                PostingWindow(
                    entity=entity_id,
                    platform=platform,
                    day=DAYS[day],
                    start=_clock(span.start),
                    end=_clock(span.end),
                    timezone=entity.timezone,
                    slots=span.slots,
                    posts=span.posts,
                    rank=rank,
                )
            )
    return windows


def _merge(points: Sequence[tuple[int, str]]) -> list[_Span]:
    margin = int(MARGIN.total_seconds() // 60)
    spans: list[_Span] = []
    for minute, source in sorted(points):
        start, end = max(0, minute - margin), min(_DAY_MINUTES, minute + margin)
        if spans and start <= spans[-1].end:
            spans[-1].end = max(spans[-1].end, end)
        else:
            spans.append(_Span(start, end))
        if source == "slot":
            spans[-1].slots += 1
        else:
            spans[-1].posts += 1
    return spans


def _counts(span: _Span) -> bool:
    return span.slots > 0 or span.posts >= MIN_POSTS


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"
