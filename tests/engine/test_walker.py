"""Common step fields: `when`, `on_error`, `retry` with backoff."""

from __future__ import annotations

import pytest

from engine.support import Bench
from sopbench.engine import idempotency_key


@pytest.mark.parametrize(
    ("inputs", "ran"),
    [
        ({}, {"always"}),
        ({"flag": True}, {"by_flag", "by_text", "always"}),
        ({"word": "yes"}, {"by_word", "always"}),
        ({"word": "False"}, {"always"}),
        ({"word": "0"}, {"always"}),
    ],
)
def test_when_skips_steps(bench: Bench, inputs: dict[str, object], ran: set[str]) -> None:
    view = bench.start("eng_when", inputs)
    assert view.run.status == "succeeded"
    statuses = {s.path: s.status for s in view.steps}
    assert {p for p, s in statuses.items() if s == "succeeded"} == ran
    assert {p for p, s in statuses.items() if s == "skipped"} == set(statuses) - ran
    skipped = next(s for s in view.steps if s.path == "never")
    assert skipped.result == {"skipped": True} and skipped.rendered is None
    assert view.run.vars["never_skipped"] is True
    assert view.run.vars["flag_skipped"] is ("by_flag" not in ran)


def test_when_that_cannot_be_evaluated_fails_the_step(bench: Bench) -> None:
    view = bench.start("eng_when_bad")
    assert view.run.status == "failed"
    odd = next(s for s in view.steps if s.path == "odd")
    assert odd.error == "`when`: undefined value in template: 'dict object' has no attribute 'nope'"


def test_on_error_continue_records_the_failure_and_goes_on(bench: Bench) -> None:
    bench.recorder.fail("/down", 502, times=None)
    view = bench.start("eng_on_error")
    assert view.run.status == "succeeded"
    steps = {s.path: s for s in view.steps}
    assert steps["hook"].status == "failed"
    assert (steps["hook"].error or "").startswith(
        f"http: POST {bench.recorder.url}/down answered 502"
    )
    assert view.run.vars["failed"] is True
    assert view.run.vars["why"] == steps["hook"].error
    assert steps["bad_template"].status == "failed"
    assert "ZeroDivisionError" in (steps["bad_template"].error or "")
    assert view.run.vars["finished"] is True
    assert view.run.error is None


def test_retry_waits_with_backoff_and_keeps_the_key(bench: Bench) -> None:
    bench.recorder.fail("/flaky", 500, times=1)
    started = bench.start("eng_retry")
    # the backoff is a durable wait: the run is parked, nobody sleeps
    assert (started.run.status, started.run.wait_kind) == ("waiting", "retry")
    (retry,) = [e for e in bench.journal(started.run.id) if e["kind"] == "step.retry"]
    assert retry["data"]["attempt"] == 2 and retry["data"]["wait_seconds"] == 1.0
    assert "answered 500" in retry["data"]["error"]
    assert started.run.wake_at is not None
    assert abs((started.run.wake_at - retry["ts"]).total_seconds() - 1.0) < 0.5
    assert started.run.lease_owner is None
    view = bench.through_retries(started.run.id)
    assert view.run.status == "succeeded", view.run.error
    first, second = bench.recorder.requests
    assert first.key == second.key == idempotency_key(view.run.id, "call", "http")
    call = next(s for s in view.steps if s.path == "call")
    assert call.attempt == 2 and call.result["status"] == 200


def test_retry_obeys_retry_after_over_the_backoff(bench: Bench) -> None:
    bench.recorder.throttle("/flaky", retry_after=2, times=1)
    started = bench.start("eng_retry")
    assert (started.run.status, started.run.wait_kind) == ("waiting", "retry")
    (retry,) = [e for e in bench.journal(started.run.id) if e["kind"] == "step.retry"]
    assert retry["data"]["wait_seconds"] == 2.0 and "answered 429" in retry["data"]["error"]
    view = bench.through_retries(started.run.id)
    assert view.run.status == "succeeded", view.run.error
    assert len(bench.recorder.requests) == 2


def test_retry_gives_up_after_max_attempts(bench: Bench) -> None:
    bench.recorder.fail("/flaky", 500, times=None)
    view = bench.through_retries(bench.start("eng_retry").run.id)
    assert view.run.status == "failed"
    assert len(bench.recorder.requests) == 2
    effects = bench.service.engine.effects.of_run(view.run.id)
    assert [(e["status"], e["attempt"]) for e in effects] == [("intent", 2)]


def test_a_loop_waits_and_resumes_item_by_item(bench: Bench) -> None:
    view = bench.start("eng_loop_waits", {"items": ["a", "b"]})
    assert bench.open_task(view.run.id).step_path == "each[0].ok"
    bench.decide(bench.open_task(view.run.id).id, "bob")
    task = bench.open_task(view.run.id)
    assert (task.step_path, task.title) == ("each[1].ok", "Ship b?")
    bench.decide(task.id, "dan")
    done = bench.view(view.run.id)
    assert done.run.status == "succeeded"
    statuses = {s.path: s.status for s in done.steps}
    assert statuses == {
        "each": "succeeded",
        "each[0].ok": "succeeded",
        "each[0].branch": "succeeded",
        "each[0].branch.shipped": "succeeded",
        "each[1].ok": "succeeded",
        "each[1].branch": "succeeded",
        "each[1].branch.shipped": "succeeded",
        "after": "succeeded",
    }
    assert done.run.vars == {"last_shipped": "b", "done": True}
    started = [e["step_path"] for e in bench.journal(view.run.id) if e["kind"] == "step.started"]
    assert len(started) == len(set(started))  # resuming ran nothing twice


def test_a_failing_nested_step_fails_its_enclosing_steps(bench: Bench) -> None:
    view = bench.start("eng_loop_waits", {"items": ["a", "bomb"]})
    bench.decide(bench.open_task(view.run.id).id, "bob")
    bench.decide(bench.open_task(view.run.id).id, "bob", action="reject")
    done = bench.view(view.run.id)
    assert done.run.status == "failed"
    assert done.run.error == "step 'check' failed: validation failed: refused bomb"
    statuses = {s.path: s.status for s in done.steps}
    assert statuses["each[1].branch.check"] == "failed"
    assert statuses["each[1].branch"] == "failed"
    assert statuses["each"] == "failed"
    assert "after" not in statuses
    assert "running" not in statuses.values()


def test_on_error_continue_on_a_loop_contains_a_nested_failure(bench: Bench) -> None:
    view = bench.start("eng_loop_continue", {"items": [1, -2, 3]})
    assert view.run.status == "succeeded"
    statuses = {s.path: s.status for s in view.steps}
    assert statuses["each[1].positive"] == "failed"
    assert statuses["each"] == "failed"
    assert "each[2].positive" not in statuses  # the loop stopped at its failure
    assert view.run.vars == {"each_failed": True}
    assert bench.start("eng_loop_continue", {"items": [1, 2]}).run.vars == {"each_failed": False}
