"""The run engine: start runs, drive them to their next wait or end, recover them.

A run is driven by whoever holds its lease (30 s by default, renewed at
every step commit and by a keeper thread while an outside call runs). The
process that starts a run or decides one of its tasks drives it on the
spot; workers drive the rest: runs left ready (``pending``), runs whose
delay or deadline has come (``waiting`` with ``wake_at`` due) and runs whose
holder died (lease expired).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
import threading
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection

from sopbench.config import Settings
from sopbench.engine.crashes import CrashPolicy, CrashRecorder, database_unavailable
from sopbench.engine.definitions import sop_from_definition
from sopbench.engine.handlers import HandlerRegistry, Wait
from sopbench.engine.hooks import HookCaller
from sopbench.engine.services import ClientFactory, HandlerServices
from sopbench.engine.walker import RunFailed, Suspended, Walk
from sopbench.errors import (
    ConcurrencyLimited,
    ExpressionError,
    SopbenchError,
)
from sopbench.expressions import render_value
from sopbench.library import Workspace
from sopbench.model.inputs import coerce_inputs
from sopbench.model.sop import SopFile, StepSpec
from sopbench.store import Database, new_id, utcnow
from sopbench.store.effects import EffectLog
from sopbench.store.run_rows import ACTIVE, RunRow, StepRow, jsonable
from sopbench.store.runs import RunStore
from sopbench.store.tasks import TaskStore

logger = logging.getLogger(__name__)

__all__ = ["ClientFactory", "CrashPolicy", "Engine", "LeaseLost"]


class LeaseLost(SopbenchError):
    """Another process took over this run; this one stops driving it."""


def _owner_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{new_id('w')[-8:]}"


class Engine(HandlerServices):
    """Runs SOPs durably over one database and one workspace."""

    def __init__(
        self,
        database: Database,
        workspace: Workspace,
        settings: Settings,
        *,
        handlers: HandlerRegistry,
        clients: Mapping[str, ClientFactory] | None = None,
        lease_ttl: timedelta = timedelta(seconds=30),
        owner: str | None = None,
        hooks: Sequence[object] = (),
        crash_policy: CrashPolicy | None = None,
    ) -> None:
        self.db = database
        self.workspace = workspace
        self.settings = settings
        self.handlers = handlers
        self.clients = dict(clients or {})
        self.lease_ttl = lease_ttl
        self.owner = owner or _owner_id()
        self.runs = RunStore(database)
        self.tasks = TaskStore(database)
        self.effects = EffectLog(database)
        self._ready: list[str] = []
        self.hook = HookCaller(hooks)
        self.crashes = CrashRecorder(
            database, self.runs, self.tasks, crash_policy or CrashPolicy(), owner=self.owner
        )

    # -- starting runs ---------------------------------------------------------

    def start_run(
        self,
        sop: SopFile,
        inputs: Mapping[str, Any],
        *,
        started_by: str | None = None,
        dry_run: bool = False,
        parent: tuple[str, str] | None = None,
        run_id: str | None = None,
        conn: Connection | None = None,
    ) -> str:
        """Validate inputs and record a new ``pending`` run; nothing runs yet.

        With ``conn`` the run is recorded inside the caller's write
        transaction (the scheduler inserts its fire record in the same one).
        """
        values = jsonable(coerce_inputs(sop.inputs, inputs))
        definition = self._definition(sop)
        sop_hash = hashlib.sha256(json.dumps(definition, sort_keys=True).encode()).hexdigest()
        if conn is not None:
            return self._record_run(
                conn, sop, values, definition, sop_hash, started_by, dry_run, parent, run_id
            )
        with self.db.write() as own:
            return self._record_run(
                own, sop, values, definition, sop_hash, started_by, dry_run, parent, run_id
            )

    def _record_run(
        self,
        conn: Connection,
        sop: SopFile,
        values: Any,
        definition: dict[str, Any],
        sop_hash: str,
        started_by: str | None,
        dry_run: bool,
        parent: tuple[str, str] | None,
        run_id: str | None,
    ) -> str:
        if run_id is not None and self._exists(conn, run_id):
            return run_id
        limit = sop.concurrency
        if limit is not None and limit.policy == "skip" and not dry_run:
            if self.runs.count_active(conn, sop.sop_id, queued=True) >= limit.limit:
                raise ConcurrencyLimited(
                    f"SOP {sop.sop_id} already has {limit.limit} active run(s); "
                    "its concurrency policy skips new ones",
                    sop_id=sop.sop_id,
                )
        inputs = self.clean(values)  # a secret pasted into an input is kept masked too
        new = self.runs.create_run(
            conn,
            id=run_id,
            sop_id=sop.sop_id,
            entity=sop.entity,
            status="pending",
            dry_run=dry_run,
            inputs=inputs,
            vars={},
            outputs={},
            definition=definition,
            sop_hash=sop_hash,
            started_by=started_by,
            parent_run_id=parent[0] if parent else None,
            parent_step_path=parent[1] if parent else None,
        )
        self.runs.journal(
            conn,
            "run.created",
            run_id=new,
            actor=started_by or "system",
            data={"sop_id": sop.sop_id, "inputs": inputs, "dry_run": dry_run},
        )
        return new

    def _exists(self, conn: Any, run_id: str) -> bool:
        try:
            self.runs.get_run(run_id, conn)
        except SopbenchError:
            return False
        return True

    def _definition(self, sop: SopFile) -> dict[str, Any]:
        doc = self.workspace.documents.get(sop.path)
        raw = doc.data if doc is not None else sop.model_dump(mode="json", by_alias=True)
        return dict(jsonable(raw))

    # -- driving ---------------------------------------------------------------

    def drive(self, run_id: str) -> str:
        """Move the run until it waits or ends (then runs it made ready); its status."""
        return self._drive_from(run_id)[1]

    def drive_if_free(self, run_id: str) -> str | None:
        """Like :meth:`drive` when this process can claim the run now; else ``None``.

        ``None`` means nothing was done: another driver holds the run, or it
        cannot move (finished, or waiting for a person). Workers use it to
        report only the runs they really moved.
        """
        claimed, status = self._drive_from(run_id)
        return status if claimed else None

    def _drive_from(self, run_id: str) -> tuple[bool, str]:
        self._ready.append(run_id)
        claimed: bool | None = None
        status = ""
        while self._ready:
            current = self._ready.pop(0)
            result = self._drive_one(current)
            if current == run_id:
                if claimed is None:
                    claimed = result is not None
                status = result or ""
        return bool(claimed), status or self.runs.get_run(run_id).status

    def _drive_one(self, run_id: str) -> str | None:
        """Drive one run to its next wait or end; ``None`` when it could not be claimed.

        Nothing raised while driving escapes (see :mod:`sopbench.engine.crashes`):
        the run is recorded as crashed and the caller goes on with other runs.
        """
        walk: Walk | None = None
        try:
            claimed = self._claim_to_drive(run_id)
            if not isinstance(claimed, tuple):
                return claimed
            run, sop, states = claimed
            self.hook("on_run_start", run_id=run_id, sop_id=run.sop_id)
            walk = Walk(self, run, states)
            return self._walk(walk, sop)
        except Exception as exc:
            outcome = self.crashes.record(
                run_id,
                exc,
                step_path=walk.current if walk is not None else None,
                redact=self.redact,
            )
            if outcome is None:
                return None
            status, parent = outcome
            if parent is not None:
                self._ready.append(parent)
            return status

    def _claim_to_drive(
        self, run_id: str
    ) -> tuple[RunRow, SopFile, dict[str, StepRow]] | str | None:
        """Claim, check the concurrency slot, mark running and read the state in one
        transaction: the run's state to walk, or what to answer instead."""
        with self.db.write() as conn:
            if not self.runs.claim(conn, run_id, self.owner, self.lease_ttl):
                return None
            run = self.runs.get_run(run_id, conn)
            sop = sop_from_definition(run.definition, run.sop_hash)
            if run.status == "pending" and not self._slot_free(run, sop, conn):
                self.runs.release(conn, run_id, self.owner)
                return "pending"
            # Only while the run is still active and ours: a cancel that came
            # between the claim and here must not be undone.
            if not self.runs.mark_running(conn, run_id, self.owner):
                return None
            self.runs.journal(conn, "run.running", run_id=run_id, actor=self.owner)
            return run, sop, self.runs.steps_of(run_id, conn)

    def _walk(self, walk: Walk, sop: SopFile) -> str:
        try:
            walk.block(sop.steps, "", {})
        except Suspended:
            return "waiting"
        except RunFailed as failure:
            self._finish(walk, "failed", error=self.redact(str(failure)), step=failure.step_path)
            return "failed"
        except LeaseLost:
            logger.warning("run %s: another driver took it over; this one stops", walk.run.id)
            return "lost"
        outputs, error = self._outputs(walk, sop)
        self._finish(walk, "failed" if error else "succeeded", outputs=outputs, error=error)
        return "failed" if error else "succeeded"

    def _slot_free(self, run: RunRow, sop: SopFile, conn: Connection) -> bool:
        """Whether the SOP's concurrency limit lets this run start now.

        Checked inside the claiming transaction. SQLite serialises writers;
        on PostgreSQL a transaction-scoped advisory lock per SOP makes two
        workers starting runs of the same SOP count one after the other.
        """
        if sop.concurrency is None or run.dry_run:
            return True
        self.runs.lock_sop(conn, run.sop_id)
        return self.runs.count_active(conn, run.sop_id, exclude=run.id) < sop.concurrency.limit

    def _outputs(self, walk: Walk, sop: SopFile) -> tuple[dict[str, Any], str | None]:
        try:
            return self.clean(render_value(dict(sop.outputs), walk.context({}))), None
        except ExpressionError as exc:
            return {}, f"outputs: {exc.message}"

    def _finish(
        self,
        walk: Walk,
        status: str,
        *,
        outputs: Any = None,
        error: str | None = None,
        step: str | None = None,
    ) -> None:
        run = walk.run
        with self.db.write() as conn:
            if not self.runs.settle(
                conn,
                run.id,
                self.owner,
                status=status,
                error=error,
                error_step=step,
                outputs=outputs or {},
                vars=self.clean(walk.vars),
                finished_at=utcnow(),
                wake_at=None,
            ):
                return
            self.runs.journal(
                conn,
                f"run.{status}",
                run_id=run.id,
                actor=self.owner,
                step_path=step,
                data={"error": error, "outputs": outputs or {}},
            )
            if run.parent_run_id and self.runs.wake(conn, run.parent_run_id):
                self._ready.append(run.parent_run_id)
        logger.info(
            "run %s (%s) %s%s",
            run.id,
            run.sop_id,
            status,
            f": {error}" if error else "",
            extra={"run_id": run.id, "sop_id": run.sop_id, "step_id": step},
        )
        self.hook("on_run_end", run_id=run.id, status=status)

    # -- persistence called by the walk ----------------------------------------

    def save_step(
        self,
        walk: Walk,
        path: str,
        step: StepSpec,
        *,
        new: bool,
        status: str,
        seq: int,
        rendered: Any = None,
        result: Any = None,
        error: str | None = None,
        attempt: int = 1,
        finished: bool = False,
        vars_changed: bool = False,
    ) -> StepRow:
        now = utcnow()
        values: dict[str, Any] = {
            "status": status,
            "attempt": attempt,
            "result": self.clean(result),
            "error": error,
            "finished_at": now if finished else None,
        }
        if rendered is not None:
            values["rendered"] = self.clean(rendered)
        if new:
            values.update(step_id=step.id, type=step.type, seq=seq, started_at=now)
        run_id, events = walk.run.id, []
        if new:
            events.append(
                self.runs.event(
                    "step.started",
                    run_id=run_id,
                    actor=self.owner,
                    step_path=path,
                    data={"type": step.type, "attempt": attempt},
                    clean=True,
                )
            )
        if status != "running":
            data = {"with": values.get("rendered"), "result": values["result"], "error": error}
            events.append(
                self.runs.event(
                    f"step.{status}",
                    run_id=run_id,
                    actor=self.owner,
                    step_path=path,
                    data=data,
                    clean=True,
                )
            )
        new_vars = self.clean(walk.vars) if vars_changed else None
        # One transaction, three statements: lease (+ vars), step state, journal.
        with self.db.write() as conn:
            if not self.runs.renew(conn, run_id, self.owner, self.lease_ttl, vars=new_vars):
                raise LeaseLost(f"lost the lease of run {run_id}", run_id=run_id)
            self.runs.put_step(conn, run_id, path, new=new, **values)
            self.runs.journal_rows(conn, events)
        old = walk.states.get(path)
        return StepRow(
            path=path,
            step_id=step.id,
            type=step.type,
            status=status,
            attempt=attempt,
            seq=old.seq if old else seq,
            rendered=values.get("rendered", old.rendered if old else None),
            result=values["result"],
            error=error,
            started_at=old.started_at if old else now,
            finished_at=values["finished_at"],
        )

    def mark_waiting(self, walk: Walk, path: str, outcome: Wait) -> None:
        """The run waits: release the lease and say until when a worker should look."""
        with self.db.write() as conn:
            if not self.runs.park(
                conn,
                walk.run.id,
                self.owner,
                kind=outcome.kind,
                wake_at=outcome.wake_at,
                vars=self.clean(walk.vars),
            ):
                raise LeaseLost(
                    f"run {walk.run.id} was taken over or cancelled", run_id=walk.run.id
                )
            self.runs.journal(
                conn,
                "run.waiting",
                run_id=walk.run.id,
                actor=self.owner,
                step_path=path,
                data={"kind": outcome.kind, "wake_at": outcome.wake_at},
            )

    def cancel(self, run_id: str, *, actor: str, reason: str = "cancelled") -> list[str]:
        """Cancel the run, its open tasks and its active children; the ids cancelled."""
        cancelled: list[str] = []
        pending = [run_id]
        while pending:
            current = pending.pop()
            with self.db.write() as conn:
                if not self.runs.set_status_if(
                    conn,
                    current,
                    ACTIVE,
                    status="cancelled",
                    error=reason,
                    finished_at=utcnow(),
                    lease_owner=None,
                    lease_expires_at=None,
                    wake_at=None,
                ):
                    continue
                self.tasks.cancel_open(conn, current)
                self.runs.journal(
                    conn, "run.cancelled", run_id=current, actor=actor, data={"reason": reason}
                )
                pending.extend(self.runs.active_children(conn, current))
                # A parent waiting on this run learns of it now (a worker resumes it).
                parent = self.runs.get_run(current, conn).parent_run_id
                if parent is not None:
                    self.runs.wake(conn, parent)
            cancelled.append(current)
        return cancelled

    def claim_next(self, *, skip: Collection[str] = ()) -> str | None:
        """Claim the next run this worker may drive now, or None.

        Picking and leasing happen in one transaction: on PostgreSQL the
        pick is ``FOR UPDATE SKIP LOCKED``, so concurrent workers claim
        different runs instead of racing for the same one (see
        :meth:`RunStore.claimable`). ``skip`` leaves out runs this worker has
        already handled in the current pass.
        """
        with self.db.write() as conn:
            for run_id in self.runs.claimable(1, conn=conn, skip=skip, owner=self.owner):
                if self.runs.claim(conn, run_id, self.owner, self.lease_ttl):
                    return run_id
        return None

    def wait_for_retry(
        self,
        walk: Walk,
        path: str,
        step: StepSpec,
        *,
        new: bool,
        seq: int,
        attempt: int,
        rendered: Any,
        error: str,
        wait: timedelta,
    ) -> None:
        """The step failed and will be tried again: the run waits durably (kind ``retry``).

        One transaction: the step's next attempt number (its row created if
        it had none), the journal, and the run parked with ``wake_at`` and its
        lease released, so no process sleeps through the backoff.
        """
        run_id, now = walk.run.id, utcnow()
        wake_at = now + wait

        def event(kind: str, data: dict[str, Any]) -> dict[str, Any]:
            return self.runs.event(kind, run_id=run_id, actor=self.owner, step_path=path, data=data)

        events = [event("step.started", {"type": step.type, "attempt": 1})] if new else []
        events.append(
            event(
                "step.retry",
                {
                    "attempt": attempt,
                    "error": self.redact(error),
                    "wait_seconds": wait.total_seconds(),
                    "retry_at": wake_at,
                },
            )
        )
        events.append(event("run.waiting", {"kind": "retry", "wake_at": wake_at}))
        with self.db.write() as conn:
            if new:
                self.runs.put_step(
                    conn,
                    run_id,
                    path,
                    new=True,
                    step_id=step.id,
                    type=step.type,
                    seq=seq,
                    started_at=now,
                    status="running",
                    attempt=attempt,
                    rendered=self.clean(rendered),
                )
            else:
                self.runs.put_step(conn, run_id, path, new=False, attempt=attempt)
            if not self.runs.park(
                conn,
                run_id,
                self.owner,
                kind="retry",
                wake_at=wake_at,
                vars=self.clean(walk.vars),
                keep_earlier_wake=False,
            ):
                raise LeaseLost(f"run {run_id} was taken over or cancelled", run_id=run_id)
            self.runs.journal_rows(conn, events)

    @contextmanager
    def lease_kept(self, run_id: str) -> Iterator[None]:
        """Renew the lease in the background while a long outside call runs."""
        stop = threading.Event()
        interval = max(self.lease_ttl.total_seconds() / 3, 0.05)

        def keep() -> None:
            while not stop.wait(interval):
                try:
                    with self.db.write() as conn:
                        if not self.runs.renew(conn, run_id, self.owner, self.lease_ttl):
                            return
                except Exception as exc:
                    # The database is away: the call goes on; if the lease lapses
                    # meanwhile, the step's commit finds out (LeaseLost) and
                    # nothing is doubled. Anything else ends this thread loudly.
                    if not database_unavailable(exc):
                        raise
                    logger.warning("run %s: renewing its lease failed", run_id, exc_info=True)

        thread = threading.Thread(target=keep, name=f"lease-{run_id}", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()
