"""What every dashboard page shares: settings, services, the request, the reviewer.

One :class:`PageContext` per page kernel. It opens the workspace and the
database once, before Voilà hands over the request (so a preheated kernel
has already paid for that), and gives pages the same services the CLI uses.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from sopbench.config import PageRequest, Settings
from sopbench.errors import SignInFailed
from sopbench.library import Workspace, load_workspace
from sopbench.store import Database, open_database

if TYPE_CHECKING:
    from sopbench.content.media import MediaService
    from sopbench.scheduler import Scheduler
    from sopbench.services.calendar import CalendarService
    from sopbench.services.content import ContentService
    from sopbench.services.runs import RunService
    from sopbench.services.users import AccessService

__all__ = ["PageContext"]


class PageContext:
    """Settings, services and the signed-in reviewer of one page."""

    def __init__(
        self,
        settings: Settings,
        *,
        request: PageRequest | None = None,
        workspace: Workspace | None = None,
        database: Database | None = None,
    ) -> None:
        self.settings = settings
        self.request = request or PageRequest()
        self.workspace = workspace or load_workspace(settings.home)
        self.db = database or open_database(settings)
        self.person: str | None = None

    # -- request ------------------------------------------------------------------

    def param(self, name: str) -> str | None:
        value = self.request.query.get(name)
        return value.strip() if value and value.strip() else None

    def link(self, page: str, **params: object) -> str:
        """A link to another page (relative: pages share one folder)."""
        query = urlencode({k: v for k, v in params.items() if v is not None})
        return f"{page}.ipynb" + (f"?{query}" if query else "")

    @property
    def sandbox(self) -> bool:
        return self.settings.sandbox is not None

    def require_person(self) -> str:
        if self.person is None:
            raise SignInFailed("sign in first", hint="choose your name and enter your access code")
        return self.person

    def person_name(self, person: str | None = None) -> str:
        pid = person or self.person
        roster = self.workspace.people
        if pid and roster and pid in roster.people:
            return roster.people[pid].name
        return pid or "nobody"

    # -- services (the same ones the CLI uses) ------------------------------------

    @cached_property
    def runs(self) -> RunService:
        from sopbench.services.runs import RunService

        return RunService(self.settings, workspace=self.workspace, database=self.db)

    @cached_property
    def content(self) -> ContentService:
        from sopbench.services.content import ContentService

        return ContentService(self.settings, runs=self.runs)

    @cached_property
    def media(self) -> MediaService:
        from sopbench.content.media_adapter import service_for

        return service_for(self.settings, self.db)

    @cached_property
    def calendar(self) -> CalendarService:
        from sopbench.services.calendar import CalendarService

        return CalendarService(self.settings, workspace=self.workspace, database=self.db)

    @cached_property
    def scheduler(self) -> Scheduler:
        from sopbench.scheduler import Scheduler

        return Scheduler(self.runs)

    @cached_property
    def access(self) -> AccessService:
        from sopbench.services.users import AccessService

        return AccessService(self.settings, workspace=self.workspace, database=self.db)

    def entities(self) -> dict[str, Any]:
        return dict(self.workspace.entities.entities) if self.workspace.entities else {}

    def close(self) -> None:
        self.db.dispose()
