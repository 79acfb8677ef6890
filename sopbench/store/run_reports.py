"""Which finished runs have their report: the claims that make it one report per run.

Cron's ``sopbench tick`` writes one report per finished run, whether the
tick finished it or something else did (a reviewer's approval, a worker, a
``sopbench run`` that never waited). :class:`ReportStore` keeps that
promise with the ``run_reports`` table:

* :meth:`ReportStore.unreported` — real (not dry-run) runs that are
  finished and have no row yet, oldest first, a bounded batch;
* :meth:`ReportStore.claim` — inserting the row is the claim: the primary
  key lets one of two ticks at once have a run, the other hears ``False``.
  A ``writing`` claim older than :data:`STALE` belongs to a tick that died
  mid-report; it is taken over by a compare-and-set on ``claimed_at``;
* :meth:`ReportStore.written` / :meth:`ReportStore.failed` — the outcome
  (a report that cannot be written is not retried every minute; its error
  is kept for the operator).

No file lock is involved: the database is the coordination point, on
SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from sopbench.store.db import Database, utcnow
from sopbench.store.run_rows import FINAL
from sopbench.store.tables import run_reports, runs

__all__ = ["STALE", "ReportStore"]

STALE = timedelta(minutes=10)
"""A claim still ``writing`` after this long is a dead tick's; another may take it."""


class ReportStore:
    """The ``run_reports`` claims of one database, made by ``owner`` (a tick)."""

    def __init__(self, db: Database, owner: str) -> None:
        self.db = db
        self.owner = owner

    def unreported(self, *, limit: int = 50, now: datetime | None = None) -> list[str]:
        """Finished real runs without a report (or with a dead tick's claim), oldest first."""
        now = now or utcnow()
        stale = and_(run_reports.c.status == "writing", run_reports.c.claimed_at < now - STALE)
        query = (
            select(runs.c.id)
            .select_from(runs.outerjoin(run_reports, run_reports.c.run_id == runs.c.id))
            .where(
                runs.c.status.in_(sorted(FINAL)),
                runs.c.dry_run.is_(False),
                or_(run_reports.c.run_id.is_(None), stale),
            )
            .order_by(runs.c.finished_at, runs.c.id)
            .limit(limit)
        )
        with self.db.read() as conn:
            return list(conn.execute(query).scalars())

    def claim(self, run_id: str, *, now: datetime | None = None) -> bool:
        """Whether this owner may write the run's report (nobody else is, or did)."""
        now = now or utcnow()
        try:
            with self.db.write() as conn:
                conn.execute(
                    insert(run_reports).values(
                        run_id=run_id, status="writing", owner=self.owner, claimed_at=now
                    )
                )
            return True
        except IntegrityError:
            pass
        with self.db.write() as conn:
            row = conn.execute(
                select(run_reports.c.status, run_reports.c.claimed_at).where(
                    run_reports.c.run_id == run_id
                )
            ).first()
            if row is None or row.status != "writing" or row.claimed_at >= now - STALE:
                return False
            taken = conn.execute(
                update(run_reports)
                .where(
                    run_reports.c.run_id == run_id,
                    run_reports.c.status == "writing",
                    run_reports.c.claimed_at == row.claimed_at,
                )
                .values(owner=self.owner, claimed_at=now)
            )
            return taken.rowcount == 1

    def written(self, run_id: str, path: str) -> None:
        self._finish(run_id, status="written", path=path, written_at=utcnow())

    def failed(self, run_id: str, error: str) -> None:
        self._finish(run_id, status="failed", error=error[:2000])

    def _finish(self, run_id: str, **values: object) -> None:
        with self.db.write() as conn:
            conn.execute(
                update(run_reports)
                .where(run_reports.c.run_id == run_id, run_reports.c.owner == self.owner)
                .values(**values)
            )

    def status_of(self, run_id: str) -> str | None:
        """The run's report status (``writing``, ``written``, ``failed``, ``skipped``) or None."""
        with self.db.read() as conn:
            status: str | None = conn.execute(
                select(run_reports.c.status).where(run_reports.c.run_id == run_id)
            ).scalar()
        return status
