"""The ``media`` client of the ``media_request`` step, wired to the workspace's connections.

:func:`media_factory` is the engine's client factory for ``media``; it
builds a :class:`MediaAdapter`, which opens the state database per call and
drives a :class:`~sopbench.content.media.MediaService` whose Canva and video
clients come from :func:`connection_for` (a running sandbox first, then the
step's own connection, then ``sops/connections.yaml``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import yaml

from sopbench.config import Settings
from sopbench.content.media import MediaService
from sopbench.errors import ConnectionNotConfigured, InputError
from sopbench.integrations.canva import CanvaClient
from sopbench.integrations.video import video_factory
from sopbench.model.workspace import Connection, ConnectionsFile
from sopbench.store import Database, open_database

__all__ = ["MediaAdapter", "connection_for", "media_factory", "service_for"]


def _workspace_connections(settings: Settings) -> dict[str, Connection]:
    path = settings.sops_dir / "connections.yaml"
    if not path.is_file():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return dict(ConnectionsFile.model_validate(data).connections)
    except (OSError, ValueError, yaml.YAMLError):
        return {}  # `sopbench validate` reports a broken connections.yaml


def connection_for(
    type_: str, settings: Settings, preferred: Connection | None = None
) -> Connection | None:
    """The connection of ``type_`` media requests use.

    A running sandbox wins; then the step's own connection (when it has that
    type); then the first ``type_`` connection of ``sops/connections.yaml``.
    """
    if settings.sandbox is not None:
        fields = settings.sandbox.connection_of_type(type_)
        if fields is not None:
            return Connection.model_validate(dict(fields))
    if preferred is not None and preferred.type == type_:
        return preferred
    return next((c for c in _workspace_connections(settings).values() if c.type == type_), None)


def service_for(
    settings: Settings, db: Database, connection: Connection | None = None
) -> MediaService:
    """A :class:`MediaService` wired to the workspace's canva and video connections."""
    canva_conn = connection_for("canva", settings, connection)
    video_conn = connection_for("video", settings, connection)
    return MediaService(
        db,
        settings,
        canva=(lambda: CanvaClient.from_connection(canva_conn, settings)) if canva_conn else None,
        video=(lambda: video_factory(video_conn, settings)) if video_conn else None,
        canva_options=canva_conn.options if canva_conn else None,
    )


class MediaAdapter:
    """The ``media`` client of the ``media_request`` step."""

    def __init__(self, settings: Settings, connection: Connection | None = None) -> None:
        if connection is not None and connection.type not in ("canva", "video"):
            raise ConnectionNotConfigured(
                f"a media request needs a canva or video connection, not {connection.type}"
            )
        self.settings = settings
        self.connection = connection

    @contextmanager
    def _service(self) -> Iterator[MediaService]:
        db = open_database(self.settings)
        try:
            yield service_for(self.settings, db, self.connection)
        finally:
            db.dispose()

    def request(
        self,
        entity: str,
        prompt_id: str,
        overrides: Mapping[str, Any],
        *,
        run_id: str,
        idempotency_key: str,
    ) -> dict[str, Any]:
        """Create (approved: the step's approvers decided) and start the job."""
        if not isinstance(overrides, Mapping):
            raise InputError("media overrides must be a mapping")
        with self._service() as media:
            view = media.request(
                entity,
                prompt_id,
                overrides,
                requested_by=f"run:{run_id}",
                run_id=run_id,
                idempotency_key=idempotency_key,
                approved=True,
            )
        return {"request_id": view.id, "status": view.status, "cost_class": view.cost_class}

    def status(self, request_id: str) -> dict[str, Any]:
        """Poll once; ``asset`` is set when done, ``status`` ``failed`` with ``error``."""
        with self._service() as media:
            view = media.poll(request_id)
        return {
            "status": view.status,
            "asset": view.asset if view.status == "succeeded" else None,
            "error": view.error,
        }


def media_factory(connection: Connection | None, settings: Settings) -> MediaAdapter:
    """The registry factory for ``media``."""
    return MediaAdapter(settings, connection)
