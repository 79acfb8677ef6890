"""Outside effects, at most once: intent before the call, outcome after.

Every statement on ``effects`` lives here.

Each effect has an idempotency key derived from run id + step path (+ a name
when one step makes several calls). The intent row is committed before the
call; the outcome after it. When a process dies in between, the next attempt
finds the intent without an outcome and repeats the call with the same key,
so the receiving service can recognise the repeat. A recorded outcome is
returned as is: a completed effect never runs twice.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any

from sqlalchemy import Connection, and_, insert, select, update

from sopbench.store.db import Database, utcnow
from sopbench.store.tables import effects, step_states

__all__ = ["EffectLog"]


class EffectLog:
    def __init__(self, database: Database) -> None:
        self.db = database

    def once(
        self,
        run_id: str,
        step_path: str,
        key: str,
        attempt: int,
        request: Mapping[str, Any],
        perform: Callable[[str], Mapping[str, Any]],
        *,
        clean: Callable[[Any], Any],
    ) -> dict[str, Any]:
        with self.db.write() as conn:
            row = conn.execute(
                select(effects.c.status, effects.c.response).where(effects.c.idempotency_key == key)
            ).first()
            if row is not None and row.status == "done":
                return dict(row.response or {})
            if row is None:
                conn.execute(
                    insert(effects).values(
                        run_id=run_id,
                        step_path=step_path,
                        idempotency_key=key,
                        attempt=attempt,
                        status="intent",
                        request=dict(request),
                        created_at=utcnow(),
                    )
                )
            else:
                conn.execute(
                    update(effects).where(effects.c.idempotency_key == key).values(attempt=attempt)
                )
        response = dict(perform(key))
        with self.db.write() as conn:
            conn.execute(
                update(effects)
                .where(effects.c.idempotency_key == key)
                .values(status="done", response=clean(response), completed_at=utcnow())
            )
        return response

    def of_run(self, run_id: str) -> list[dict[str, Any]]:
        with self.db.read() as conn:
            rows = conn.execute(
                select(effects).where(effects.c.run_id == run_id).order_by(effects.c.id)
            ).mappings()
            return [dict(row) for row in rows]

    def done_of_type(
        self, conn: Connection, run_ids: Collection[str], step_type: str
    ) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """(request, response) of the completed effects of ``step_type`` steps of ``run_ids``
        (the calendar reads when a ``social_post`` step scheduled its drafts)."""
        if not run_ids:
            return []
        query = (
            select(effects.c.request, effects.c.response)
            .join(
                step_states,
                and_(
                    step_states.c.run_id == effects.c.run_id,
                    step_states.c.path == effects.c.step_path,
                ),
            )
            .where(
                effects.c.run_id.in_(sorted(run_ids)),
                effects.c.status == "done",
                step_states.c.type == step_type,
            )
        )
        return [
            (dict(row["request"] or {}), dict(row["response"] or {}))
            for row in conn.execute(query).mappings()
        ]
