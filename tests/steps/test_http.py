"""api_call and webhook against a real HTTP server: headers, keys, expect, retry, timeout."""

from __future__ import annotations

import time
from datetime import timedelta

import time_machine
from engine.support import SECRET, Bench

from sopbench.engine import idempotency_key
from sopbench.scheduler import Scheduler


def test_api_call_get_then_post(bench: Bench) -> None:
    rec = bench.recorder
    rec.respond("/orders", 201, json={"id": "ord-7"})
    view = bench.start("http_call", {"sku": "LAP-1", "qty": "2"})
    assert view.run.status == "succeeded", view.run.error
    run_id = view.run.id

    lookup, order = rec.requests
    assert (lookup.method, lookup.path, lookup.query) == ("GET", "/items", {"sku": ["LAP-1"]})
    assert lookup.header("Authorization") == f"Bearer {SECRET}"
    assert lookup.header("X-Client") == "sopbench-tests"
    assert lookup.header("X-Trace") == "trace-LAP-1"
    assert lookup.key is None  # a GET changes nothing: no key
    assert (order.method, order.path) == ("POST", "/orders")
    assert order.body == {"sku": "LAP-1", "qty": 2, "seen": 200, "first": 1}
    assert order.key == idempotency_key(run_id, "order", "http")
    assert order.header("Content-Type") == "application/json"

    steps = bench.steps(run_id)
    assert steps["lookup"].result["status"] == 200
    assert steps["lookup"].result["json"]["path"] == "/items"
    assert steps["lookup"].result["headers"]["content-type"] == "application/json"
    assert steps["order"].result["status"] == 201
    assert view.run.vars == {"order_id": "ord-7", "status": 201}
    assert steps["order"].rendered["json"] == {"sku": "LAP-1", "qty": 2, "seen": 200, "first": 1}

    effects = bench.service.engine.effects.of_run(run_id)
    assert [(e["step_path"], e["status"]) for e in effects] == [
        ("lookup", "done"),
        ("order", "done"),
    ]
    assert effects[1]["idempotency_key"] == order.key
    assert effects[1]["request"]["url"] == f"{rec.url}/orders"
    assert effects[1]["response"]["status"] == 201


def test_api_call_fails_when_the_answer_is_not_expected(bench: Bench) -> None:
    view = bench.start("http_expect")
    assert view.run.status == "failed"
    error = bench.steps(view.run.id)["order"].error
    assert error == (
        f"http: PUT {bench.recorder.url}/orders/1 answered 200, expected 201 "
        "(check the request, or list the status under `expect`)"
    )
    assert len(bench.recorder.requests) == 1  # a PUT is safe to repeat, but 200 is an answer


def test_api_call_fails_on_a_4xx(bench: Bench) -> None:
    bench.recorder.fail("/items", 404, times=None)
    view = bench.start("http_call", {"sku": "NOPE"})
    assert view.run.status == "failed"
    assert bench.steps(view.run.id)["lookup"].error == (
        f"http: GET {bench.recorder.url}/items answered 404: failing on purpose (404)"
    )
    assert len(bench.recorder.requests) == 1  # a 4xx is not retried
    assert "order" not in bench.steps(view.run.id)
    assert bench.service.engine.effects.of_run(view.run.id)[0]["status"] == "intent"


def test_webhook_retries_5xx_with_the_same_key(bench: Bench) -> None:
    rec = bench.recorder
    rec.fail("/keyed/hook", 503, times=2)
    view = bench.through_retries(bench.start("http_webhook").run.id)
    assert view.run.status == "succeeded", view.run.error
    key = idempotency_key(view.run.id, "hook", "webhook")
    hits = rec.requests_to("/keyed/hook")
    assert [h.status for h in hits] == [503, 503, 200]
    assert {h.key for h in hits} == {key}
    assert all(h.header("X-Api-Key") == SECRET for h in hits)
    assert all(h.header("Authorization") is None for h in hits)
    assert hits[0].header("X-Event") == "order.created"
    assert hits[0].body == {"event": "order.created", "run": view.run.id}
    assert rec.completed() == {key: 1}
    hook = bench.steps(view.run.id)["hook"]
    assert (hook.status, hook.attempt, hook.result) == ("succeeded", 3, {"status": 200})
    retries = [e for e in bench.journal(view.run.id) if e["kind"] == "step.retry"]
    assert [e["data"]["attempt"] for e in retries] == [2, 3]
    assert "answered 503" in retries[0]["data"]["error"]
    assert view.run.vars == {"status": 200}


def test_webhook_retries_a_429(bench: Bench) -> None:
    bench.recorder.throttle("/keyed/hook", retry_after=1)
    view = bench.through_retries(bench.start("http_webhook", {"event": "stock.low"}).run.id)
    assert view.run.status == "succeeded"
    assert [h.status for h in bench.recorder.requests] == [429, 200]
    assert bench.recorder.requests[0].key == bench.recorder.requests[1].key


def test_webhook_fails_once_retries_are_spent(bench: Bench) -> None:
    bench.recorder.fail("/keyed/hook", 500, times=None)
    view = bench.through_retries(bench.start("http_webhook").run.id)
    assert view.run.status == "failed"
    hook = bench.steps(view.run.id)["hook"]
    assert hook.attempt == 3
    assert hook.error == (
        f"http: POST {bench.recorder.url}/keyed/hook answered 500: failing on purpose (500) "
        "(the service is having trouble; the step can be retried later)"
    )
    assert len(bench.recorder.requests) == 3  # one per step attempt: never in-call
    assert "after" not in bench.steps(view.run.id)


