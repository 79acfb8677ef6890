"""RunService.inbox: the tasks a person may decide, filtered and paged in SQL.

The SQL condition must say exactly what ``TaskStore.may_decide`` says, row by
row; the mixed set below covers every rule (entity, starter, roles, manual
assignee and its owner/manager override, no approver roles, voted, closed).
"""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert

from sopbench.config import load_settings
from sopbench.errors import NotFound
from sopbench.services.runs import RunService
from sopbench.store import utcnow
from sopbench.store.tables import human_tasks, task_votes

HOME = Path(__file__).resolve().parents[1] / "ui" / "inbox_home"
PEOPLE = ("ann", "bob", "dan", "cara", "fay", "gus")


@pytest.fixture
def runs(tmp_path: Path, db_url: str) -> Iterator[RunService]:
    shutil.copytree(HOME / "sops", tmp_path / "home" / "sops")
    settings = load_settings(
        tmp_path / "home", environ={"SOPBENCH_DB_URL": db_url, "SOPBENCH_SANDBOX_FILE": "off"}
    )
    service = RunService(settings)
    yield service
    service.close()


def _mixed_tasks(runs: RunService) -> set[tuple[str, str]]:
    """Real tasks from four runs plus synthetic ones over every rule; returns the votes."""
    run_ids = [
        runs.start("inbox_order", {"item": "mouse"}, started_by="bob").run.id,
        runs.start("inbox_two", {"item": "server"}, started_by="ann").run.id,
        runs.start("inbox_count", {}, started_by="cara").run.id,
        runs.start("inbox_invoice", {"amount": 3}, started_by="fay").run.id,
    ]
    kinds = ("approval", "manual", "review", "media")
    approvers: list[list[str]] = [[], ["manager"], ["finance"], ["staff", "finance"], ["owner"]]
    starters = (None, "ann", "bob", "cara")
    assignees = (None, "", "staff", "finance")
    now, rows = utcnow(), []
    combos = itertools.product(kinds, approvers, ("shop", "agency"), starters, assignees)
    for n, (kind, roles, entity, starter, assignee) in enumerate(combos):
        if kind != "manual" and assignee:
            continue
        rows.append(
            {
                "id": f"tsk_mix_{n:04d}",
                "run_id": run_ids[n % len(run_ids)],
                "step_path": f"step{n}",
                "kind": kind,
                "entity": entity,
                "title": f"mixed {n}",
                "approvers": roles,
                "assignee": assignee,
                "required": 1 + n % 2,
                "approvals": 0,
                "status": "open" if n % 7 else "approved",
                "form": {},
                "started_by": starter,
                "created_at": now + timedelta(seconds=n),
            }
        )
    votes = {(r["id"], person) for i, r in enumerate(rows) for person in PEOPLE[i % 3 :: 4]}
    with runs.db.write() as conn:
        conn.execute(insert(human_tasks), rows)
        conn.execute(
            insert(task_votes),
            [
                {"task_id": t, "person": p, "decision": "approve", "fields": {}, "at": now}
                for t, p in sorted(votes)
            ],
        )
    return votes


def test_inbox_is_may_decide_minus_what_the_person_voted_on(runs: RunService) -> None:
    votes = _mixed_tasks(runs)
    every = runs.tasks(status="all", limit=100_000)
    assert len(every) > 300
    for person in PEOPLE:
        expected = {
            t.id for t in runs.tasks(person=person, limit=100_000) if (t.id, person) not in votes
        }
        rows, total = runs.inbox(person, limit=100_000)
        assert {r.id for r in rows} == expected, person
        assert total == len(expected)
        assert 0 < total < len(every), person  # the mixed set tells people apart
        assert all(r.status == "open" for r in rows)
        by_sop, _ = runs.inbox(person, limit=100_000, sort="sop_id", descending=True)
        assert [r.id for r in by_sop] != [] and {r.id for r in by_sop} == expected
        assert [r.sop_id for r in by_sop] == sorted((r.sop_id for r in by_sop), reverse=True)


def test_inbox_rows_carry_the_run_and_sop(runs: RunService) -> None:
    run_id = runs.start("inbox_two", {"item": "server"}, started_by="ann").run.id
    (row,), total = runs.inbox("bob")
    assert total == 1
    assert (row.run_id, row.sop_id, row.run_status) == (run_id, "inbox_two", "waiting")
    assert (row.kind, row.required, row.approvals) == ("approval", 2, 0)
    runs.decide(row.id, person="bob", action="approve")
    assert runs.inbox("bob") == ([], 0)  # voted: no longer asks bob
    assert runs.inbox("dan")[0][0].approvals == 1


def test_inbox_pages_sorts_and_filters(runs: RunService) -> None:
    for n in range(60):
        runs.start("inbox_order", {"item": f"item-{n:02d}", "qty": n + 1}, started_by="ann")
    pages = [runs.inbox("bob", offset=o, limit=20) for o in (0, 20, 40, 60)]
    assert [total for _, total in pages] == [60] * 4
    assert [len(rows) for rows, _ in pages] == [20, 20, 20, 0]
    ids = [r.id for rows, _ in pages for r in rows]
    assert len(set(ids)) == 60
    created = [r.created_at for rows, _ in pages for r in rows]
    assert created == sorted(created)  # oldest first by default
    titles = [r.title for r in runs.inbox("bob", limit=60, sort="title", descending=True)[0]]
    assert titles == sorted(titles, reverse=True)
    rows, total = runs.inbox("bob", text="ITEM-1")
    assert total == 10 and all("item-1" in r.title for r in rows)
    assert runs.inbox("bob", text="50%_") == ([], 0)  # LIKE wildcards are literal
    assert runs.inbox("bob", text="inbox_order", limit=5)[1] == 60  # matches the SOP id
    assert runs.inbox("bob", sort="no-such-column", limit=1)[0][0].id == ids[0]


def test_unknown_person_is_refused(runs: RunService) -> None:
    with pytest.raises(NotFound, match=r"'zed' is not in sops/people\.yaml"):
        runs.inbox("zed")


def test_task_detail_has_run_step_and_votes(runs: RunService) -> None:
    run_id = runs.start("inbox_two", {"item": "server"}, started_by="ann").run.id
    ((row,), _) = runs.inbox("bob")
    runs.decide(row.id, person="bob", action="approve", comment="fine")
    detail: dict[str, Any] = runs.task_detail(row.id)
    assert detail["run"].id == run_id and detail["step"].path == row.step_path
    assert detail["step"].rendered["title"] == "Buy server?"
    assert [(v.person, v.decision, v.comment) for v in detail["votes"]] == [
        ("bob", "approve", "fine")
    ]
    with pytest.raises(NotFound, match="no task with id 'tsk_nope'"):
        runs.task_detail("tsk_nope")
