"""Crash containment: an unexpected error while driving one run never stops the others.

DBOS Transact's rule, applied to sopbench: whoever drives a run (a worker,
``recover``, a tick, a decision, ``sopbench run``) isolates it. When driving
raises anything the engine does not expect (a handler bug, a stored
definition that no longer loads, a database error mid-step), the error is
logged with its (redacted) traceback, journaled as ``run.crashed`` and the
lease released. The run then waits (kind ``recovery``) for its next
recovery attempt, with a backoff that doubles; after ``max_crashes`` crashes
it ends ``failed`` with the reason ``crashed N times: ...``.

A database that cannot be reached (a PostgreSQL restart under a worker) is
not counted as the run's crash: nothing can be recorded then, the lease is
left to expire (or to be taken back at once by the same driver) and the
next pass resumes the run from its last committed step.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from sopbench.errors import StoreError
from sopbench.store import Database, utcnow
from sopbench.store.runs import RunStore
from sopbench.store.tasks import TaskStore

__all__ = ["CrashPolicy", "CrashRecorder", "database_unavailable"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CrashPolicy:
    """How often a crashing run is tried again, and how patiently."""

    max_crashes: int = 5
    """Crashes after which the run fails for good."""
    backoff: timedelta = timedelta(seconds=10)
    """Wait before the first recovery attempt; doubles with every crash."""
    max_backoff: timedelta = timedelta(minutes=10)

    def wait(self, crashes: int) -> timedelta:
        wait: timedelta = min(self.backoff * (2 ** max(crashes - 1, 0)), self.max_backoff)
        return wait


def database_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` says the database could not be reached (not this run's fault).

    A lost or refused connection (the server restarting, a network cut), as
    raised mid-statement or as the store's "cannot connect" error; a
    constraint violation or a stored row that no longer loads is the run's
    own crash.
    """
    if isinstance(exc, StoreError):
        return isinstance(exc.__cause__, OperationalError | InterfaceError | OSError)
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, OperationalError | InterfaceError)


class CrashRecorder:
    """Records crashes of runs and decides whether they are tried again."""

    def __init__(
        self,
        database: Database,
        runs: RunStore,
        tasks: TaskStore,
        policy: CrashPolicy,
        *,
        owner: str,
    ) -> None:
        self.db = database
        self.runs = runs
        self.tasks = tasks
        self.policy = policy
        self.owner = owner

    def record(
        self,
        run_id: str,
        exc: BaseException,
        *,
        step_path: str | None,
        redact: Callable[[str], str],
    ) -> tuple[str, str | None] | None:
        """Journal the crash and park or fail the run.

        Returns the run's new status and, when it failed for good, its parent
        run (to wake); ``None`` when nothing could be recorded.
        """
        error = redact(f"{type(exc).__name__}: {exc}")
        trace = redact("".join(traceback.format_exception(exc)))
        if database_unavailable(exc):
            logger.warning(
                "run %s: the database could not be used (%s); the run resumes once it is back",
                run_id,
                error,
            )
            return None
        logger.error("run %s crashed at step %s: %s\n%s", run_id, step_path, error, trace)
        try:
            return self._store(run_id, error, step_path)
        except Exception as again:  # the crash could not be recorded: the lease expires instead
            logger.exception(
                "run %s: recording its crash failed (%s); its lease will expire", run_id, again
            )
            return None

    def _store(
        self, run_id: str, error: str, step_path: str | None
    ) -> tuple[str, str | None] | None:
        with self.db.write() as conn:
            crashes = self.runs.count_crash(conn, run_id, self.owner)
            if crashes is None:  # finished, cancelled or taken over meanwhile
                return None
            data = {
                "error_class": error.split(":", 1)[0],
                "error": error,
                "step_path": step_path,
                "crashes": crashes,
                "max_crashes": self.policy.max_crashes,
            }
            final = crashes >= self.policy.max_crashes
            wake_at = utcnow() + self.policy.wait(crashes)
            if not final:
                data["retry_at"] = wake_at.isoformat()

            def note(kind: str, payload: dict[str, Any]) -> None:
                self.runs.journal(
                    conn, kind, run_id=run_id, actor=self.owner, step_path=step_path, data=payload
                )

            note("run.crashed", data)
            if not final:
                self.runs.park_crashed(conn, run_id, wake_at=wake_at, step_path=step_path)
                return "waiting", None
            reason = f"crashed {crashes} times: {error}"
            self.runs.fail_crashed(conn, run_id, reason=reason, step_path=step_path)
            self.tasks.cancel_open(conn, run_id)
            note("run.failed", {"error": reason, "outputs": {}})
            parent = self.runs.get_run(run_id, conn).parent_run_id
            woken = parent if parent is not None and self.runs.wake(conn, parent) else None
            return "failed", woken
