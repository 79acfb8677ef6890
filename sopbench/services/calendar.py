"""The content calendar service: what is planned, due or published when.

The CLI (``sopbench calendar``) and the dashboard's Calendar page both call
:class:`CalendarService`. It adds what only the workspace knows to the pure
queries of :mod:`sopbench.content.calendar`: the SOPs' names and entities,
and the schedule triggers of SOP files that no ``tick`` has synced into the
database yet (their next fire time counts from now), and the posting slots
and monthly themes of ``entities.yaml``; and it works out each entity's best
posting windows (:mod:`sopbench.content.calendar_windows`).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

from sopbench.config import Settings
from sopbench.content.calendar import (
    KINDS,
    CalendarEntry,
    PlannedSchedule,
    SopInfo,
    calendar_entries,
)
from sopbench.content.calendar_windows import (
    HISTORY_DAYS,
    PostingWindow,
    posting_windows,
)
from sopbench.content.draft_store import DraftStore
from sopbench.errors import NotFound
from sopbench.library import Workspace, load_workspace
from sopbench.model.sop import ScheduleTrigger
from sopbench.model.workspace import CROSS_ENTITY, Entity
from sopbench.schedule_types import next_fire, trigger_id
from sopbench.store import Database, open_database, utcnow
from sopbench.suggest import did_you_mean

__all__ = ["KINDS", "CalendarEntry", "CalendarService", "PostingWindow"]


class CalendarService:
    """One workspace's calendar, over its database.

    A database passed in stays open on :meth:`close` (its owner disposes it);
    one opened here is disposed.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        workspace: Workspace | None = None,
        database: Database | None = None,
    ) -> None:
        self.settings = settings
        self.workspace = workspace or load_workspace(settings.home)
        self._owns_db = database is None
        self.db = database or open_database(settings)

    def close(self) -> None:
        if self._owns_db:
            self.db.dispose()

    def entries(
        self,
        start: datetime,
        end: datetime,
        *,
        entity: str | None = None,
        kinds: Collection[str] | None = None,
    ) -> list[CalendarEntry]:
        """Entries with ``start <= when < end`` (aware datetimes), sorted by time.

        ``entity`` must be an entity of ``entities.yaml`` (a typo is
        :class:`NotFound`, never an empty calendar); ``kinds`` a subset of
        :data:`KINDS`.
        """
        if entity is not None:
            self._check_entity(entity)
        return calendar_entries(
            self.db,
            start,
            end,
            sops=self.sops(),
            entity=entity,
            kinds=kinds,
            extra_schedules=self.unsynced_triggers(),
            entities=self._entities(),
        )

    def best_windows(self, entity: str, now: datetime | None = None) -> list[PostingWindow]:
        """``entity``'s best posting windows per platform, in its time zone.

        From its posting slots and its posts published in the
        :data:`HISTORY_DAYS` days before ``now``; empty when it has neither.
        """
        self._check_entity(entity)
        found = self._entities().get(entity)
        if found is None:  # the cross-entity group without an entry of its own
            return []
        now = now or utcnow()
        since = now - timedelta(days=HISTORY_DAYS)
        published = DraftStore(self.db).published_between(entity, since, now)
        return posting_windows(entity, found, published)

    def entity_ids(self) -> list[str]:
        """The ids of ``entities.yaml``, sorted."""
        return sorted(self._entities())

    def sops(self) -> dict[str, SopInfo]:
        return {
            sop_id: SopInfo(entity=sop.entity, name=sop.name)
            for sop_id, sop in self.workspace.sops.items()
        }

    def unsynced_triggers(self, now: datetime | None = None) -> list[PlannedSchedule]:
        """Every ``schedule`` trigger of the SOP files, as the next tick would sync it.

        The calendar uses those whose id is not in the database yet.
        """
        now = now or utcnow()
        found = []
        for sop in self.workspace.sops.values():
            for index, trigger in enumerate(sop.triggers):
                if isinstance(trigger, ScheduleTrigger):
                    spec = trigger.schedule
                    found.append(
                        PlannedSchedule(
                            id=trigger_id(sop.sop_id, index),
                            sop_id=sop.sop_id,
                            cron=spec.cron,
                            timezone=spec.timezone,
                            next_fire_at=next_fire(spec.cron, spec.timezone, now),
                        )
                    )
        return found

    def entity_zone(self, entity: str) -> str:
        """The IANA time zone of ``entity`` (``NotFound`` for an unknown one)."""
        self._check_entity(entity)
        found = self.workspace.entities
        known = found.entities if found else {}
        return known[entity].timezone if entity in known else "UTC"

    def zones(self) -> set[str]:
        """The time zones of all entities."""
        found = self.workspace.entities
        return {e.timezone for e in found.entities.values()} if found else set()

    def _entities(self) -> dict[str, Entity]:
        found = self.workspace.entities
        return dict(found.entities) if found else {}

    def _check_entity(self, entity: str) -> None:
        found = self.workspace.entities
        known = found.entities if found else {}
        if entity not in known and entity != CROSS_ENTITY:
            hint = did_you_mean(entity, known).strip(" ()") or "see sops/entities.yaml"
            raise NotFound(f"no entity '{entity}'", hint=hint)
