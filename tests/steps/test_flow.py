"""transform, condition, loop, validation and delay: success, failure and dry-run."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from engine.support import Bench


def _paths(bench: Bench, run_id: str) -> dict[str, str]:
    return {path: row.status for path, row in bench.steps(run_id).items()}


# -- transform -----------------------------------------------------------------------


def test_transform_sets_vars_with_native_types(bench: Bench) -> None:
    view = bench.start("flow_transform", {"items": [1, 2, 3], "divisor": 4})
    assert view.run.status == "succeeded"
    assert view.run.vars == {
        "total": 6,
        "count": 3,
        "label": "Total 6 of 3",
        "first_two": [1, 2],
        "share": 1,
        "again": 12,
    }
    assert view.run.outputs == {"total": 6, "share": 1}
    totals = bench.steps(view.run.id)["totals"]
    assert totals.result == totals.rendered["set"]


def test_transform_failure_names_the_template_problem(bench: Bench) -> None:
    view = bench.start("flow_transform", {"items": [5], "divisor": 0})
    assert view.run.status == "failed"
    share = bench.steps(view.run.id)["share"]
    assert share.status == "failed"
    assert "ZeroDivisionError" in (share.error or "")
    assert view.run.error is not None and view.run.error.startswith("step 'share' failed")
    assert view.run.vars == {"total": 5, "count": 1, "label": "Total 5 of 1", "first_two": [5]}


def test_transform_dry_run_computes_the_same(bench: Bench) -> None:
    view = bench.dry("flow_transform", {"items": [1, 2, 3]})
    assert view.run.status == "succeeded" and view.run.dry_run
    assert view.run.outputs == {"total": 6, "share": 6}
    assert bench.recorder.requests == []


# -- condition -----------------------------------------------------------------------


def test_condition_then_branch(bench: Bench) -> None:
    view = bench.start("flow_condition", {"amount": 150})
    assert view.run.status == "succeeded"
    assert _paths(bench, view.run.id) == {
        "size": "succeeded",
        "size.big": "succeeded",
        "size.big_note": "succeeded",
        "report": "succeeded",
    }
    assert bench.steps(view.run.id)["size"].result == {"branch": "then"}
    assert view.run.vars["summary"] == "big via then"


def test_condition_else_branch(bench: Bench) -> None:
    view = bench.start("flow_condition", {"amount": 150, "limit": "500"})
    assert _paths(bench, view.run.id) == {
        "size": "succeeded",
        "size.small": "succeeded",
        "report": "succeeded",
    }
    assert view.run.vars["summary"] == "small via else"


def test_condition_failure_when_the_if_cannot_be_evaluated(bench: Bench) -> None:
    view = bench.start("flow_condition_bad", {"amount": 1, "limit": "abc"})
    assert view.run.status == "failed"
    size = bench.steps(view.run.id)["size"]
    assert size.status == "failed"
    assert "'>' not supported" in (size.error or "")
    assert "size.big" not in bench.steps(view.run.id)


def test_condition_dry_run_takes_the_same_path(bench: Bench) -> None:
    view = bench.dry("flow_condition", {"amount": 5})
    assert view.run.status == "succeeded"
    assert set(_paths(bench, view.run.id)) == {"size", "size.small", "report"}
    assert bench.recorder.requests == []


# -- loop ----------------------------------------------------------------------------


def test_loop_runs_nested_steps_per_item(bench: Bench) -> None:
    view = bench.start("flow_loop", {"items": ["apple", "pear", "fig"]})
    assert view.run.status == "succeeded"
    steps = bench.steps(view.run.id)
    assert list(steps) == [
        "each",
        "each[0].shout",
        "each[0].tell",
        "each[1].shout",
        "each[1].tell",
        "each[2].shout",
        "each[2].tell",
        "after",
    ]
    assert steps["each[1].shout"].result == {"last": "PEAR"}
    assert steps["each[2].tell"].rendered["message"] == "got FIG"
    loop = steps["each"].result
    assert loop["items"] == ["apple", "pear", "fig"]
    assert [r["shout"] for r in loop["results"]] == [
        {"last": "APPLE"},
        {"last": "PEAR"},
        {"last": "FIG"},
    ]
    assert view.run.vars == {"last": "FIG", "count": 3, "seen": ["apple", "pear", "fig"]}


def test_loop_over_an_empty_list(bench: Bench) -> None:
    view = bench.start("flow_loop", {"items": "[]"})
    assert view.run.status == "succeeded"
    assert bench.steps(view.run.id)["each"].result == {"items": [], "results": []}


def test_nested_loops_have_nested_paths(bench: Bench) -> None:
    view = bench.start("flow_nested_loop", {"rows": [[1, 2], [3]]})
    assert view.run.status == "succeeded"
    steps = bench.steps(view.run.id)
    assert [p for p in steps if p.endswith("cell_step")] == [
        "outer[0].inner[0].cell_step",
        "outer[0].inner[1].cell_step",
        "outer[1].inner[0].cell_step",
    ]
    assert steps["outer[0].inner[1].cell_step"].result == {"product": 20}
    assert steps["outer[1].inner"].result["items"] == [3]


def test_loop_failure_when_over_is_not_a_list(bench: Bench) -> None:
    view = bench.start("flow_loop_bad", {"value": 3})
    assert view.run.status == "failed"
    each = bench.steps(view.run.id)["each"]
    assert each.status == "failed"
    assert each.error == "with.over: expected a valid string or a valid list, got int"
    assert not any(p.startswith("each[") for p in bench.steps(view.run.id))


def test_loop_dry_run_walks_every_item(bench: Bench) -> None:
    view = bench.dry("flow_loop", {"items": ["a", "b"]})
    assert view.run.status == "succeeded"
    assert "each[1].tell" in bench.steps(view.run.id)
    assert bench.steps(view.run.id)["each[1].tell"].result["simulated"] is True


# -- validation ----------------------------------------------------------------------


def test_validation_passes(bench: Bench) -> None:
    view = bench.start("flow_validation", {"qty": 2, "name": "Widget"})
    assert view.run.status == "succeeded"
    assert bench.steps(view.run.id)["check"].result == {"passed": True}
    assert view.run.vars == {"passed": True}


def test_validation_fails_with_every_message(bench: Bench) -> None:
    view = bench.start("flow_validation", {"qty": 0, "name": "ab"})
    assert view.run.status == "failed"
    check = bench.steps(view.run.id)["check"]
    assert check.error == "validation failed: qty must be positive; name is too short"
    assert "ok" not in bench.steps(view.run.id)


def test_validation_dry_run_checks_too(bench: Bench) -> None:
    assert bench.dry("flow_validation", {"qty": 1, "name": "Widget"}).run.status == "succeeded"
    assert bench.dry("flow_validation", {"qty": -1, "name": "Widget"}).run.status == "failed"


# -- delay ---------------------------------------------------------------------------


def test_delay_parks_the_run_until_a_worker_wakes_it(bench: Bench) -> None:
    view = bench.start("flow_delay", {"seconds": "1s"})
    assert view.run.status == "waiting" and view.run.wait_kind == "delay"
    assert view.run.wake_at is not None
    if (view.run.wake_at - datetime.now(UTC)).total_seconds() > 0.3:
        assert bench.service.recover() == []  # not due yet
    time.sleep(max(0.0, (view.run.wake_at - datetime.now(UTC)).total_seconds()) + 0.05)
    assert bench.service.recover() == [(view.run.id, "succeeded")]
    done = bench.view(view.run.id)
    woke = datetime.fromisoformat(done.run.vars["woke"])
    assert woke >= view.run.wake_at
    assert bench.steps(view.run.id)["before"].attempt == 1  # not run again


def test_delay_is_durable_across_processes(bench: Bench) -> None:
    """The process that starts the run exits while it waits; recovery later finishes it."""
    started = time.monotonic()
    done = bench.cli("run", "flow_delay", "--input", "seconds=2s", "--json")
    assert done.returncode == 0, done.stderr
    runs = bench.service.list_runs(sop_id="flow_delay")
    assert [r.status for r in runs] == ["waiting"]
    run = runs[0]
    assert run.lease_owner is None and run.wake_at is not None
    assert bench.steps(run.id)["before"].status == "succeeded"
    remaining = (run.wake_at - datetime.now(UTC)).total_seconds()
    if remaining > 0.1:
        assert bench.service.recover() == []
    time.sleep(max(0.0, remaining) + 0.05)
    assert bench.service.recover() == [(run.id, "succeeded")]
    assert time.monotonic() - started >= 2
    assert bench.view(run.id).run.vars["stage"] == "after"


def test_delay_until_a_moment_in_the_past_goes_on(bench: Bench) -> None:
    past = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    view = bench.start("flow_delay_until", {"until": past})
    assert view.run.status == "succeeded"


def test_delay_until_without_zone_uses_the_entity_zone(bench: Bench) -> None:
    view = bench.start("flow_delay_until", {"until": "2999-01-01T09:00:00"})
    assert view.run.status == "waiting"
    # shop is in America/Denver: 09:00 there is 16:00 UTC in winter
    assert view.run.wake_at == datetime(2999, 1, 1, 16, 0, tzinfo=UTC)
    bench.service.cancel(view.run.id, actor="test")


def test_delay_failure_on_a_bad_moment(bench: Bench) -> None:
    view = bench.start("flow_delay_until", {"until": "next tuesday"})
    assert view.run.status == "failed"
    assert bench.steps(view.run.id)["pause"].error == "`until` is not a date-time: 'next tuesday'"


def test_delay_failure_on_a_bad_duration(bench: Bench) -> None:
    view = bench.start("flow_delay", {"seconds": "soon"})
    assert view.run.status == "failed"
    assert "with.duration" in (bench.steps(view.run.id)["pause"].error or "")


def test_delay_dry_run_does_not_wait(bench: Bench) -> None:
    view = bench.dry("flow_delay", {"seconds": "7d"})
    assert view.run.status == "succeeded"
    pause = bench.steps(view.run.id)["pause"].result
    assert pause["simulated"] is True
