"""The engine seen through RunService: inputs, concurrency, the journal, cancel, resume."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from engine.support import Bench
from sopbench.errors import ConcurrencyLimited, DecisionRefused, InputError, NotFound
from sopbench.store.tables import events, runs, step_states


def _counts(bench: Bench) -> tuple[int, int, int]:
    with bench.db.read() as conn:
        return tuple(  # type: ignore[return-value]
            conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (runs, step_states, events)
        )


# -- inputs ---------------------------------------------------------------------------


def test_inputs_are_typed_and_defaulted(bench: Bench) -> None:
    view = bench.start(
        "eng_inputs",
        {
            "name": "Al",
            "count": "3",
            "kind": "build",
            "day": "2027-03-14",
            "rush": "yes",
            "tags": "a, b",
        },
    )
    assert view.run.status == "succeeded"
    assert view.run.inputs == {
        "name": "Al",
        "count": 3,
        "kind": "build",
        "day": "2027-03-14",
        "rush": True,
        "tags": ["a", "b"],
    }
    assert view.run.vars["count"] == 3 and view.run.vars["rush"] is True
    minimal = bench.start("eng_inputs", {"name": "Bo"})
    assert minimal.run.inputs == {
        "name": "Bo",
        "count": 2,
        "kind": None,
        "day": None,
        "rush": False,
        "tags": None,
    }


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({}, "missing required input 'name'"),
        ({"name": "Al", "colour": "red"}, "unknown input 'colour'"),
        ({"name": "Al", "count": "many"}, "input 'count': expected a whole number, got 'many'"),
        ({"name": "Al", "count": 0}, "input 'count': value 0 is below the minimum 1"),
        ({"name": "A"}, "input 'name': length 1 is below the minimum 2"),
        ({"name": "Al", "kind": "paint"}, "input 'kind': expected one of repair, build"),
        ({"name": "Al", "day": "tomorrow"}, "input 'day': expected a date like 2027-03-14"),
        ({"name": "Al", "rush": "maybe"}, "input 'rush': expected true or false"),
        ({"name": ["x"]}, "input 'name': expected text, got a list"),
    ],
)
def test_bad_inputs_are_refused_before_anything_is_stored(
    bench: Bench, given: dict[str, Any], message: str
) -> None:
    before = _counts(bench)
    with pytest.raises(InputError, match=message):
        bench.start("eng_inputs", given)
    with pytest.raises(InputError):
        bench.dry("eng_inputs", given)
    assert _counts(bench) == before == (0, 0, 0)


def test_every_problem_is_reported_at_once(bench: Bench) -> None:
    with pytest.raises(InputError) as caught:
        bench.start("eng_inputs", {"count": "x", "colour": "red"})
    text = str(caught.value)
    for part in ("unknown input 'colour'", "input 'count'", "missing required input 'name'"):
        assert part in text


def test_unknown_sop_and_run(bench: Bench) -> None:
    with pytest.raises(NotFound, match="no SOP with id 'eng_input'"):
        bench.start("eng_input")
    with pytest.raises(NotFound, match="no run with id 'run_nope'"):
        bench.view("run_nope")


# -- concurrency ----------------------------------------------------------------------


def test_concurrency_skip_refuses_a_second_active_run(bench: Bench) -> None:
    first = bench.start("eng_skip")
    assert first.run.status == "waiting"
    before = _counts(bench)
    with pytest.raises(ConcurrencyLimited, match="already has 1 active run"):
        bench.start("eng_skip")
    with pytest.raises(ConcurrencyLimited):
        bench.start("eng_skip", detach=True)
    assert _counts(bench) == before
    assert bench.dry("eng_skip").run.status == "succeeded"  # dry-runs do not count
    bench.decide(bench.open_task(first.run.id).id, "bob")
    assert bench.start("eng_skip").run.status == "waiting"  # the slot is free again


def test_concurrency_skip_counts_runs_not_yet_driven(bench: Bench) -> None:
    bench.start("eng_skip", detach=True)
    with pytest.raises(ConcurrencyLimited):
        bench.start("eng_skip", detach=True)
    assert [r.status for r in bench.service.list_runs(sop_id="eng_skip")] == ["pending"]


def test_concurrency_queue_holds_the_next_run_until_the_first_ends(bench: Bench) -> None:
    first = bench.start("eng_queue", {"n": 1})
    second = bench.start("eng_queue", {"n": 2})
    assert first.run.status == "waiting"
    assert second.run.status == "pending" and second.steps == []
    assert bench.service.recover() == [(second.run.id, "pending")]  # still no slot
    assert bench.service.tasks() == [bench.open_task(first.run.id)]

    bench.decide(bench.open_task(first.run.id).id, "bob")
    assert bench.view(first.run.id).run.status == "succeeded"
    assert bench.view(second.run.id).run.status == "pending"
    assert bench.service.recover() == [(second.run.id, "waiting")]
    bench.decide(bench.open_task(second.run.id).id, "dan")
    assert bench.view(second.run.id).run.vars == {"n": 2}


# -- journal ----------------------------------------------------------------------------


def test_the_journal_records_who_what_when(bench: Bench) -> None:
    view = bench.start("eng_journal", {"qty": 7}, started_by="cara")
    task = bench.open_task(view.run.id)
    bench.decide(task.id, "bob", comment="fine by me")
    run = bench.view(view.run.id).run
    assert run.status == "failed"
    journal = bench.journal(run.id)
    kinds = [(e["kind"], e["step_path"]) for e in journal]
    assert kinds == [
        ("run.created", None),
        ("run.running", None),
        ("step.started", "prep"),
        ("step.succeeded", "prep"),
        ("task.created", "sign"),
        ("step.started", "sign"),
        ("step.waiting", "sign"),
        ("run.waiting", "sign"),
        ("task.decided", "sign"),
        ("run.running", None),
        ("step.succeeded", "sign"),
        ("step.started", "check"),
        ("step.failed", "check"),
        ("run.failed", "check"),
    ]
    stamps = [e["ts"] for e in journal]
    assert stamps == sorted(stamps)
    by = {(e["kind"], e["step_path"]): e for e in journal}
    created = by[("run.created", None)]
    assert created["actor"] == "cara"
    assert created["data"] == {"sop_id": "eng_journal", "inputs": {"qty": 7}, "dry_run": False}
    assert by[("step.succeeded", "prep")]["data"] == {
        "with": {"set": {"double": 14}},
        "result": {"double": 14},
        "error": None,
    }
    decided = by[("task.decided", "sign")]
    assert decided["actor"] == "bob"
    assert decided["data"]["comment"] == "fine by me" and decided["data"]["status"] == "approved"
    failed = by[("step.failed", "check")]
    assert failed["data"]["error"] == "validation failed: too many: 14"
    assert failed["data"]["with"]["rules"][0] == {"check": False, "message": "too many: 14"}
    assert by[("run.failed", "check")]["data"]["error"] == (
        "step 'check' failed: validation failed: too many: 14"
    )
    owner = by[("step.started", "prep")]["actor"]
    assert owner == bench.service.engine.owner


def test_a_resumed_run_does_not_run_finished_steps_again(bench: Bench) -> None:
    view = bench.start("eng_journal", {"qty": 2})
    bench.decide(bench.open_task(view.run.id).id, "bob")
    assert bench.view(view.run.id).run.status == "succeeded"
    started = [e["step_path"] for e in bench.journal(view.run.id) if e["kind"] == "step.started"]
    assert started == ["prep", "sign", "check"]
    assert all(s.attempt == 1 for s in bench.view(view.run.id).steps)


# -- cancel -----------------------------------------------------------------------------


def test_cancel_a_pending_run(bench: Bench) -> None:
    view = bench.start("eng_journal", {"qty": 1}, detach=True)
    assert view.run.status == "pending"
    assert bench.service.cancel(view.run.id, actor="ann") == [view.run.id]
    assert bench.service.recover() == []
    assert bench.view(view.run.id).steps == []


def test_finished_runs_cannot_be_cancelled(bench: Bench) -> None:
    view = bench.start("eng_inputs", {"name": "Al"})
    with pytest.raises(DecisionRefused, match=f"run {view.run.id} is already succeeded"):
        bench.service.cancel(view.run.id, actor="ann")


def test_detached_runs_are_driven_by_recover(bench: Bench) -> None:
    view = bench.start("eng_inputs", {"name": "Al"}, detach=True)
    assert view.run.status == "pending"
    assert bench.service.recover() == [(view.run.id, "succeeded")]
    assert bench.service.recover() == []
