"""The services the engine offers step handlers (see :class:`~sopbench.engine.call.RunServices`).

Kept apart from the run driver so each stays readable: this half is what a
handler may ask for (record an effect, open a human task, start a child
run, get an integration client), the driver is how runs move.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from sopbench.config import Secrets, Settings
from sopbench.engine.call import StepCall, idempotency_key
from sopbench.errors import ConnectionNotConfigured
from sopbench.integrations.http import mask_logs
from sopbench.library import Workspace
from sopbench.model.workspace import Connection
from sopbench.store import Database, utcnow
from sopbench.store.effects import EffectLog
from sopbench.store.run_rows import ACTIVE, jsonable
from sopbench.store.runs import RunStore
from sopbench.store.tasks import TaskRow, TaskStore, task_id_for

if TYPE_CHECKING:
    from sopbench.model.sop import SopFile

__all__ = ["ClientFactory", "HandlerServices", "workspace_secret_names"]

ClientFactory = Callable[[Any, Settings], Any]
"""Builds an integration client from a connection (or None) and the settings."""


def workspace_secret_names(workspace: Workspace) -> list[str]:
    """The secret names the workspace's connections and entity channels declare."""
    names: set[str] = set()
    if workspace.connections is not None:
        names.update(c.secret for c in workspace.connections.connections.values() if c.secret)
    if workspace.entities is not None:
        for entity in workspace.entities.entities.values():
            names.update(ch.secret for ch in entity.channels.values() if ch.secret)
    return sorted(names)


class HandlerServices:
    """Mixed into :class:`~sopbench.engine.runner.Engine`."""

    db: Database
    workspace: Workspace
    settings: Settings
    clients: dict[str, ClientFactory]
    owner: str
    runs: RunStore
    tasks: TaskStore
    effects: EffectLog
    _ready: list[str]

    def start_run(
        self,
        sop: SopFile,
        inputs: Mapping[str, Any],
        *,
        started_by: str | None = None,
        dry_run: bool = False,
        parent: tuple[str, str] | None = None,
        run_id: str | None = None,
    ) -> str:
        raise NotImplementedError  # pragma: no cover - the Engine implements it

    # -- helpers used by walks and handlers ----------------------------------

    @cached_property
    def _secrets(self) -> Secrets:
        """The settings' secrets, watching every secret the workspace names.

        So a secret is masked even in what arrives before a step of this
        process resolved it (run inputs, an event's payload, an echo), and
        in the httpx logs of calls made without an HttpService (``api_call``).
        """
        secrets = self.settings.secrets
        secrets.watch(workspace_secret_names(self.workspace))
        mask_logs(secrets)  # httpx/httpcore log URLs and response headers at INFO/DEBUG
        return secrets

    def redact(self, text: str) -> str:
        """``text`` (an error message) with every known secret value masked."""
        return self._secrets.redact(text)

    def clean(self, value: Any) -> Any:
        """JSON form of ``value`` with every known secret masked in its strings.

        The JSON form is what the database keeps (dates as ISO text, see
        :func:`jsonable`); masking then walks that data (see
        :mod:`sopbench.redaction`), so numbers, keys and dates stay intact.
        """
        return self._secrets.redact_data(jsonable(value))

    @cached_property
    def _entity_contexts(self) -> dict[str, dict[str, Any]]:
        entities = self.workspace.entities.entities if self.workspace.entities else {}
        return {
            eid: {"id": eid, **jsonable(e.model_dump(mode="json"))} for eid, e in entities.items()
        }

    def entity_context(self, entity_id: str) -> dict[str, Any]:
        return self._entity_contexts.get(entity_id, {"id": entity_id, "name": entity_id})

    def now(self) -> datetime:
        return utcnow()

    def client(self, kind: str, connection: str | None) -> Any:
        factory = self.clients.get(kind)
        conn_model = None
        if connection is not None:
            known = self.workspace.connections.connections if self.workspace.connections else {}
            conn_model = known.get(connection)
            sandboxed = self.settings.sandbox and self.settings.sandbox.connection(connection)
            if sandboxed:  # a running `sopbench sandbox` points this name at its double
                conn_model = Connection.model_validate(dict(sandboxed))
            if conn_model is None:
                raise ConnectionNotConfigured(
                    f"connection '{connection}' is not configured",
                    hint="add it to sops/connections.yaml (or run `sopbench sandbox`)",
                )
        if factory is None:
            what = (
                f"connection '{connection}' ({kind})" if connection else f"the {kind} integration"
            )
            raise ConnectionNotConfigured(
                f"{what} is not configured: no {kind} client is set up",
                hint=f"set up the {kind} integration, or run `sopbench sandbox` for local doubles",
            )
        return factory(conn_model, self.settings)

    # -- services for handlers ---------------------------------------------------

    def effect(
        self,
        call: StepCall,
        name: str,
        request: Mapping[str, Any],
        perform: Callable[[str], Mapping[str, Any]],
    ) -> dict[str, Any]:
        key = idempotency_key(call.run.id, call.path, name)
        return self.effects.once(
            call.run.id,
            call.path,
            key,
            call.attempt,
            self.clean(dict(request)),
            perform,
            clean=self.clean,
        )

    def create_task(self, call: StepCall, **fields: Any) -> str:
        task_id = task_id_for(call.run.id, call.path)
        with self.db.write() as conn:
            self.tasks.create(
                conn,
                task_id,
                run_id=call.run.id,
                step_path=call.path,
                entity=call.run.entity,
                started_by=call.run.started_by,
                **fields,
            )
            self.runs.journal(
                conn,
                "task.created",
                run_id=call.run.id,
                actor=self.owner,
                step_path=call.path,
                data={"task_id": task_id, "kind": fields.get("kind")},
            )
        return task_id

    def task(self, task_id: str) -> TaskRow:
        return self.tasks.get(task_id)

    def expire_task(self, call: StepCall, task_id: str) -> bool:
        with self.db.write() as conn:
            expired = self.tasks.expire(conn, task_id)
            if expired:
                self.runs.journal(
                    conn,
                    "task.expired",
                    run_id=call.run.id,
                    actor="timeout",
                    step_path=call.path,
                    data={"task_id": task_id},
                )
            return expired

    def start_child(self, call: StepCall, sop_id: str, inputs: Mapping[str, Any]) -> str:
        child_id = (
            "run_" + hashlib.sha256(f"{call.run.id}\x00{call.path}".encode()).hexdigest()[:26]
        )
        sop = self.workspace.sop(sop_id)
        started = self.start_run(
            sop,
            inputs,
            started_by=call.run.started_by,
            dry_run=call.run.dry_run,
            parent=(call.run.id, call.path),
            run_id=child_id,
        )
        self._ready.append(started)
        return started

    def run_summary(self, run_id: str) -> Mapping[str, Any]:
        run = self.runs.get_run(run_id)
        return {"run_id": run.id, "status": run.status, "outputs": run.outputs, "error": run.error}

    def is_active(self, run_id: str) -> bool:
        return self.runs.get_run(run_id).status in ACTIVE
