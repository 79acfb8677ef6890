"""A workspace of two businesses sharing one Mixpost, for the reviewer and account tests.

``shop`` maps its Mixpost accounts in ``entities.yaml`` (unless the test
writes other entities); ``agency`` maps none. People: ``olga`` the owner
(all entities), ``dana`` manager of the shop, ``mark`` marketing for the
shop, ``eve`` staff of the shop, ``adam`` manager of the agency. SOPs:
``launch`` (reviewers marketing or manager), ``plain`` (the default
reviewers, manager) and ``agency_post`` (the agency's LinkedIn post).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from sopbench.config import Settings, load_settings
from sopbench.services.content import ContentService
from sopbench.services.runs import RunService
from sopbench.store import Database
from sopbench.testing.servers import MixpostServer

from .test_flow import MIXPOST_TOKEN  # what the CLI helper of test_cli_drafts sends

REPO = Path(__file__).resolve().parents[2]

ENTITIES = """\
entities:
  shop:
    name: Corner Shop
    timezone: America/Denver
    platforms: {primary: [facebook, linkedin]}
    social_accounts: {facebook: summitpc, linkedin: summit-cloud}
  agency:
    name: Small Agency
    timezone: Europe/Berlin
    platforms: {primary: [linkedin]}
"""

PEOPLE = """\
roles:
  owner: Final say.
  manager: Approves things.
  marketing: Writes posts.
  staff: Does the work.
people:
  olga: {name: Olga Owner, roles: [owner]}
  dana: {name: Dana Manager, roles: [manager], entities: [shop]}
  mark: {name: Mark Marketing, roles: [marketing], entities: [shop]}
  eve: {name: Eve Staff, roles: [staff], entities: [shop]}
  adam: {name: Adam Manager, roles: [manager], entities: [agency]}
"""

CONNECTIONS = """\
connections:
  mixpost:
    type: mixpost
    base_url: "{mixpost}"
    secret: MIXPOST_TOKEN
"""


def _sop(sop_id: str, entity: str, platforms: str, reviewers: str = "") -> str:
    return f"""\
sop_id: {sop_id}
entity: {entity}
name: Post {sop_id}
steps:
  - id: draft
    type: content_generate
    with:
      template: announcement
      platforms: {platforms}
      variables: {{headline: "{{{{ inputs.headline }}}}"}}
      review: wait{reviewers}
  - id: post
    type: social_post
    with: {{drafts: "{{{{ steps.draft.approved }}}}"}}
inputs:
  headline: {{type: string, required: true}}
"""


SOPS = {
    "shop/launch.yaml": _sop(
        "launch", "shop", "[facebook]", "\n      reviewers: [marketing, manager]"
    ),
    "shop/plain.yaml": _sop("plain", "shop", "[facebook]"),
    "shop/both.yaml": _sop("both", "shop", "[facebook, linkedin]"),
    "agency/agency_post.yaml": _sop("agency_post", "agency", "[linkedin]"),
}


SHOP_SOPS = {k: v for k, v in SOPS.items() if k.startswith("shop/")}


def write_home(
    root: Path,
    mixpost_url: str,
    *,
    entities: str = ENTITIES,
    people: str | None = PEOPLE,
    files: dict[str, str] | None = None,
) -> Path:
    sops = root / "home" / "sops"
    (sops / "templates").mkdir(parents=True)
    shutil.copy(REPO / "sops" / "templates" / "announcement.j2", sops / "templates")
    (sops / "entities.yaml").write_text(entities, encoding="utf-8")
    if people is not None:
        (sops / "people.yaml").write_text(people, encoding="utf-8")
    (sops / "connections.yaml").write_text(
        CONNECTIONS.replace("{mixpost}", mixpost_url), encoding="utf-8"
    )
    for name, text in (SOPS if files is None else files).items():
        path = sops / name
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root / "home"


def make(
    root: Path,
    database: Database,
    db_url: str,
    mixpost: MixpostServer,
    *,
    entities: str = ENTITIES,
    people: str | None = PEOPLE,
    sops: dict[str, str] | None = None,
) -> tuple[RunService, ContentService, Settings]:
    home = write_home(root, mixpost.api_url, entities=entities, people=people, files=sops)
    environ = {
        "SOPBENCH_DB_URL": db_url,
        "MIXPOST_TOKEN": MIXPOST_TOKEN,
        # request changes records the note only: no model is loaded in these tests
        "SOPBENCH_LLM_MODEL_FILE": str(root / "no-model.gguf"),
    }
    settings = load_settings(home, environ=environ)
    runs = RunService(settings, database=database)
    assert runs.workspace.problems == [], runs.workspace.problems
    return runs, ContentService(settings, runs=runs), settings


def posts_to(server: MixpostServer) -> list[tuple[list[int], str]]:
    """(account ids, body) of every post the double received."""
    out: list[tuple[list[int], str]] = []
    for request in server.requests:
        if request.method == "POST" and request.path.endswith("/posts"):
            body: dict[str, Any] = request.json
            out.append((list(body["accounts"]), body["versions"][0]["content"][0]["body"]))
    return out
