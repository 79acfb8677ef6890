"""A worker SIGKILLed during a SOP's Mixpost ``social_post`` step, then recovered,
posts every draft exactly once.

The run is real: ``content_generate`` writes two drafts (facebook, x) from a
content template and waits for review; a reviewer approves both (without
driving the run); then a separate ``_worker.py recover`` process drives the
run into ``social_post``, which records its intent, lists the Mixpost
accounts and posts one draft after the other to the Mixpost double. The
double holds one request and the test SIGKILLs the worker:

* ``accounts-before`` — killed after the intent was committed but before any
  post request was sent;
* ``post-before`` — the post request left, the double had not acted yet;
* ``post-after`` — the double created the post, its answer never arrived
  (the outcome was never committed); with the double honouring
  ``Idempotency-Key`` and ignoring it as the real Mixpost does (then the
  adapter finds the post among recent ones).

After the dead worker's lease (0.5 s) expires, ``recover`` in this process
finishes the run: both drafts are on the double exactly once, marked
published with the double's ids. SQLite and PostgreSQL (``db_url``).
"""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import pytest

from sopbench.config import load_settings
from sopbench.services.content import ContentService
from sopbench.services.runs import RunService
from sopbench.testing.servers import DiscordServer, MixpostServer, ZohoServer

from ._support import environ_for, write_workspace
from .test_crash import REPO, kill, recover, spawn

PROMO = """\
sop_id: lan_promo
entity: shop
name: Promote LAN night
steps:
  - id: promo
    type: content_generate
    with:
      template: announcement
      platforms: [facebook, x]
      review: wait
      variables: {headline: "LAN night is back on Friday", link: "https://shop.example/lan"}
  - id: publish
    type: social_post
    with: {drafts: "{{ steps.promo.draft_ids }}"}
"""

CASES = [
    pytest.param("before", "GET", "/accounts", True, id="accounts-before"),
    pytest.param("before", "POST", "/posts", True, id="post-before"),
    pytest.param("after", "POST", "/posts", True, id="post-after"),
    pytest.param("after", "POST", "/posts", False, id="post-after-key-ignored"),
]


PEOPLE = """\
roles:
  owner: Final say.
  marketing: Writes posts.
people:
  olivia: {name: Olivia Owner, roles: [owner, manager]}
  mia: {name: Mia Marketing, roles: [marketing]}
"""

# the double holds several businesses' accounts: the shop posts to its own
ACCOUNTS = """\
    platforms: {primary: [facebook, x]}
    social_accounts: {facebook: summitpc, x: summitcloud}
"""


def promo_workspace(home: Path, zoho: ZohoServer, mixpost: MixpostServer) -> Path:
    write_workspace(home, zoho_url=zoho.url, mixpost_url=mixpost.api_url)
    entities = home / "sops" / "entities.yaml"
    entities.write_text(entities.read_text(encoding="utf-8") + ACCOUNTS, encoding="utf-8")
    (home / "sops" / "people.yaml").write_text(PEOPLE, encoding="utf-8")
    (home / "sops" / "shop" / "lan_promo.yaml").write_text(PROMO, encoding="utf-8")
    templates = home / "sops" / "templates"
    templates.mkdir()
    shutil.copy(REPO / "sops" / "templates" / "announcement.j2", templates)
    return home


@pytest.mark.slow
@pytest.mark.parametrize(("when", "method", "path", "server_knows_keys"), CASES)
def test_worker_killed_during_social_post(
    tmp_path: Path,
    db_url: str,
    mixpost_server: MixpostServer,
    zoho_server: ZohoServer,
    discord_server: DiscordServer,
    when: str,
    method: str,
    path: str,
    server_knows_keys: bool,
) -> None:
    mixpost_server.honour_idempotency_key = server_knows_keys
    home = promo_workspace(tmp_path / "home", zoho_server, mixpost_server)
    environ = environ_for(db_url, zoho_server, discord_server, mixpost_server)
    settings = load_settings(home, environ=environ)
    service = RunService(settings, lease_ttl=timedelta(seconds=0.5))
    content = ContentService(settings, runs=service)
    try:
        view = service.start("lan_promo", {}, started_by="mia")
        assert (view.run.status, view.run.wait_kind) == ("waiting", "review")
        draft_ids = [d.id for d in content.list_drafts(entity="shop", status="in_review")]
        assert len(draft_ids) == 2
        for draft_id in draft_ids:
            content.approve(draft_id, person="olivia", continue_run=False)
        run_id = view.run.id

        hold = mixpost_server.hold(when, method=method, path=path)  # type: ignore[arg-type]
        worker = spawn(["recover", "--home", str(home)], environ)
        try:
            assert hold.wait(60), (
                worker.communicate(timeout=30) if worker.poll() is not None else ""
            )
            kill(worker)
        finally:
            if worker.poll() is None:
                worker.kill()
                worker.communicate()
            hold.release()  # the double goes on with the dead worker's request (if any)

        assert service.view(run_id).run.status == "running"  # the dead worker's, unfinished
        assert recover(service, run_id) == "succeeded"
        final = {s.path: s for s in service.view(run_id).steps}
        drafts = [content.drafts.get(d) for d in draft_ids]
    finally:
        content.close()
        service.close()

    posts = mixpost_server.posts
    assert len(posts) == 2, posts  # one post per draft, none twice
    assert sorted(a["id"] for p in posts for a in p["accounts"]) == [1, 8]  # the shop's own
    bodies = sorted(p["versions"][0]["content"][0]["body"] for p in posts)
    assert bodies == sorted(d.text for d in drafts)
    assert {d.status for d in drafts} == {"published"}
    assert sorted(final["publish"].result["post_ids"]) == sorted(str(p["uuid"]) for p in posts)
    assert sorted(d.post_id for d in drafts) == sorted(str(p["uuid"]) for p in posts)
    keys = [r.headers.get("idempotency-key") for r in mixpost_server.matching("POST", "/posts")]
    assert len(set(keys)) == 2  # one key per draft, the same on the repeated call
    if (when, path) == ("after", "/posts") and not server_knows_keys:
        assert len(keys) == 2  # the repeat found the post among recent ones, never re-sent
