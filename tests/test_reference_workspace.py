"""The bundled reference workspace: a believable, complete and working SOP library.

Every SOP dry-runs with each of its examples through the run service on a
temporary copy of the workspace; together the SOPs use every step type and
every common step field; the content they name (templates, media prompts,
connections, the report notebook) exists; the README's SOP table is the
generated one.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sopbench.config import load_settings
from sopbench.content.checks import content_problems
from sopbench.content.templates import load_templates
from sopbench.docgen import README_END, README_START, readme_table, update_readme
from sopbench.library import load_workspace
from sopbench.model.registry import BUILTIN_STEP_TYPES
from sopbench.model.sop import ScheduleTrigger, SopFile, StepSpec
from sopbench.services.runs import RunService

REPO = Path(__file__).resolve().parents[1]
WORKSPACE = load_workspace(REPO)
SOPS: dict[str, SopFile] = WORKSPACE.sops
TEMPLATES = load_templates(REPO)
ENTITIES = {
    eid: {"id": eid, **entity.model_dump(mode="json")}
    for eid, entity in (WORKSPACE.entities.entities.items() if WORKSPACE.entities else [])
}
CASES = [
    pytest.param(sop_id, index, id=f"{sop_id}[{index}]")
    for sop_id, sop in sorted(SOPS.items())
    for index in range(len(sop.examples))
]
REQUIRED_SOPS = {
    "gov_contractor": {
        "gov_contract_win",
        "gov_rfp_response",
        "gov_client_onboarding",
        "gov_compliance_renewal",
    },
    "saas": {
        "saas_customer_onboarding",
        "saas_churn_prevention",
        "saas_feature_release",
        "saas_trial_conversion",
        "saas_incident_update",
    },
    "computer_store": {
        "cs_tournament_event",
        "cs_live_show",
        "cs_repair_intake",
        "cs_hardware_testing",
        "cs_low_stock_alert",
        "cs_new_arrivals",
        "cs_review_request",
    },
    "cross_entity": {
        "xe_weekly_content_calendar",
        "xe_monthly_newsletter",
        "xe_cross_promotion",
        "xe_quarterly_report",
        "xe_hardware_refresh_pipeline",
    },
}


def all_steps() -> list[tuple[SopFile, str, StepSpec]]:
    return [(sop, path, step) for sop in SOPS.values() for path, step in sop.walk()]


def raw_with(step: StepSpec) -> dict[str, Any]:
    return dict(step.with_)


# -- the library -------------------------------------------------------------------


def test_the_workspace_is_valid() -> None:
    assert [str(p) for p in WORKSPACE.problems] == []
    assert len(SOPS) >= 21


def test_the_required_sops_exist_in_their_entities() -> None:
    for entity, expected in REQUIRED_SOPS.items():
        present = {sop_id for sop_id, sop in SOPS.items() if sop.entity == entity}
        assert expected <= present, expected - present


def test_every_sop_is_documented_and_runnable() -> None:
    for sop in SOPS.values():
        assert sop.description and len(sop.description) > 80, sop.sop_id
        assert sop.owner, sop.sop_id
        assert sop.examples, f"{sop.sop_id} has no examples for dry-run --all"
        assert sop.triggers, sop.sop_id
        assert Path(sop.path).parent.name == sop.entity


def test_all_step_types_are_used() -> None:
    used = {step.type for _, _, step in all_steps()}
    assert used == {kind.name for kind in BUILTIN_STEP_TYPES}


def test_every_common_field_is_used() -> None:
    steps = [step for _, _, step in all_steps()]
    assert any(step.when is not None for step in steps)
    assert any(step.retry is not None for step in steps)
    assert any(step.timeout is not None for step in steps)
    assert any(step.on_error == "continue" for step in steps)
    assert any(step.name for step in steps)
    assert any(step.description for step in steps)


def test_two_person_approvals_exist() -> None:
    approvals = [
        (sop.sop_id, raw_with(step))
        for sop, _, step in all_steps()
        if step.type == "approval" and raw_with(step).get("required", 1) >= 2
    ]
    assert len(approvals) >= 3
    assert any(sop_id == "gov_contract_win" for sop_id, _ in approvals)


def eligible(role: str, entity: str) -> set[str]:
    people = WORKSPACE.people.people if WORKSPACE.people else {}
    return {
        pid
        for pid, person in people.items()
        if role in person.roles and ("*" in person.entities or entity in person.entities)
    }


def test_every_human_step_has_people_who_may_do_it() -> None:
    """Roles are checked per entity at run time: N-of-M approvals need N eligible people."""
    for sop, path, step in all_steps():
        params = raw_with(step)
        roles: list[str] = []
        if step.type == "manual" and params.get("assignee"):
            roles = [params["assignee"]]
        elif step.type in ("approval", "media_request"):
            roles = params.get("approvers", ["manager"])
        elif step.type == "content_generate":
            roles = params.get("reviewers", ["manager"])
        roles = [role for role in roles if "{{" not in role]
        people = set().union(*(eligible(role, sop.entity) for role in roles)) if roles else set()
        needed = params.get("required", 1) if step.type == "approval" else 1
        assert not roles or len(people) >= needed, f"{sop.sop_id}:{path} {roles} {people}"


def test_loops_and_conditions_nest() -> None:
    paths = {(path, step.type) for _, path, step in all_steps()}
    by_path = {path: kind for path, kind in paths}

    def parent_kinds(path: str) -> list[str]:
        parts = path.split(".")
        return [by_path[".".join(parts[:i])] for i in range(1, len(parts))]

    nested = [(kind, parent_kinds(path)) for path, kind in paths]
    assert any(kind == "loop" and "loop" in parents for kind, parents in nested)
    assert any(kind == "condition" and "condition" in parents for kind, parents in nested)
    assert any(kind == "condition" and "loop" in parents for kind, parents in nested)


def test_triggers_cover_schedules_events_and_manual_runs() -> None:
    schedules = [
        t.schedule for s in SOPS.values() for t in s.triggers if isinstance(t, ScheduleTrigger)
    ]
    assert len(schedules) >= 6
    assert {s.catchup for s in schedules} >= {"latest", "none"}
    assert all("/" in s.timezone for s in schedules)  # IANA names, never UTC by accident
    kinds = {type(t).__name__ for s in SOPS.values() for t in s.triggers}
    assert kinds == {"ScheduleTrigger", "EventTrigger", "ManualTrigger"}


def test_manual_steps_are_real_checklists() -> None:
    manual = [raw_with(step) for _, _, step in all_steps() if step.type == "manual"]
    assert len(manual) >= 30
    for params in manual:
        assert params.get("assignee"), params["instructions"][:60]
        assert len(params["instructions"]) >= 60
    assert sum(bool(p.get("due")) for p in manual) >= 0.8 * len(manual)
    assert sum(bool(p.get("form")) for p in manual) >= 0.8 * len(manual)


def test_http_steps_use_named_connections() -> None:
    known = set(WORKSPACE.connections.connections) if WORKSPACE.connections else set()
    http = [raw_with(step) for _, _, step in all_steps() if step.type in ("api_call", "webhook")]
    assert len(http) >= 15
    for params in http:
        assert "url" not in params, params
        assert params["connection"] in known or "{{" in params["connection"]
    for conn in WORKSPACE.connections.connections.values() if WORKSPACE.connections else []:
        assert conn.secret is None or conn.secret.isupper()


def test_the_pipeline_waits_for_children_and_uses_their_outputs() -> None:
    pipeline = SOPS["xe_hardware_refresh_pipeline"]
    triggers = [step for _, step in pipeline.walk() if step.type == "cross_entity_trigger"]
    children = {raw_with(step)["sop"] for step in triggers}
    assert len(children) >= 2
    assert all(raw_with(step)["wait"] is True for step in triggers)
    assert {SOPS[child].entity for child in children} >= {"computer_store", "saas"}
    for child in children:
        assert SOPS[child].outputs, f"{child} declares no outputs"
    text = json.dumps([step.model_dump(by_alias=True) for _, step in pipeline.walk()])
    for step in triggers:
        assert f"steps.{step.id}.outputs." in text


def test_the_report_notebook_is_shipped_and_parameterised() -> None:
    steps = [raw_with(step) for _, _, step in all_steps() if step.type == "notebook"]
    assert steps
    for params in steps:
        notebook = json.loads((REPO / params["path"]).read_text(encoding="utf-8"))
        assert notebook["metadata"]["kernelspec"]["name"] == "python3"
        tagged = [c for c in notebook["cells"] if "parameters" in c["metadata"].get("tags", [])]
        assert len(tagged) == 1
        assert all(not c.get("outputs") for c in notebook["cells"] if c["cell_type"] == "code")


def test_content_and_media_named_by_sops_exist() -> None:
    assert [str(p) for p in content_problems(WORKSPACE)] == []
    templates = {
        raw_with(step)["template"]
        for _, _, step in all_steps()
        if step.type == "content_generate" and "template" in raw_with(step)
    }
    assert len(templates) >= 10


def test_the_readme_table_is_the_generated_one() -> None:
    readme = REPO / "README.md"
    text = readme.read_text(encoding="utf-8")
    assert README_START in text and README_END in text
    assert update_readme(text, readme_table(readme)) == text


# -- dry-runs ------------------------------------------------------------------------


def copy_workspace(target: Path) -> Path:
    shutil.copytree(REPO / "sops", target / "sops")
    shutil.copytree(REPO / "notebooks", target / "notebooks")
    return target


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunService]:
    home = copy_workspace(tmp_path_factory.mktemp("reference"))
    db = home / ".sopbench" / "sopbench.db"
    settings = load_settings(home, environ={"SOPBENCH_DB_URL": f"sqlite:///{db}"})
    run_service = RunService(settings)
    yield run_service
    run_service.close()


@pytest.mark.parametrize(("sop_id", "index"), CASES)
def test_every_example_dry_runs(service: RunService, sop_id: str, index: int) -> None:
    example = SOPS[sop_id].examples[index]
    view = service.start(sop_id, example, started_by="dry-run", dry_run=True)
    failed = [(s.path, s.error) for s in view.steps if s.status not in ("succeeded", "skipped")]
    assert view.run.status == "succeeded", (view.run.error, failed)
    assert failed == []
    assert view.run.dry_run
    ran = [s for s in view.steps if s.status == "succeeded"]
    assert len(ran) >= 0.6 * len(view.steps)


@pytest.mark.parametrize(("sop_id", "index"), CASES)
def test_drafts_render_from_what_the_sop_passes(
    service: RunService, sop_id: str, index: int
) -> None:
    """The variables a SOP renders at run time make clean drafts on every platform it names."""
    view = service.start(sop_id, SOPS[sop_id].examples[index], started_by="dry-run", dry_run=True)
    for step in view.steps:
        params = step.rendered or {}
        if step.type != "content_generate" or not params.get("template"):
            continue
        template = TEMPLATES.get(params["template"])
        for platform in params["platforms"]:
            draft = template.render(ENTITIES[view.run.entity], platform, params["variables"])
            assert draft.violations == [], (step.path, platform)
            assert draft.voice_warnings == [], (step.path, platform)


def test_dry_run_all_on_every_backend(db_url: str, tmp_path: Path) -> None:
    home = copy_workspace(tmp_path)
    service = RunService(load_settings(home, environ={"SOPBENCH_DB_URL": db_url}))
    try:
        views = service.dry_run_all()
        assert len(views) == sum(len(s.examples) for s in SOPS.values())
        assert {v.run.status for v in views} == {"succeeded"}
        children = service.list_runs(limit=500)
        assert len(children) > len(views)  # cross-entity triggers started child runs
        pipeline = next(v for v in views if v.run.sop_id == "xe_hardware_refresh_pipeline")
        assert pipeline.run.outputs["workspace_id"]
        assert pipeline.run.outputs["passed"] == len(
            SOPS["xe_hardware_refresh_pipeline"].examples[0]["serials"]
        )
    finally:
        service.close()


@pytest.mark.slow
def test_the_report_notebook_executes_and_glues_its_values(tmp_path: Path) -> None:
    import papermill

    from sopbench.steps.notebook import glued_values

    out = tmp_path / "pack.ipynb"
    papermill.execute_notebook(
        str(REPO / "notebooks" / "reports" / "quarterly_pack.ipynb"),
        str(out),
        parameters={"quarter": "2027-Q2", "figures": {"saas": {"mrr": 50000}}},
        progress_bar=False,
        log_output=False,
        shutdown_kernel="immediate",
    )
    values = glued_values(json.loads(out.read_text(encoding="utf-8")))
    assert values["quarter"] == "2027-Q2"
    assert values["revenue_total"] == 150000.0
    assert values["businesses_reporting"] == 1
    assert values["headline"].startswith("2027-Q2: 150,000 USD")
