"""Steps whose integration is not set up: a real run fails saying what to configure.

CRM writes (Zoho), Discord and email notifications, social posts and media
jobs need a connection, a secret or an integration client; LLM drafts need
``SOPBENCH_LLM_URL`` or the embedded model, and template drafts need the template.
Without them a real run fails with a message naming the missing piece and
what to do; nothing is sent anywhere. A dry-run simulates them.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from engine.support import Bench, build_home, environ

from sopbench.config import load_settings
from sopbench.library import load_workspace
from sopbench.services.runs import RunService
from sopbench.store import Database
from sopbench.testing.recorder import Recorder


@pytest.fixture
def bench(
    tmp_path: Path, database: Database, db_url: str, recorder: Recorder, sop_sources: list[Path]
) -> Bench:
    """No LLM URL and no usable embedded model: the machine has no LLM at all."""
    home = build_home(tmp_path, sop_sources, recorder.url)
    env = {**environ(db_url), "SOPBENCH_LLM_MODEL_FILE": str(tmp_path / "missing.gguf")}
    settings = load_settings(home, environ=env)
    service = RunService(settings, workspace=load_workspace(home), database=database)
    return Bench(home, settings, service, database, recorder)


CASES = {
    "crm_create_task": ("task", r"connection 'zoho' is not configured.*sops/connections\.yaml"),
    "crm_create_record": ("deal", r"secret ZOHO_\w+ is not set \(set ZOHO_\w+ in the environment"),
    "crm_field_update": ("update", r"secret ZOHO_\w+ is not set"),
    "notify_discord": ("tell", r"DISCORD_WEBHOOK_SHOP is not set"),
    "notify_email": (
        "mail",
        r"channel 'customers' of entity 'shop': .*configured.*SOPBENCH_SMTP_URL",
    ),
    "content_generate": ("draft", r"no content template named 'new_stock' \(templates live in "),
    "content_prompt": (
        "draft",
        r"the embedded LLM's model file .*missing\.gguf does not exist.*SOPBENCH_LLM_URL",
    ),
    "social_post": ("post", r"`mixpost` connection.*sops/connections\.yaml.*sopbench sandbox"),
}


@pytest.mark.parametrize("sop_id", sorted(CASES))
def test_real_run_fails_naming_what_to_configure(bench: Bench, sop_id: str) -> None:
    step_id, message = CASES[sop_id]
    view = bench.start(sop_id)
    assert view.run.status == "failed"
    step = bench.steps(view.run.id)[step_id]
    assert step.status == "failed"
    assert step.error is not None
    assert re.search(message, step.error), step.error
    assert view.run.error == f"step '{step_id}' failed: {step.error}"
    assert bench.recorder.requests == []


@pytest.mark.parametrize("sop_id", sorted(CASES))
def test_dry_run_simulates(bench: Bench, sop_id: str) -> None:
    step_id, _ = CASES[sop_id]
    view = bench.dry(sop_id)
    assert view.run.status == "succeeded", view.run.error
    assert bench.steps(view.run.id)[step_id].result["simulated"] is True
    assert bench.recorder.requests == []


def test_dry_run_results_look_like_real_ones(bench: Bench) -> None:
    drafts = bench.steps(bench.dry("content_generate").run.id)["draft"].result
    assert drafts["draft_ids"] == ["dry-run-discord", "dry-run-facebook"]
    deal = bench.steps(bench.dry("crm_create_record").run.id)["deal"].result
    assert deal["module"] == "Deals"  # the entity's CRM mapping of `deal`
    assert deal["record_id"].startswith("dry-run-")
    posts = bench.steps(bench.dry("social_post").run.id)["post"].result
    assert posts["post_ids"] == ["dry-run-post-d1", "dry-run-post-d2"]


def test_media_request_asks_a_person_before_anything_is_paid(bench: Bench) -> None:
    view = bench.start("media_request")
    assert (view.run.status, view.run.wait_kind) == ("waiting", "media")
    task = bench.open_task(view.run.id)
    assert task.kind == "media" and task.approvers == ["manager"]
    decided = bench.decide(task.id, "bob")
    assert decided["run_status"] == "failed"
    # no media service (and no prompt library) in this workspace: a clear refusal,
    # after the approval and before any paid job
    error = bench.steps(view.run.id)["image"].error or ""
    assert re.search(r"shop_storefront_image|media integration is not configured", error), error
    assert bench.recorder.requests == []


def test_media_request_rejected_starts_no_job(bench: Bench) -> None:
    view = bench.start("media_request")
    task = bench.open_task(view.run.id)
    bench.decide(task.id, "dan", action="reject")
    assert bench.view(view.run.id).run.error == (
        "step 'image' failed: media request shop_storefront_image was rejected; no job was started"
    )


def test_media_request_dry_run(bench: Bench) -> None:
    view = bench.dry("media_request")
    assert view.run.status == "succeeded"
    assert bench.service.tasks(status="all") == []
    assert bench.steps(view.run.id)["image"].result == {
        "request_id": "dry-run-shop_storefront_image",
        "asset": None,
        "simulated": True,
    }
