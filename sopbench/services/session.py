"""One workspace and its database, opened once, with every service over them.

The dashboard's :class:`~sopbench.ui.context.PageContext` holds one
:class:`Session` per page kernel: it loads the SOPs and connects once, and
each service (runs, content, media, calendar, schedules, access) is built on
first use over that same workspace and database. The service modules are
imported on first use too, so a page kernel imports only what its page needs.

The scheduler and the report writer sit below this layer and do not know
:class:`~sopbench.services.runs.RunService`; :func:`scheduler_for` is where
the two are put together, for the dashboard and for ``sopbench tick`` alike
(:func:`open_scheduler`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import TYPE_CHECKING

from sopbench.config import Settings
from sopbench.library import Workspace, load_workspace
from sopbench.model.workspace import Entity
from sopbench.schedule_types import ScheduleView, TickResult
from sopbench.scheduler import Scheduler
from sopbench.store import Database, open_database

if TYPE_CHECKING:
    from sopbench.services.calendar import CalendarService
    from sopbench.services.content import ContentService
    from sopbench.services.media import MediaDesk
    from sopbench.services.runs import RunService
    from sopbench.services.users import AccessService

__all__ = [
    "Database",
    "ScheduleView",
    "Scheduler",
    "Session",
    "TickResult",
    "Workspace",
    "open_scheduler",
    "scheduler_for",
]


def scheduler_for(runs: RunService, *, reports: bool = False) -> Scheduler:
    """The scheduler over ``runs``; with ``reports``, ticks write each finished
    run's report notebook (:class:`~sopbench.reports.ReportWriter`)."""
    reporter = None
    if reports:
        from sopbench.reports import ReportWriter  # papermill and nbclient: only when used

        reporter = ReportWriter(runs.settings, runs).write_many
    return Scheduler(runs, reporter=reporter)


@contextmanager
def open_scheduler(settings: Settings, *, reports: bool = False) -> Iterator[Scheduler]:
    """A scheduler over its own run services, closed (database disposed) on exit."""
    from sopbench.services.runs import RunService

    runs = RunService(settings)
    try:
        yield scheduler_for(runs, reports=reports)
    finally:
        runs.close()


class Session:
    """The settings, workspace and database of one face, and its services.

    A ``workspace`` or ``database`` passed in is used as is (tests and
    benchmarks share theirs); :meth:`close` disposes of the database either way,
    as the page kernel that holds the session ends with it.
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
        self.db = database or open_database(settings)

    @cached_property
    def runs(self) -> RunService:
        from sopbench.services.runs import RunService

        return RunService(self.settings, workspace=self.workspace, database=self.db)

    @cached_property
    def content(self) -> ContentService:
        from sopbench.services.content import ContentService

        return ContentService(self.settings, runs=self.runs)

    @cached_property
    def media(self) -> MediaDesk:
        from sopbench.services.media import MediaDesk

        return MediaDesk(self.settings, workspace=self.workspace, database=self.db)

    @cached_property
    def calendar(self) -> CalendarService:
        from sopbench.services.calendar import CalendarService

        return CalendarService(self.settings, workspace=self.workspace, database=self.db)

    @cached_property
    def scheduler(self) -> Scheduler:
        return scheduler_for(self.runs)

    @cached_property
    def access(self) -> AccessService:
        from sopbench.services.users import AccessService

        return AccessService(self.settings, workspace=self.workspace, database=self.db)

    def entities(self) -> dict[str, Entity]:
        """The entities of ``entities.yaml`` by id (empty when the file is missing)."""
        return dict(self.workspace.entities.entities) if self.workspace.entities else {}

    def person_name(self, person: str | None) -> str:
        """The display name of a person of ``people.yaml`` (the id when unknown)."""
        roster = self.workspace.people
        if person and roster and person in roster.people:
            return roster.people[person].name
        return person or "nobody"

    def close(self) -> None:
        self.db.dispose()
