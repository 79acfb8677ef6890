"""Each draft goes to its own business's Mixpost account, never to every account.

Real runs (engine, database on SQLite and PostgreSQL) posting through the
Mixpost double, whose default accounts hold several businesses' pages;
the bundled workspace's ``social_accounts`` against those accounts; and the
``sopbench validate`` check of the mapping.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sopbench.content.accounts import MIXPOST_PROVIDERS, AccountTargets, choose_account
from sopbench.content.draft_types import Draft, Revision
from sopbench.library import load_workspace
from sopbench.store import Database
from sopbench.testing.servers import MixpostServer
from sopbench.testing.servers.mixpost import DEFAULT_ACCOUNTS

from .two_shops import MIXPOST_TOKEN, REPO, SHOP_SOPS, make, posts_to

ONE_SHOP = """\
entities:
  agency:
    name: The group (a group, so one business in all)
    kind: group
    members: [shop]
  shop:
    name: Corner Shop
    platforms: {primary: [facebook, linkedin]}
"""


@pytest.fixture
def mixpost() -> Iterator[MixpostServer]:
    with MixpostServer(token=MIXPOST_TOKEN) as server:
        yield server


def test_mapped_accounts_are_filled_in_and_each_draft_posts_to_one_account(
    tmp_path: Path, database: Database, db_url: str, mixpost: MixpostServer
) -> None:
    runs, content, _ = make(tmp_path, database, db_url, mixpost)
    view = runs.start("both", {"headline": "Trade-in week"}, started_by="eve")
    facebook, linkedin = content.list_drafts()
    # the reviewer sees (and approves) where each draft goes
    assert (facebook.account, linkedin.account) == ("summitpc", "summit-cloud")
    content.approve(facebook.id, person="dana")
    assert content.approve(linkedin.id, person="dana")["run_status"] == "succeeded"
    posted = sorted(posts_to(mixpost))
    # `summitpc` is also a Pinterest, TikTok and Discord username: only the facebook page
    assert [accounts for accounts, _ in posted] == [[1], [13]]
    assert runs.view(view.run.id).run.status == "succeeded"


def test_without_a_mapping_two_businesses_fail_naming_what_to_add(
    tmp_path: Path, database: Database, db_url: str, mixpost: MixpostServer
) -> None:
    runs, content, _ = make(tmp_path, database, db_url, mixpost)
    view = runs.start("agency_post", {"headline": "We are hiring"}, started_by="olga")
    (draft,) = content.list_drafts()
    assert draft.account is None
    assert content.approve(draft.id, person="adam")["run_status"] == "failed"
    error = runs.view(view.run.id).run.error or ""
    assert f"draft {draft.id} of entity 'agency' names no linkedin account" in error
    assert "Mixpost has 3 linkedin accounts" in error
    assert "summit-federal (id 3), summit-cloud (id 13), summit-group (id 16)" in error
    assert "add `social_accounts: {linkedin: USERNAME}`" in error
    assert "to entity 'agency' in sops/entities.yaml" in error
    post = {s.path: s for s in runs.view(view.run.id).steps}["post"]
    assert post.status == "failed"
    assert posts_to(mixpost) == []  # nothing went to the other businesses' pages
    assert content.drafts.get(draft.id).status == "approved"


def test_one_business_with_one_account_needs_no_mapping(
    tmp_path: Path, database: Database, db_url: str
) -> None:
    accounts = [
        {"id": 7, "provider": "facebook_page", "name": "Corner Shop", "username": "cornershop"},
        {"id": 9, "provider": "pinterest", "name": "Corner Shop", "username": "cornershop"},
    ]
    with MixpostServer(token=MIXPOST_TOKEN, accounts=accounts) as server:
        runs, content, _ = make(
            tmp_path, database, db_url, server, entities=ONE_SHOP, sops=SHOP_SOPS
        )
        runs.start("plain", {"headline": "Open late"}, started_by="eve")
        (draft,) = content.list_drafts()
        assert draft.account is None
        assert content.approve(draft.id, person="dana")["run_status"] == "succeeded"
        assert [accounts for accounts, _ in posts_to(server)] == [[7]]


def test_one_business_with_two_accounts_of_the_platform_fails(
    tmp_path: Path, database: Database, db_url: str, mixpost: MixpostServer
) -> None:
    runs, content, _ = make(tmp_path, database, db_url, mixpost, entities=ONE_SHOP, sops=SHOP_SOPS)
    view = runs.start("plain", {"headline": "Open late"}, started_by="eve")
    (draft,) = content.list_drafts()
    assert content.approve(draft.id, person="dana")["run_status"] == "failed"
    error = runs.view(view.run.id).run.error or ""
    assert "entity 'shop' names no facebook account and Mixpost has 2 facebook accounts" in error
    assert "summitpc (id 1), summitgroup (id 17)" in error
    assert posts_to(mixpost) == []


def test_a_mapping_naming_no_account_of_the_platform_fails(
    tmp_path: Path, database: Database, db_url: str, mixpost: MixpostServer
) -> None:
    # `summitpclan` exists, but as a Twitch account: it is no facebook page
    entities = ONE_SHOP + "    social_accounts: {facebook: summitpclan}\n"
    runs, content, _ = make(tmp_path, database, db_url, mixpost, entities=entities, sops=SHOP_SOPS)
    view = runs.start("plain", {"headline": "Open late"}, started_by="eve")
    (draft,) = content.list_drafts()
    assert draft.account == "summitpclan"
    assert content.approve(draft.id, person="dana")["run_status"] == "failed"
    error = runs.view(view.run.id).run.error or ""
    assert "Mixpost has no facebook account 'summitpclan'" in error
    assert "its facebook accounts: summitpc (id 1), summitgroup (id 17)" in error
    assert posts_to(mixpost) == []


def _draft(entity: str, platform: str, account: str | None = None) -> Draft:
    now = datetime.now(UTC)
    text = Revision(1, "Hello", [], [], "test", None, now)
    return Draft(
        id=f"drf_{entity}_{platform}",
        entity=entity,
        platform=platform,
        account=account,
        status="approved",
        revision=1,
        version=0,
        source_run_id=None,
        source_step=None,
        publish_at=None,
        approved_fingerprint=None,
        approved_by=None,
        approved_at=None,
        post_id=None,
        created_at=now,
        updated_at=now,
        current=text,
    )


def test_every_reference_entity_posts_to_its_own_sandbox_accounts() -> None:
    workspace = load_workspace(REPO)
    assert workspace.entities is not None
    targets = AccountTargets.of(workspace.entities)
    owner: dict[int, str] = {}
    for eid, entity in workspace.entities.entities.items():
        platforms = [*entity.platforms.primary, *entity.platforms.secondary]
        for platform in (p for p in platforms if p in MIXPOST_PROVIDERS):
            assert platform in entity.social_accounts, (eid, platform)
            account = choose_account(_draft(eid, platform), DEFAULT_ACCOUNTS, targets)
            assert owner.setdefault(account, eid) == eid, (account, eid, owner[account])
    assert len(owner) == 17  # gov 2, saas 4, store 7, group 4: all different accounts


def test_validate_names_a_mapped_platform_the_entity_does_not_use(tmp_path: Path) -> None:
    home = tmp_path / "ws"
    shutil.copytree(REPO / "tests" / "fixtures" / "workspace_base", home)
    entities = home / "sops" / "entities.yaml"
    text = entities.read_text(encoding="utf-8")
    assert "\n  shop:\n" in text
    entities.write_text(
        text.replace(
            "\n  shop:\n",
            "\n  shop:\n    platforms: {primary: [facebook]}\n"
            "    social_accounts: {facebook: summitpc, linkdin: summit-cloud}\n",
        ),
        encoding="utf-8",
    )
    problems = [p.message for p in load_workspace(home).problems]
    assert problems == [
        "social_accounts names platform 'linkdin' that entity 'shop' does not use; "
        "its platforms: facebook (add it under `platforms:`)"
    ]
