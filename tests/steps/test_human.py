"""approval and manual: the run waits for people; decisions, forms, N of M, timeouts."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pytest
from engine.support import Bench

from sopbench.errors import AlreadyDecided, DecisionRefused
from sopbench.steps.human import fingerprint


def _sleep_past(moment: datetime) -> None:
    time.sleep(max(0.0, (moment - datetime.now(UTC)).total_seconds()) + 0.05)


def _waiting_task(bench: Bench, sop_id: str, inputs: dict[str, Any] | None = None, **kw: Any):
    view = bench.start(sop_id, inputs or {}, **kw)
    assert view.run.status == "waiting", view.run.error
    return view, bench.open_task(view.run.id)


# -- approval ------------------------------------------------------------------------


def test_approval_waits_then_resumes_once_approved(bench: Bench) -> None:
    view, task = _waiting_task(bench, "human_approval", {"title": "Laptops"}, started_by="ann")
    assert view.run.wait_kind == "approval"
    assert task.kind == "approval" and task.status == "open"
    assert task.title == "Buy Laptops?"
    assert task.approvers == ["manager"] and task.required == 1
    assert task.subject_fingerprint == fingerprint({"title": "Laptops"})
    assert set(task.form) == {"budget", "vendor", "deliver_on"}
    assert [t.id for t in bench.service.tasks(person="bob")] == [task.id]
    assert bench.service.tasks(person="ann") == []  # she started the run
    assert bench.service.tasks(person="cara") == []  # not a manager

    decided = bench.decide(
        task.id,
        "bob",
        comment="go",
        fields={"budget": "1200", "vendor": "acme", "deliver_on": "2027-03-01"},
    )
    assert decided["settled"] and decided["status"] == "approved"
    assert decided["run_status"] == "succeeded"

    steps = bench.steps(view.run.id)
    assert steps["sign_off"].result == {
        "decision": "approved",
        "decided_by": "bob",
        "comment": "go",
        "fields": {"budget": 1200, "vendor": "acme", "deliver_on": "2027-03-01"},
        "approvals": 1,
    }
    assert steps["announce"].rendered["message"] == "bob approved Laptops for 1200"
    kinds = bench.kinds(view.run.id)
    assert kinds.count("task.decided") == 1
    assert kinds.count("run.waiting") == 1


def test_rejection_is_a_decision_and_the_run_goes_on(bench: Bench) -> None:
    view, task = _waiting_task(bench, "human_approval", {"title": "Gold"})
    decided = bench.decide(task.id, "dan", action="reject", comment="too dear")
    assert decided["status"] == "rejected" and decided["run_status"] == "succeeded"
    steps = bench.steps(view.run.id)
    assert steps["sign_off"].result["decision"] == "rejected"
    assert steps["sign_off"].result["comment"] == "too dear"
    assert steps["announce"].status == "skipped"


def test_no_self_approval(bench: Bench) -> None:
    view, task = _waiting_task(bench, "human_approval", {"title": "X"}, started_by="bob")
    with pytest.raises(DecisionRefused, match="bob started this run and cannot approve its steps"):
        bench.decide(task.id, "bob", fields={"budget": 1})
    with pytest.raises(DecisionRefused, match="cannot approve"):
        bench.decide(task.id, "bob", action="reject")
    assert bench.open_task(view.run.id).approvals == 0
    assert bench.view(view.run.id).run.status == "waiting"


@pytest.mark.parametrize(
    ("person", "message"),
    [
        ("cara", r"cara lacks the role to decide this task \(needs one of: manager\)"),
        ("gus", "gus lacks the role"),
        ("fay", "fay does not serve entity 'shop'"),
        ("zed", "'zed' is not in sops/people.yaml"),
    ],
)
def test_people_without_the_role_are_refused(bench: Bench, person: str, message: str) -> None:
    view, task = _waiting_task(bench, "human_approval", {"title": "X"})
    with pytest.raises(DecisionRefused, match=message):
        bench.decide(task.id, person, fields={"budget": 1})
    assert bench.open_task(view.run.id).status == "open"
    assert "task.decided" not in bench.kinds(view.run.id)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({}, "missing required field 'budget'"),
        ({"budget": "lots"}, "field 'budget': expected a whole number, got 'lots'"),
        ({"budget": 0}, "field 'budget': value 0 is below the minimum 1"),
        ({"budget": 5, "vendor": "initech"}, "field 'vendor': expected one of acme, globex"),
        ({"budget": 5, "deliver_on": "soon"}, "field 'deliver_on': expected a date"),
        ({"budget": 5, "colour": "red"}, "unknown field 'colour'"),
    ],
)
def test_form_fields_are_validated_by_type(
    bench: Bench, fields: dict[str, Any], message: str
) -> None:
    view, task = _waiting_task(bench, "human_approval", {"title": "X"})
    with pytest.raises(DecisionRefused, match=message):
        bench.decide(task.id, "bob", fields=fields)
    assert bench.open_task(view.run.id).status == "open"


def test_an_approval_is_not_completed(bench: Bench) -> None:
    _, task = _waiting_task(bench, "human_approval", {"title": "X"})
    with pytest.raises(DecisionRefused, match="decided with approve or reject, not complete"):
        bench.decide(task.id, "bob", action="complete")


def test_two_of_many(bench: Bench) -> None:
    view, task = _waiting_task(bench, "human_approval_two")
    first = bench.decide(task.id, "ann")
    assert not first["settled"] and first["status"] == "open"
    assert (first["approvals"], first["required"]) == (1, 2)
    assert bench.view(view.run.id).run.status == "waiting"
    with pytest.raises(AlreadyDecided, match="ann already decided"):
        bench.decide(task.id, "ann")
    second = bench.decide(task.id, "dan")
    assert second["settled"] and second["run_status"] == "succeeded"
    assert bench.view(view.run.id).run.vars == {"decision": "approved", "votes": 2}
    with pytest.raises(AlreadyDecided, match=r"already approved by dan at \d{4}-"):
        bench.decide(task.id, "bob")
    kinds = bench.kinds(view.run.id)
    assert kinds.count("task.vote") == 1 and kinds.count("task.decided") == 1


def test_one_rejection_settles_n_of_m(bench: Bench) -> None:
    view, task = _waiting_task(bench, "human_approval_two")
    bench.decide(task.id, "ann")
    decided = bench.decide(task.id, "bob", action="reject")
    assert decided["status"] == "rejected"
    assert bench.view(view.run.id).run.vars["decision"] == "rejected"


def test_timeout_rejects_by_default_and_never_approves(bench: Bench) -> None:
    view, task = _waiting_task(bench, "human_approval_timeout")
    assert task.due_at is not None and view.run.wake_at == task.due_at
    if (task.due_at - datetime.now(UTC)).total_seconds() > 0.3:
        assert bench.service.recover() == []  # not due yet
    _sleep_past(task.due_at)
    with pytest.raises(DecisionRefused, match="timed out at"):
        bench.decide(task.id, "bob")
    assert bench.service.recover() == [(view.run.id, "succeeded")]
    assert bench.view(view.run.id).run.vars == {"decision": "rejected", "by": "timeout"}
    assert bench.service.tasks(status="expired")[0].id == task.id
    with pytest.raises(DecisionRefused, match=r"timed out at .*; it can no longer be decided"):
        bench.decide(task.id, "bob")
    assert "task.expired" in bench.kinds(view.run.id)


def test_timeout_fails_the_step_when_told(bench: Bench) -> None:
    view, task = _waiting_task(bench, "human_approval_timeout_fail")
    _sleep_past(task.due_at)
    assert bench.service.recover() == [(view.run.id, "failed")]
    failed = bench.view(view.run.id)
    assert failed.run.error == (
        "step 'sign_off' failed: approval 'Quick decision' timed out without a decision"
    )
    assert "after" not in bench.steps(view.run.id)


def test_decisions_on_a_cancelled_run_are_refused(bench: Bench) -> None:
    view, task = _waiting_task(bench, "human_approval", {"title": "X"})
    assert bench.service.cancel(view.run.id, actor="ann", reason="not needed") == [view.run.id]
    with pytest.raises(DecisionRefused, match=f"task {task.id} was cancelled at"):
        bench.decide(task.id, "bob", fields={"budget": 1})
    assert bench.view(view.run.id).run.status == "cancelled"
    with pytest.raises(DecisionRefused, match="already cancelled"):
        bench.service.cancel(view.run.id, actor="ann")


def test_decide_without_continuing_leaves_the_run_to_a_worker(bench: Bench) -> None:
    view, task = _waiting_task(bench, "human_approval", {"title": "X"})
    decided = bench.decide(task.id, "bob", fields={"budget": 3}, continue_run=False)
    assert decided["run_status"] == "pending"
    assert bench.service.recover() == [(view.run.id, "succeeded")]
    assert bench.service.recover() == []


def test_approval_dry_run_is_approved_without_anyone(bench: Bench) -> None:
    view = bench.dry("human_approval", {"title": "Laptops"})
    assert view.run.status == "succeeded"
    assert bench.service.tasks(status="all") == []
    result = bench.steps(view.run.id)["sign_off"].result
    assert result["decision"] == "approved"
    assert result["comment"] == "approved (dry-run)"
    assert result["fields"] == {"budget": 1, "vendor": "acme", "deliver_on": "2027-01-01"}


# -- manual --------------------------------------------------------------------------


def test_manual_waits_until_completed(bench: Bench) -> None:
    view, task = _waiting_task(bench, "human_manual", started_by="cara")
    assert view.run.wait_kind == "manual"
    assert task.title == "count"
    assert task.description == "Count the laptops in the back room."
    assert task.checklist == ["Open the back room", "Count every box"]
    # the inbox shows the task to whoever may complete it: the assignee role (the
    # starter included: checklist work is not an approval) and managers standing in
    for person, listed in (("cara", True), ("dan", True), ("ann", True), ("gus", False)):
        assert ([t.id for t in bench.service.tasks(person=person)] == [task.id]) is listed
    # the person who started the run may do its checklist work
    done = bench.decide(
        task.id, "cara", action="complete", fields={"laptops": "12", "counted_on": "2027-03-01"}
    )
    assert done["status"] == "completed" and done["run_status"] == "succeeded"
    assert bench.steps(view.run.id)["count"].result == {
        "completed_by": "cara",
        "fields": {"laptops": 12, "counted_on": "2027-03-01", "note": None},
    }
    assert bench.view(view.run.id).run.vars == {"laptops": 12, "by": "cara"}


def test_manual_refusals(bench: Bench) -> None:
    _, task = _waiting_task(bench, "human_manual")
    with pytest.raises(DecisionRefused, match="decided with complete, not approve"):
        bench.decide(task.id, "cara", action="approve")
    with pytest.raises(DecisionRefused, match="gus lacks the role"):
        bench.decide(task.id, "gus", action="complete", fields={"laptops": 1})
    with pytest.raises(DecisionRefused, match="field 'laptops': value -1 is below the minimum 0"):
        bench.decide(
            task.id,
            "cara",
            action="complete",
            fields={"laptops": -1, "counted_on": "2027-01-01"},
        )
    with pytest.raises(DecisionRefused, match="missing required field 'counted_on'"):
        bench.decide(task.id, "cara", action="complete", fields={"laptops": 1})
    # a manager may stand in for the assignee
    done = bench.decide(
        task.id, "dan", action="complete", fields={"laptops": 1, "counted_on": "2027-01-01"}
    )
    assert done["run_status"] == "succeeded"


def test_manual_past_due_fails_the_run(bench: Bench) -> None:
    view, task = _waiting_task(bench, "human_manual_due")
    _sleep_past(task.due_at)
    with pytest.raises(DecisionRefused, match="timed out"):
        bench.decide(task.id, "cara", action="complete")
    assert bench.service.recover() == [(view.run.id, "failed")]
    assert (
        bench.view(view.run.id).run.error
        == "step 'count' failed: 'count' was not completed in time"
    )


def test_manual_dry_run_completes_with_example_fields(bench: Bench) -> None:
    view = bench.dry("human_manual")
    assert view.run.status == "succeeded"
    assert bench.steps(view.run.id)["count"].result == {
        "completed_by": "dry-run",
        "fields": {"laptops": 1, "counted_on": "2027-01-01", "note": "<note>"},
    }
    assert view.run.vars == {"laptops": 1, "by": "dry-run"}
