"""A dry-run renders templates that read responses only a real run would have."""

from __future__ import annotations

from sopbench.simulated import Simulated, lenient

from .support import Bench


def test_dry_run_renders_unknown_response_fields_as_placeholders(bench: Bench) -> None:
    view = bench.dry("eng_dry_lookup")
    assert view.run.status == "succeeded", view.as_dict()
    assert view.run.vars["customer_id"] == "<simulated steps.lookup.json.customer.id>"
    assert view.run.vars["greeting"] == (
        "Hello <simulated steps.lookup.json.customer.name>, "
        "order <simulated steps.lookup.json['orders'][0]>"
    )
    assert view.run.vars["order_count"] == 0  # an unknown list loops zero times
    assert view.run.vars["tagged"] == "<simulated steps.lookup.json.customer.id>"
    assert bench.recorder.requests == []  # a dry-run never calls out


def test_real_runs_stay_strict(bench: Bench) -> None:
    bench.recorder.respond("/customers", json={"customer": {"id": 7}})
    view = bench.start("eng_dry_lookup")
    assert view.run.status == "failed"
    assert "name" in (view.run.error or "")


def test_lenient_keeps_known_values() -> None:
    value = lenient({"json": {"a": 1, "b": None, "c": [{"d": None}]}}, "steps.x")
    assert value["json"]["a"] == 1
    assert isinstance(value["json"]["b"], Simulated)
    assert value["json"]["c"][0]["d"] == "<simulated steps.x.json.c[0].d>"
    assert value["missing"].deeper.path == "steps.x.missing.deeper"
    assert list(value["json"]["b"]) == []


def test_dry_run_reports_rules_on_step_data_and_enforces_rules_on_inputs(bench: Bench) -> None:
    view = bench.dry("eng_dry_validation")
    assert view.run.status == "succeeded", view.run.error
    rules = next(s for s in view.steps if s.path == "rules")
    assert rules.result["unchecked"] == [
        "Production is not on 4.2 yet. (needs real data from steps.live)"
    ]
    bad = bench.dry("eng_dry_validation", {"url": "http://elsewhere/x"})
    assert bad.run.status == "failed"
    assert "The docs link must point at docs.example." in (bad.run.error or "")
    assert "Production" not in (bad.run.error or "")
