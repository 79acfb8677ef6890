"""Reading and writing run state: runs, step states, the journal, leases.

Every statement on ``runs``, ``step_states`` and ``events`` lives here (and in
:mod:`sopbench.store.run_queries`, the listings this store inherits), so the engine itself reads
like a recipe. Writes that belong together (a step's new state, the run's
vars, the journal entries, the lease renewal) go into one transaction.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    and_,
    bindparam,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)

from sopbench.errors import NotFound
from sopbench.store._run_dialects import run_dialect
from sopbench.store.db import Database, new_id, utcnow
from sopbench.store.run_queries import RunQueries
from sopbench.store.run_rows import ACTIVE, RunRow, StepRow, jsonable
from sopbench.store.tables import events, runs, step_states

__all__ = ["RunStore"]


# Statements built once: the engine runs them for every step, and building
# an SQLAlchemy statement costs more than executing a cached one.
_INSERT_STEP = insert(step_states)
_INSERT_EVENT = insert(events)
_RENEW_WHERE = (
    runs.c.id == bindparam("b_id"),
    runs.c.lease_owner == bindparam("b_owner"),
    runs.c.status == "running",
)
_RENEW = update(runs).where(*_RENEW_WHERE).values(lease_expires_at=bindparam("b_expires"))
_RENEW_VARS = (
    update(runs)
    .where(*_RENEW_WHERE)
    .values(
        lease_expires_at=bindparam("b_expires"), vars=bindparam("b_vars", type_=runs.c.vars.type)
    )
)


class RunStore(RunQueries):
    """Run state over one :class:`~sopbench.store.Database`."""

    def __init__(self, database: Database) -> None:
        self.db = database
        self._dialect = run_dialect(database.dialect)

    # -- runs --------------------------------------------------------------

    def create_run(self, conn: Connection, **values: Any) -> str:
        run_id = values.pop("id", None) or new_id("run")
        now = utcnow()
        conn.execute(
            insert(runs).values(id=run_id, created_at=now, updated_at=now, version=0, **values)
        )
        return run_id

    def get_run(self, run_id: str, conn: Connection | None = None) -> RunRow:
        if conn is None:
            with self.db.read() as own:
                return self.get_run(run_id, own)
        row = conn.execute(select(runs).where(runs.c.id == run_id)).mappings().first()
        if row is None:
            raise NotFound(f"no run with id '{run_id}'", hint="`sopbench runs` lists runs")
        return RunRow.of(row)

    def update_run(self, conn: Connection, run_id: str, **values: Any) -> None:
        conn.execute(
            update(runs)
            .where(runs.c.id == run_id)
            .values(updated_at=utcnow(), version=runs.c.version + 1, **values)
        )

    def mark_running(self, conn: Connection, run_id: str, owner: str) -> bool:
        """The claimed run is being driven; False when it is no longer active or ours."""
        moved = conn.execute(
            update(runs)
            .where(
                runs.c.id == run_id,
                runs.c.status.in_(sorted(ACTIVE)),
                runs.c.lease_owner == owner,
            )
            .values(
                status="running",
                wait_kind=None,
                wake_at=None,
                updated_at=utcnow(),
                version=runs.c.version + 1,
            )
        ).rowcount
        return bool(moved == 1)

    def settle(self, conn: Connection, run_id: str, owner: str, **values: Any) -> bool:
        """Move a running run on (and release its lease) only while ``owner`` drives it.

        A run cancelled (or taken over) meanwhile is left as the other side set it.
        """
        result = conn.execute(
            update(runs)
            .where(runs.c.id == run_id, runs.c.status == "running", runs.c.lease_owner == owner)
            .values(
                lease_owner=None,
                lease_expires_at=None,
                updated_at=utcnow(),
                version=runs.c.version + 1,
                **values,
            )
        )
        return bool(result.rowcount == 1)

    def park(
        self,
        conn: Connection,
        run_id: str,
        owner: str,
        *,
        kind: str,
        wake_at: datetime | None,
        vars: Mapping[str, Any],
        keep_earlier_wake: bool = True,
    ) -> bool:
        """The running run waits (``kind``) until ``wake_at`` or until woken.

        With ``keep_earlier_wake`` a wake that came while the run was being
        driven (see :meth:`wake`) wins, so the run parks already due.
        """
        wake: Any = wake_at
        if keep_earlier_wake:
            wake = func.coalesce(runs.c.wake_at, literal(wake_at, type_=runs.c.wake_at.type))
        return self.settle(
            conn, run_id, owner, status="waiting", wait_kind=kind, wake_at=wake, vars=dict(vars)
        )

    def status_of(self, conn: Connection, run_id: str) -> str:
        return str(conn.execute(select(runs.c.status).where(runs.c.id == run_id)).scalar_one())

    def active_children(self, conn: Connection, run_id: str) -> list[str]:
        query = select(runs.c.id).where(
            runs.c.parent_run_id == run_id, runs.c.status.in_(sorted(ACTIVE))
        )
        return list(conn.execute(query).scalars())

    def lock_sop(self, conn: Connection, sop_id: str) -> None:
        """Serialise concurrency-slot checks of one SOP until the transaction ends."""
        self._dialect.lock_sop(conn, sop_id)

    def set_status_if(
        self, conn: Connection, run_id: str, allowed: frozenset[str], **values: Any
    ) -> bool:
        """Compare-and-set on the run's status; True when this call changed it."""
        result = conn.execute(
            update(runs)
            .where(runs.c.id == run_id, runs.c.status.in_(sorted(allowed)))
            .values(updated_at=utcnow(), version=runs.c.version + 1, **values)
        )
        return result.rowcount == 1

    def wake(self, conn: Connection, run_id: str) -> bool:
        """What the run waited for has happened: make it ready; True when it was waiting.

        A run still ``running`` (its driver is between opening a task or
        starting a child and recording the wait) gets ``wake_at = now``
        instead: :meth:`Engine.mark_waiting` keeps that moment, so the run
        parks already due and a worker resumes it, rather than waiting for
        an event that has already happened.
        """
        # Lock the row first (PostgreSQL): a driver recording its wait meanwhile
        # queues behind this transaction, then sees the wake.
        status = conn.execute(
            select(runs.c.status).where(runs.c.id == run_id).with_for_update()
        ).scalar_one_or_none()
        if status == "waiting":
            return self.set_status_if(
                conn, run_id, frozenset({"waiting"}), status="pending", wake_at=None
            )
        if status == "running":
            conn.execute(update(runs).where(runs.c.id == run_id).values(wake_at=utcnow()))
        return False

    def count_active(
        self,
        conn: Connection,
        sop_id: str,
        *,
        exclude: str | None = None,
        queued: bool = False,
    ) -> int:
        """Real runs of the SOP holding a concurrency slot.

        A ``pending`` run holds one only while a driver has it, unless
        ``queued``: then every pending run counts (a new run under the
        ``skip`` policy must also give way to runs recorded but not yet driven).
        """
        pending = runs.c.status == "pending"
        if not queued:
            pending = and_(pending, runs.c.lease_owner.is_not(None))
        query = select(func.count()).where(
            runs.c.sop_id == sop_id,
            runs.c.dry_run.is_(False),
            or_(runs.c.status.in_(["running", "waiting"]), pending),
        )
        if exclude:
            query = query.where(runs.c.id != exclude)
        return int(conn.execute(query).scalar_one())

    # -- crashes -----------------------------------------------------------

    def count_crash(self, conn: Connection, run_id: str, owner: str) -> int | None:
        """Count one more crash of an active run nobody else holds; the new count.

        ``None`` when the run finished, was cancelled or another driver holds
        a live lease meanwhile (then that driver's view wins).
        """
        now = utcnow()
        moved = conn.execute(
            update(runs)
            .where(
                runs.c.id == run_id,
                runs.c.status.in_(sorted(ACTIVE)),
                or_(
                    runs.c.lease_owner.is_(None),
                    runs.c.lease_owner == owner,
                    runs.c.lease_expires_at < now,
                ),
            )
            .values(crash_count=runs.c.crash_count + 1, version=runs.c.version + 1)
        ).rowcount
        if moved != 1:
            return None
        return int(conn.execute(select(runs.c.crash_count).where(runs.c.id == run_id)).scalar_one())

    def park_crashed(
        self, conn: Connection, run_id: str, *, wake_at: datetime, step_path: str | None
    ) -> None:
        """The crashed run waits for its next recovery attempt (lease released)."""
        self.update_run(
            conn,
            run_id,
            status="waiting",
            wait_kind="recovery",
            wake_at=wake_at,
            error_step=step_path,
            lease_owner=None,
            lease_expires_at=None,
        )

    def fail_crashed(
        self, conn: Connection, run_id: str, *, reason: str, step_path: str | None
    ) -> None:
        """The run crashed too often: it fails, and so does the step it crashed in."""
        now = utcnow()
        self.update_run(
            conn,
            run_id,
            status="failed",
            wait_kind=None,
            wake_at=None,
            error=reason,
            error_step=step_path,
            finished_at=now,
            lease_owner=None,
            lease_expires_at=None,
        )
        if step_path is not None:
            conn.execute(
                update(step_states)
                .where(
                    step_states.c.run_id == run_id,
                    step_states.c.path == step_path,
                    step_states.c.status.in_(["running", "waiting"]),
                )
                .values(status="failed", error=reason, finished_at=now)
            )

    # -- leases ------------------------------------------------------------

    def claim(self, conn: Connection, run_id: str, owner: str, ttl: timedelta) -> bool:
        """Take the run's lease if it is free or expired and the run can move.

        A run can move when it is ready (``pending``), was left ``running``
        or waits for a moment that has come. A run waiting for a person or a
        child is not taken (whoever settles the wait makes it ``pending``):
        a driver working from a stale list must not mark it running, or the
        decision's ``waiting -> pending`` switch would miss it and the run
        would be parked again on a settled task, for ever.
        """
        now = utcnow()
        result = conn.execute(
            update(runs)
            .where(
                runs.c.id == run_id,
                or_(
                    runs.c.status.in_(["pending", "running"]),
                    and_(runs.c.status == "waiting", runs.c.wake_at <= now),
                ),
                or_(
                    runs.c.lease_owner.is_(None),
                    runs.c.lease_owner == owner,
                    runs.c.lease_expires_at < now,
                ),
            )
            .values(lease_owner=owner, lease_expires_at=now + ttl, version=runs.c.version + 1)
        )
        return bool(result.rowcount == 1)

    def renew(
        self,
        conn: Connection,
        run_id: str,
        owner: str,
        ttl: timedelta,
        *,
        vars: Mapping[str, Any] | None = None,
    ) -> bool:
        """Extend the lease (and store ``vars`` in the same statement); False if lost."""
        params = {"b_id": run_id, "b_owner": owner, "b_expires": utcnow() + ttl}
        if vars is None:
            result = conn.execute(_RENEW, params)
        else:
            result = conn.execute(_RENEW_VARS, {**params, "b_vars": dict(vars)})
        return bool(result.rowcount == 1)

    def release(self, conn: Connection, run_id: str, owner: str) -> None:
        conn.execute(
            update(runs)
            .where(runs.c.id == run_id, runs.c.lease_owner == owner)
            .values(lease_owner=None, lease_expires_at=None)
        )

    def claimable(
        self,
        limit: int = 20,
        *,
        conn: Connection,
        skip: Collection[str] = (),
        owner: str | None = None,
    ) -> list[str]:
        """Runs a worker may take: ready, woken, or left behind by a dead holder.

        With ``owner``, also runs whose lease that driver still holds: a
        driver looking for work is not driving them, so its drive of them was
        cut short (the database went away mid-step) and it may go on at once
        rather than wait for its own lease to expire.
        """
        now = utcnow()
        free = or_(runs.c.lease_owner.is_(None), runs.c.lease_expires_at < now)
        if owner is not None:
            free = or_(free, runs.c.lease_owner == owner)
        query = (
            select(runs.c.id)
            .where(
                free,
                or_(
                    runs.c.status.in_(["pending", "running"]),
                    and_(runs.c.status == "waiting", runs.c.wake_at <= now),
                ),
            )
            .order_by(runs.c.created_at)
            .limit(limit)
        )
        if skip:
            query = query.where(runs.c.id.not_in(sorted(skip)))
        return list(conn.execute(self._dialect.skip_locked(query)).scalars())

    # -- steps -------------------------------------------------------------

    def steps_of(self, run_id: str, conn: Connection | None = None) -> dict[str, StepRow]:
        if conn is None:
            with self.db.read() as own:
                return self.steps_of(run_id, own)
        rows = conn.execute(
            select(step_states).where(step_states.c.run_id == run_id).order_by(step_states.c.seq)
        ).mappings()
        return {row["path"]: StepRow.of(row) for row in rows}

    def forget_step(self, conn: Connection, run_id: str, path: str) -> None:
        """Drop a step's stored state, so the next drive runs it again (the debugger's re-run)."""
        conn.execute(
            delete(step_states).where(step_states.c.run_id == run_id, step_states.c.path == path)
        )

    def put_step(
        self, conn: Connection, run_id: str, path: str, *, new: bool, **values: Any
    ) -> None:
        if new:
            conn.execute(_INSERT_STEP, {"run_id": run_id, "path": path, **values})
        else:
            conn.execute(
                update(step_states)
                .where(step_states.c.run_id == run_id, step_states.c.path == path)
                .values(**values)
            )

    # -- journal -----------------------------------------------------------

    def journal(
        self,
        conn: Connection,
        kind: str,
        *,
        run_id: str | None,
        actor: str,
        step_path: str | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> None:
        self.journal_rows(
            conn, [self.event(kind, run_id=run_id, actor=actor, step_path=step_path, data=data)]
        )

    @staticmethod
    def event(
        kind: str,
        *,
        run_id: str | None,
        actor: str,
        step_path: str | None = None,
        data: Mapping[str, Any] | None = None,
        clean: bool = False,
    ) -> dict[str, Any]:
        """One journal row; ``clean`` says ``data`` is already in its JSON form."""
        payload = dict(data or {}) if clean else jsonable(dict(data or {}))
        return {
            "run_id": run_id,
            "ts": utcnow(),
            "actor": actor,
            "kind": kind,
            "step_path": step_path,
            "data": payload,
        }

    def journal_rows(self, conn: Connection, rows: list[dict[str, Any]]) -> None:
        """Append several events in one statement."""
        if rows:
            conn.execute(_INSERT_EVENT, rows)

    def journal_of(self, run_id: str) -> list[dict[str, Any]]:
        with self.db.read() as conn:
            rows = conn.execute(
                select(events).where(events.c.run_id == run_id).order_by(events.c.id)
            ).mappings()
            return [dict(row) for row in rows]
