"""Every reference SOP, run for real against the sandbox doubles, to its end.

The bundled workspace is set up as a new user gets it (``init_workspace``),
``SandboxRunner`` starts the local doubles and points the workspace at them,
and each SOP is started with its first example inputs by a staff member of
its entity. :class:`~tests.integrations._reference_driver.Crew` then plays
the people of ``sops/people.yaml``: approvals, media sign-offs and checklists
decided by allowed people other than the starter, drafts approved by a reviewer,
durable delays woken by ``recover`` (what every tick runs) once the clock
has reached them. Every run must succeed, except the one below that fails
for a real reason, with its exact message.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sopbench.config import load_settings
from sopbench.services.content import ContentService
from sopbench.services.runs import RunService
from sopbench.services.workspace import init_workspace
from sopbench.testing.sandbox import SandboxRunner

from ._reference_driver import Crew

STARTERS = {
    # who starts each entity's runs: staff who are nobody's only possible approver
    "computer_store": "jess",
    "gov_contractor": "dana",
    "saas": "theo",
    "cross_entity": "ana",
}

EXISTING_RECORDS = {
    # CRM records the examples name by id: in the owner's CRM they exist already
    "cs_review_request": [("Repairs", "R-20417", {"Name": "Gaming PC (Jordan Ellis)"})],
    "gov_compliance_renewal": [("Certifications", "5725767000001234567", {"Name": "CMMC Level 2"})],
    "saas_churn_prevention": [
        ("Accounts", "5725767000002001001", {"Account_Name": "Basalt Dental"}),
        ("Accounts", "5725767000002001002", {"Account_Name": "Juniper Yoga"}),
    ],
    "saas_trial_conversion": [
        ("Accounts", "5725767000003004001", {"Account_Name": "Foothills Climbing Gym"})
    ],
}

REAL_FAILURES = {
    # The sandbox answers plain `type: http` connections with an echo of the
    # request; the SOP asks the production API which version is live and
    # refuses to announce a version that is not deployed yet. The echo reports
    # no version, so the release check fails (as it must against a real
    # server that has not deployed 4.2): the one reference SOP whose success
    # depends on what a business-specific API answers.
    "saas_feature_release": (
        "step 'release_rules' failed: validation failed: Production does not report "
        "version 4.2 yet; announce after the deploy finishes."
    ),
}


POSTS = {
    # SOPs whose run publishes through Mixpost, and how many drafts go out
    "cs_live_show": 4,
    "cs_new_arrivals": 5,
    "cs_tournament_event": 4,
    "gov_contract_win": 2,
    "gov_hiring_post": 2,
    "saas_incident_update": 2,
    "xe_cross_promotion": 2,
}


class Bench:
    def __init__(self, home: Path, runner: SandboxRunner) -> None:
        self.home = home
        self.runner = runner
        settings = load_settings(home, environ={})
        assert settings.sandbox is not None
        self.service = RunService(settings)
        self.content = ContentService(settings, runs=self.service)

    def server(self, name: str) -> Any:
        return next(s.server for s in self.runner.started if s.name == name)

    def close(self) -> None:
        self.content.close()
        self.service.close()


@pytest.fixture
def bench(tmp_path: Path) -> Iterator[Bench]:
    home = tmp_path / "ws"
    report = init_workspace(load_settings(home, environ={}))
    assert report.workspace is not None and not report.workspace.problems
    with SandboxRunner(
        load_settings(home, environ={}),
        report.workspace,
        environ={},
        video_polls=1,
        poll_after_ms=10,
    ) as runner:
        made = Bench(home, runner)
        try:
            yield made
        finally:
            made.close()


def reference_sops() -> list[str]:
    root = Path(__file__).resolve().parents[2] / "sops"
    return sorted(
        p.stem
        for p in root.glob("*/*.yaml")
        if p.parent.name not in ("prompts", "templates", ".schema")
    )


@pytest.mark.slow
@pytest.mark.parametrize("sop_id", reference_sops())
def test_reference_sop_runs_for_real(bench: Bench, sop_id: str) -> None:
    sop = bench.service.workspace.sop(sop_id)
    example = (sop.examples or [{}])[0]
    for module, record_id, fields in EXISTING_RECORDS.get(sop_id, []):
        bench.server("zoho").add_record(module, fields, record_id=record_id)
    starter = STARTERS[sop.entity]
    view = bench.service.start(sop_id, example, started_by=starter)
    crew = Crew(bench.service, bench.content, starter)
    try:
        status = crew.finish(view.run.id)
    finally:
        crew.close()
    final = bench.service.view(view.run.id)
    if sop_id in REAL_FAILURES:
        assert status == "failed"
        assert final.run.error == REAL_FAILURES[sop_id]
        return
    assert status == "succeeded", (final.run.error, [(s.path, s.error) for s in final.steps])
    assert all(person != starter for kind, _, person in crew.decisions if kind != "delay")
    steps = {s.path: s for s in final.steps}
    assert all(s.status in ("succeeded", "skipped") for s in steps.values()), {
        p: s.status for p, s in steps.items()
    }
    # every post a social_post step reports exists on the Mixpost double, once
    reported = [
        str(post_id)
        for s in bench.service.engine.runs.steps_of(view.run.id).values()
        if s.type == "social_post" and s.status == "succeeded"
        for post_id in (s.result or {}).get("post_ids", [])
    ]
    on_double = [str(p["uuid"]) for p in bench.server("mixpost").posts]
    ids_on_double = [str(p["id"]) for p in bench.server("mixpost").posts]
    assert sorted(reported) in (sorted(on_double), sorted(ids_on_double))
    if sop_id in POSTS:
        assert len(reported) == POSTS[sop_id], reported
