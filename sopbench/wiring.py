"""The standard engine: the built-in step handlers and service clients, put together.

The engine imports no step module and no client by name (DESIGN.md,
"Dependency direction"), so something above it has to hand it the pieces.
:func:`standard_engine` is that one place. It sits below the application
services because the debugger (:mod:`sopbench.debug`), which the services
must not be needed for, builds the very same engine as
:class:`~sopbench.services.runs.RunService` does.

Example::

    engine = standard_engine(database, load_workspace(home), settings)
    run_id = engine.start_run(workspace.sop("cs_daily_close"), {})
    engine.drive(run_id)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta

from sopbench.config import Settings
from sopbench.content.adapter import content_factory
from sopbench.content.media_adapter import media_factory
from sopbench.engine import CrashPolicy, Engine
from sopbench.engine.services import ClientFactory
from sopbench.integrations.registry import default_clients
from sopbench.library import Workspace
from sopbench.steps import builtin_handlers
from sopbench.store import Database

__all__ = ["LEASE_TTL", "standard_clients", "standard_engine"]

LEASE_TTL = timedelta(seconds=30)
"""How long a dead driver keeps its runs before another process takes them over."""


def standard_clients() -> dict[str, ClientFactory]:
    """Every built-in client factory by kind (a new dict each call).

    The integrations' HTTP clients, plus the two adapters that also need the
    database and so live in :mod:`sopbench.content`: ``media`` (media
    requests) and ``content`` (drafts).
    """
    return {**default_clients(), "media": media_factory, "content": content_factory}


def standard_engine(
    database: Database,
    workspace: Workspace,
    settings: Settings,
    *,
    clients: Mapping[str, ClientFactory] | None = None,
    hooks: Sequence[object] = (),
    lease_ttl: timedelta = LEASE_TTL,
) -> Engine:
    """An :class:`~sopbench.engine.Engine` with all built-in step types.

    ``clients`` replaces :func:`standard_clients` (tests pass doubles);
    ``hooks`` observe the run lifecycle (see :mod:`sopbench.engine.hooks`).
    """
    return Engine(
        database,
        workspace,
        settings,
        handlers=builtin_handlers(),
        clients=standard_clients() if clients is None else clients,
        hooks=hooks,
        lease_ttl=lease_ttl,
        crash_policy=CrashPolicy(
            max_crashes=settings.max_crashes, backoff=timedelta(seconds=settings.crash_backoff)
        ),
    )
