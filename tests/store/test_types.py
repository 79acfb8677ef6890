"""UTCDateTime and JSONDocument behave the same on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from sopbench.errors import StoreError
from sopbench.store import Database, NaiveDatetimeError, new_id
from sopbench.store import tables as t

NOW = datetime(2026, 3, 8, 9, 0, 0, 123456, tzinfo=UTC)
INDIA = timezone(timedelta(hours=5, minutes=30))


def insert_run(conn: sa.Connection, **values: object) -> str:
    run_id = new_id("run")
    row: dict[str, object] = {
        "id": run_id,
        "sop_id": "s",
        "entity": "e",
        "status": "pending",
        "definition": {},
        "sop_hash": "x" * 64,
    }
    row.update(values)
    conn.execute(t.runs.insert().values(**row))
    return run_id


def test_utc_datetime_round_trips_aware_values(database: Database) -> None:
    local = NOW.astimezone(INDIA)  # same instant, written in +05:30
    with database.write() as conn:
        run_id = insert_run(conn, wake_at=local, created_at=NOW, updated_at=NOW)
    with database.read() as conn:
        row = conn.execute(sa.select(t.runs).where(t.runs.c.id == run_id)).one()
    assert row.wake_at == NOW
    assert row.wake_at.tzinfo is UTC
    assert row.wake_at.microsecond == 123456
    assert row.created_at.tzinfo is UTC  # Python-side default is UTC too


def test_utc_datetime_compares_instants_in_sql(database: Database) -> None:
    with database.write() as conn:
        early = insert_run(conn, wake_at=NOW)
        late = insert_run(conn, wake_at=NOW + timedelta(hours=1))
    cutoff = (NOW + timedelta(minutes=30)).astimezone(INDIA)  # text "15:00+05:30"
    with database.read() as conn:
        due = conn.execute(sa.select(t.runs.c.id).where(t.runs.c.wake_at <= cutoff)).scalars()
        ordered = conn.execute(sa.select(t.runs.c.id).order_by(t.runs.c.wake_at.desc())).scalars()
        assert list(due) == [early]
        assert list(ordered) == [late, early]


@pytest.mark.parametrize("bad", [datetime(2026, 3, 8, 9, 0), "2026-03-08T09:00:00Z"])
def test_utc_datetime_refuses_naive_values(database: Database, bad: object) -> None:
    with pytest.raises(NaiveDatetimeError) as caught, database.write() as conn:
        insert_run(conn, wake_at=bad)
    assert isinstance(caught.value, StoreError)
    message = str(caught.value)
    assert "naive" in message or "expected a datetime" in message
    assert "INSERT" not in message  # a clear message, not the SQL statement
    with database.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(t.runs)).scalar() == 0


NESTED = {
    "text": "Grand opening — ünïcode ✓",
    "numbers": [1, 2.5, -3, 10**12],
    "flags": {"on": True, "off": False, "none": None},
    "deep": {"a": [{"b": [{"c": "d"}]}, []], "empty": {}},
}


def test_json_columns_round_trip_nested_data(database: Database) -> None:
    with database.write() as conn:
        run_id = insert_run(conn, inputs=NESTED, vars={"list": [NESTED]}, outputs={})
        conn.execute(
            t.step_states.insert().values(
                run_id=run_id,
                path="each[3].child",
                step_id="child",
                type="transform",
                status="running",
                seq=1,
                rendered=["x", {"y": None}],
                result=None,
            )
        )
    with database.read() as conn:
        run = conn.execute(sa.select(t.runs).where(t.runs.c.id == run_id)).one()
        step = conn.execute(sa.select(t.step_states)).one()
        null_results = conn.execute(
            sa.select(sa.func.count()).where(t.step_states.c.result.is_(None))
        ).scalar()
    assert run.inputs == NESTED
    assert run.vars == {"list": [NESTED]}
    assert run.outputs == {}
    assert step.rendered == ["x", {"y": None}]
    assert step.result is None and null_results == 1  # None is SQL NULL, not JSON null
