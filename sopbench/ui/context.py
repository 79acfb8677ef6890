"""What every dashboard page shares: settings, services, the request, the reviewer.

One :class:`PageContext` per page kernel. It opens the workspace and the
database once, before Voilà hands over the request (so a preheated kernel
has already paid for that), and gives pages the same services the CLI uses:
those of its :class:`~sopbench.services.session.Session`. Pages reach the
engine, the store and the content modules only through those services.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from sopbench.config import PageRequest, Settings
from sopbench.errors import SignInFailed
from sopbench.services.session import Database, Scheduler, Session, Workspace

if TYPE_CHECKING:
    from sopbench.services.calendar import CalendarService
    from sopbench.services.content import ContentService
    from sopbench.services.media import MediaDesk
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
        self.session = Session(settings, workspace=workspace, database=database)
        self.workspace: Workspace = self.session.workspace
        self.db: Database = self.session.db
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
        return self.session.person_name(person or self.person)

    # -- services (the same ones the CLI uses) ------------------------------------

    @property
    def runs(self) -> RunService:
        return self.session.runs

    @property
    def content(self) -> ContentService:
        return self.session.content

    @property
    def media(self) -> MediaDesk:
        return self.session.media

    @property
    def calendar(self) -> CalendarService:
        return self.session.calendar

    @property
    def scheduler(self) -> Scheduler:
        return self.session.scheduler

    @property
    def access(self) -> AccessService:
        return self.session.access

    def entities(self) -> dict[str, Any]:
        return self.session.entities()

    def close(self) -> None:
        self.session.close()
