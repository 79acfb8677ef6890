"""cross_entity_trigger: child runs of any entity, joined with `wait: true` or not."""

from __future__ import annotations

import pytest
from engine.support import Bench

from sopbench.errors import DecisionRefused


def test_wait_true_joins_the_child_and_exposes_its_outputs(bench: Bench) -> None:
    view = bench.start("parent_wait", {"n": 4}, started_by="ann")
    assert view.run.status == "succeeded", view.run.error
    kid = bench.steps(view.run.id)["kid"].result
    child = bench.view(kid["run_id"]).run
    assert (child.sop_id, child.entity, child.status) == ("child_report", "agency", "succeeded")
    assert child.parent_run_id == view.run.id and child.started_by == "ann"
    assert child.inputs == {"n": 4}
    assert kid == {
        "run_id": child.id,
        "status": "succeeded",
        "outputs": {"total": 40, "entity": "Small Agency"},
    }
    assert view.run.vars == {"total": 40, "child": child.id, "child_status": "succeeded"}
    parent_kinds = bench.kinds(view.run.id)
    assert parent_kinds.count("run.waiting") == 1 and parent_kinds.count("run.running") == 2


def test_wait_false_moves_on(bench: Bench) -> None:
    view = bench.start("parent_nowait")
    assert view.run.status == "succeeded"
    kid = bench.steps(view.run.id)["kid"].result
    assert kid["status"] == "pending" and kid["outputs"] == {}
    assert "run.waiting" not in bench.kinds(view.run.id)
    child = bench.view(kid["run_id"]).run
    assert child.parent_run_id == view.run.id
    assert child.status == "succeeded"  # driven by the same process, after the parent
    assert child.outputs["total"] == 20


def test_a_failing_child_fails_the_waiting_step(bench: Bench) -> None:
    view = bench.start("parent_of_failure")
    assert view.run.status == "failed"
    (child,) = bench.service.list_runs(sop_id="child_fails")
    assert child.status == "failed"
    assert bench.steps(view.run.id)["kid"].error == (
        f"child run {child.id} failed: step 'check' failed: validation failed: qty must be positive"
    )
    assert "after" not in bench.steps(view.run.id)


def test_child_waiting_for_a_person_then_both_finish(bench: Bench) -> None:
    view = bench.start("parent_of_approval")
    assert (view.run.status, view.run.wait_kind) == ("waiting", "child")
    (child,) = bench.service.list_runs(sop_id="child_approval")
    assert child.status == "waiting" and child.wait_kind == "approval"
    task = bench.open_task(child.id)
    assert task.entity == "agency"
    with pytest.raises(DecisionRefused, match="bob does not serve entity 'agency'"):
        bench.decide(task.id, "bob")
    decided = bench.decide(task.id, "dan")
    assert decided["run_status"] == "succeeded"
    assert bench.view(view.run.id).run.status == "succeeded"
    assert bench.steps(view.run.id)["kid"].result["status"] == "succeeded"


def test_cancelling_the_parent_cancels_its_waiting_child(bench: Bench) -> None:
    view = bench.start("parent_of_approval")
    (child,) = bench.service.list_runs(sop_id="child_approval")
    task = bench.open_task(child.id)
    cancelled = bench.service.cancel(view.run.id, actor="ann", reason="plans changed")
    assert cancelled == [view.run.id, child.id]
    assert bench.view(child.id).run.status == "cancelled"
    assert bench.view(child.id).run.error == "plans changed"
    with pytest.raises(DecisionRefused, match="was cancelled"):
        bench.decide(task.id, "dan")
    assert bench.service.recover() == []
    journal = bench.journal(child.id)
    assert journal[-1]["kind"] == "run.cancelled" and journal[-1]["actor"] == "ann"


def test_a_cancelled_child_wakes_its_waiting_parent(bench: Bench) -> None:
    view = bench.start("parent_of_approval")
    (child,) = bench.service.list_runs(sop_id="child_approval")
    assert bench.service.cancel(child.id, actor="ann") == [child.id]
    assert bench.service.recover() == [(view.run.id, "failed")]
    assert bench.view(view.run.id).run.error == (
        f"step 'kid' failed: child run {child.id} cancelled: cancelled"
    )


def test_children_dry_run_with_their_parent(bench: Bench) -> None:
    view = bench.dry("parent_of_approval")
    assert view.run.status == "succeeded"
    (child,) = bench.service.list_runs(sop_id="child_approval")
    assert child.dry_run and child.status == "succeeded"
    assert bench.service.tasks(status="all") == []
    wait = bench.dry("parent_wait", {"n": 1})
    assert wait.run.vars["total"] == 10
