"""Who may review a draft: the rules of human tasks, for every decision on a draft.

Real engine and database (SQLite and PostgreSQL), the Mixpost double on
127.0.0.1; decisions go through the content service, as the CLI and the
dashboard's Drafts page do.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sopbench.errors import DecisionRefused
from sopbench.store import Database
from sopbench.testing.servers import MixpostServer

from .two_shops import MIXPOST_TOKEN, make, posts_to


@pytest.fixture
def mixpost() -> Iterator[MixpostServer]:
    with MixpostServer(token=MIXPOST_TOKEN) as server:
        yield server


def refused(call: object, *args: object, **kwargs: object) -> str:
    with pytest.raises(DecisionRefused) as caught:
        call(*args, **kwargs)  # type: ignore[operator]
    return caught.value.message


def test_only_listed_reviewers_of_the_entity_with_a_role_decide(
    tmp_path: Path, database: Database, db_url: str, mixpost: MixpostServer
) -> None:
    runs, content, _ = make(tmp_path, database, db_url, mixpost)
    view = runs.start("launch", {"headline": "Trade-in week"}, started_by="dana")
    (draft,) = content.list_drafts()
    approve = content.approve
    assert refused(approve, draft.id, person="mallory") == "'mallory' is not in sops/people.yaml"
    assert (
        refused(approve, draft.id, person="dana")
        == "dana started this run and cannot approve its drafts"
    )
    assert (
        refused(content.reject, draft.id, person="dana")
        == "dana started this run and cannot approve its drafts"
    )
    assert refused(approve, draft.id, person="adam") == "adam does not serve entity 'shop'"
    assert refused(approve, draft.id, person="eve") == (
        "eve lacks the role to review this draft (needs one of: marketing, manager)"
    )
    assert refused(content.request_changes, draft.id, person="eve", note="shorter") == (
        "eve lacks the role to review this draft (needs one of: marketing, manager)"
    )
    # asking for changes decides nothing: the starter may
    asked = content.request_changes(draft.id, person="dana", note="mention the warranty")
    assert asked.status == "in_review"
    assert content.drafts.get(draft.id).status == "in_review"  # every refusal left it alone
    shown = content.show(draft.id)
    assert (shown["reviewers"], shown["started_by"]) == (["marketing", "manager"], "dana")

    out = content.approve(draft.id, person="mark", continue_run=False)
    assert out["status"] == "approved"
    assert (
        refused(content.publish, draft.id, person="dana")
        == "dana started this run and cannot publish its drafts"
    )
    assert refused(content.publish, draft.id, person="eve").startswith("eve lacks the role")
    assert posts_to(mixpost) == []
    # the owner is no exception: the step names the roles (as for approval tasks)
    assert refused(content.publish, draft.id, person="olga").startswith("olga lacks the role")
    published = content.publish(draft.id, person="mark")
    assert (published["status"], published["run_status"]) == ("published", "succeeded")
    assert runs.view(view.run.id).run.status == "succeeded"
    assert len(posts_to(mixpost)) == 1


def test_the_default_reviewers_are_managers(
    tmp_path: Path, database: Database, db_url: str, mixpost: MixpostServer
) -> None:
    runs, content, _ = make(tmp_path, database, db_url, mixpost)
    runs.start("plain", {"headline": "Open late"}, started_by="eve")
    (draft,) = content.list_drafts()
    assert content.review_rules(draft).reviewers == ("manager",)
    assert refused(content.approve, draft.id, person="mark") == (
        "mark lacks the role to review this draft (needs one of: manager)"
    )
    assert content.review_refusal(draft, "mark", "approve") == (
        "mark lacks the role to review this draft (needs one of: manager)"
    )
    assert content.review_refusal(draft, "dana", "approve") is None
    assert content.approve(draft.id, person="dana")["run_status"] == "succeeded"


def test_a_draft_from_no_run_is_reviewed_by_a_manager_or_the_owner(
    tmp_path: Path, database: Database, db_url: str, mixpost: MixpostServer
) -> None:
    _, content, _ = make(tmp_path, database, db_url, mixpost)
    made = content.drafts.create(
        entity="shop", platform="facebook", body="Hand written.", author="mark"
    )
    assert refused(content.approve, made.id, person="mark") == (
        "mark lacks the role to review this draft (needs one of: manager, owner)"
    )
    assert content.approve(made.id, person="olga")["status"] == "approved"
    assert refused(content.publish, made.id, person="dana").startswith(
        f"draft {made.id} came from no run"
    )


def test_without_people_yaml_nobody_decides(
    tmp_path: Path, database: Database, db_url: str, mixpost: MixpostServer
) -> None:
    runs, content, _ = make(tmp_path, database, db_url, mixpost, people=None)
    runs.start("plain", {"headline": "Open late"})
    (draft,) = content.list_drafts()
    with pytest.raises(DecisionRefused) as caught:
        content.approve(draft.id, person="dana")
    assert caught.value.message == "'dana' is not in sops/people.yaml"
    assert "list the reviewers and their roles in sops/people.yaml" in caught.value.hint


def test_an_edited_approval_is_approved_again_then_publishes_the_edit(
    tmp_path: Path, database: Database, db_url: str, mixpost: MixpostServer
) -> None:
    runs, content, _ = make(tmp_path, database, db_url, mixpost)
    view = runs.start("launch", {"headline": "Repair desk hours"}, started_by="eve")
    (draft,) = content.list_drafts()
    content.approve(draft.id, person="mark", continue_run=False)
    content.edit(draft.id, person="eve", body="Repair desk open until 9 on Fridays.")
    message = refused(content.publish, draft.id, person="dana")
    assert f"draft {draft.id} changed after mark approved it" in message
    assert "eve changed body (revision 2)" in message
    assert posts_to(mixpost) == []

    again = content.approve(draft.id, person="dana", continue_run=False)
    assert again["status"] == "approved"
    assert "already approved by dana" in refused(content.approve, draft.id, person="mark")
    out = content.publish(draft.id, person="mark")
    assert (out["status"], out["run_status"]) == ("published", "succeeded")
    ((accounts, body),) = posts_to(mixpost)
    assert body.startswith("Repair desk open until 9 on Fridays.")
    assert accounts == [1]  # the shop's own facebook account
    final = content.drafts.get(draft.id)
    assert (final.approved_by, final.revision, final.post_id) == ("dana", 2, out["post_id"])
    assert runs.view(view.run.id).run.status == "succeeded"


def test_the_cli_applies_the_same_rules(
    tmp_path: Path, database: Database, db_url: str, mixpost: MixpostServer
) -> None:
    from .test_cli_drafts import cli

    runs, content, settings = make(tmp_path, database, db_url, mixpost)
    runs.start("launch", {"headline": "Trade-in week"}, started_by="mark")
    (draft,) = content.list_drafts()
    own = cli(settings.home, db_url, "draft", "approve", draft.id, "--as", "mark")
    assert own.returncode != 0
    assert "mark started this run and cannot approve its drafts" in own.stderr
    assert "Traceback" not in own.stderr
    staff = cli(settings.home, db_url, "draft", "reject", draft.id, "--as", "eve")
    assert "eve lacks the role to review this draft (needs one of: marketing, manager)" in (
        staff.stderr
    )
    ok = cli(settings.home, db_url, "draft", "approve", draft.id, "--as", "dana")
    assert ok.returncode == 0, ok.stderr
    assert content.drafts.get(draft.id).status == "published"