def test_webhook_by_url_carries_a_key_and_no_credentials(bench: Bench) -> None:
    view = bench.start("http_webhook_url", {"url": bench.recorder.url + "/plain"})
    assert view.run.status == "succeeded"
    (hit,) = bench.recorder.requests
    assert hit.key == idempotency_key(view.run.id, "hook", "webhook")
    assert hit.header("Authorization") is None and hit.body == {"hello": "world"}


def test_webhook_to_nowhere_fails_clearly(bench: Bench) -> None:
    view = bench.start("http_webhook_url", {"url": "http://127.0.0.1:9/closed"})
    assert view.run.status == "failed"
    error = bench.steps(view.run.id)["hook"].error or ""
    assert error.startswith("http: POST http://127.0.0.1:9/closed failed: ConnectError")


def test_step_timeout_cuts_a_slow_call(bench: Bench) -> None:
    bench.recorder.slow("/slow", 5.0)
    started = time.monotonic()
    view = bench.start("http_timeout")
    elapsed = time.monotonic() - started
    assert view.run.status == "failed"
    assert bench.steps(view.run.id)["slow"].error == (
        f"http: GET {bench.recorder.url}/slow got no answer within 1s "
        "(the service is slow or down; raise the connection's timeout or retry later)"
    )
    # the step's timeout bounds the whole call: a GET is safe to retry, but not past it
    assert elapsed < 4


def test_http_dry_runs_never_call_out(bench: Bench) -> None:
    for sop_id, inputs in (
        ("http_expect", {}),
        ("http_webhook", {}),
        ("http_timeout", {}),
        ("http_webhook_url", {"url": bench.recorder.url + "/x"}),
    ):
        view = bench.dry(sop_id, inputs)
        assert view.run.status == "succeeded", (sop_id, view.run.error)
        for step in view.steps:
            if step.type in ("api_call", "webhook"):
                assert step.result["simulated"] is True
    assert bench.recorder.requests == []


def test_a_dry_run_cannot_read_a_response_it_never_got(bench: Bench) -> None:
    """A simulated call has no body: a template reading one fails the dry-run clearly."""
    view = bench.dry("http_call", {"sku": "A"})
    steps = bench.steps(view.run.id)
    assert steps["lookup"].result["simulated"] is True
    assert steps["lookup"].rendered["headers"] == {"X-Trace": "trace-A"}
    assert steps["order"].status == "skipped"
    assert view.run.status == "failed"
    assert (
        steps["keep"].error == "undefined value in template: 'dict object' has no attribute 'json'"
    )
    assert bench.recorder.requests == []


def test_an_answer_with_non_standard_numbers_is_kept_safely(bench: Bench) -> None:
    """Python's JSON reader accepts Infinity/NaN; PostgreSQL would refuse to store them."""
    bench.recorder.respond("/items", json={"seq": 1, "ratio": float("inf"), "odd": float("nan")})
    bench.recorder.respond("/orders", 201, json={"id": "o-1"})
    view = bench.start("http_call", {"sku": "X"})
    assert view.run.status == "succeeded", view.run.error
    lookup = bench.steps(view.run.id)["lookup"].result["json"]
    assert lookup == {"seq": 1, "ratio": "Infinity", "odd": "NaN"}


def test_a_long_retry_after_is_a_durable_wait_not_a_sleep(bench: Bench) -> None:
    """503 + Retry-After: 600 behind an approval: `sopbench approve` returns at once,
    the run waits (kind retry) until then, and a tick after that completes it."""
    bench.recorder.fail("/keyed/hook", 503, times=1, headers={"Retry-After": "600"})
    run_id = bench.start("http_approved_hook", started_by="ann").run.id
    task = bench.open_task(run_id)

    started = time.monotonic()
    approved = bench.cli("approve", task.id, "--as", "bob")
    took = time.monotonic() - started
    assert approved.returncode == 0, approved.stderr
    assert took < 2.0, f"approve took {took:.2f} s"

    view = bench.view(run_id)
    assert (view.run.status, view.run.wait_kind, view.run.lease_owner) == (
        "waiting",
        "retry",
        None,
    )
    (retry,) = [e for e in bench.journal(run_id) if e["kind"] == "step.retry"]
    assert retry["data"]["wait_seconds"] == 600.0 and "503" in retry["data"]["error"]
    assert view.run.wake_at is not None
    assert 590 <= (view.run.wake_at - retry["ts"]).total_seconds() <= 610

    bench.service.recover()  # too early: left alone
    assert bench.view(run_id).run.status == "waiting"
    with time_machine.travel(view.run.wake_at + timedelta(seconds=1), tick=True):
        ticked = Scheduler(bench.service).tick()  # what cron's `sopbench tick` runs
    assert (run_id, "succeeded") in ticked.recovered
    done = bench.view(run_id)
    assert done.run.status == "succeeded", done.run.error
    assert [h.status for h in bench.recorder.requests_to("/keyed/hook")] == [503, 200]


def test_a_retry_after_beyond_max_backoff_fails_the_step_saying_so(bench: Bench) -> None:
    bench.recorder.fail("/keyed/hook", 503, times=1, headers={"Retry-After": "7200"})
    run_id = bench.start("http_approved_hook", started_by="ann").run.id
    bench.decide(bench.open_task(run_id).id, "bob")
    view = bench.view(run_id)
    assert view.run.status == "failed"
    error = bench.steps(run_id)["hook"].error or ""
    assert "answered 503" in error
    assert "asked to wait 2h by Retry-After, longer than the step's retry.max_backoff of 1h" in (
        error
    )
    assert len(bench.recorder.requests_to("/keyed/hook")) == 1
