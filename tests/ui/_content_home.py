"""A small content workspace whose Mixpost and LLM connections are local doubles.

Used by the Drafts and Content page tests: one entity, a manager and a
staff reviewer (the SOPs' ``reviewers``), a marketing person who starts the
runs (and so may not approve their drafts), and content SOPs that wait for
review and then post.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from sopbench.testing.servers import MixpostServer

REPO = Path(__file__).resolve().parents[2]
MIXPOST_TOKEN = "mixpost-ui-tok-5c1e9a"

ENTITIES = """\
entities:
  shop:
    name: Corner Shop
    timezone: America/Denver
    voice:
      tone: friendly and plain-spoken
      use: [neighbours, fixed]
      avoid: [synergy]
    hashtags: ["#CornerShop"]
    platforms: {primary: [facebook, linkedin, x]}
    social_accounts: {facebook: summitpc, linkedin: summit-federal, x: summitcloud}
"""

CONNECTIONS = """\
connections:
  mixpost:
    type: mixpost
    base_url: "{mixpost}"
    secret: MIXPOST_TOKEN
"""

PEOPLE = """\
roles:
  manager: Approves things.
  staff: Reviews drafts.
  marketing: Starts the content runs.
people:
  sam:
    name: Sam Marketing
    roles: [marketing]
    entities: [shop]
  dana:
    name: Dana Manager
    roles: [manager]
    entities: ["*"]
  eve:
    name: Eve Staff
    roles: [staff]
    entities: [shop]
"""


def _sop(sop_id: str, platforms: str) -> str:
    return f"""\
sop_id: {sop_id}
entity: shop
name: Announce {sop_id}
steps:
  - id: draft
    type: content_generate
    with:
      template: announcement
      platforms: {platforms}
      variables: {{headline: "{{{{ inputs.headline }}}}"}}
      review: wait
      reviewers: [manager, staff]
  - id: post
    type: social_post
    with: {{drafts: "{{{{ steps.draft.approved }}}}"}}
inputs:
  headline: {{type: string, required: true}}
"""


TIP = """\
sop_id: tip
entity: shop
name: Tip of the week
steps:
  - id: write
    type: content_generate
    with:
      prompt: Write one practical tip about keeping a laptop battery healthy.
      platforms: [linkedin]
"""

SOPS = {
    "tip": TIP,
    "one_post": _sop("one_post", "[facebook]"),
    "two_posts": _sop("two_posts", "[facebook, linkedin]"),
    "tweet": _sop("tweet", "[x]"),
}


def write_home(root: Path, mixpost_url: str) -> Path:
    sops = root / "home" / "sops"
    (sops / "shop").mkdir(parents=True)
    (sops / "templates").mkdir()
    for name in ("announcement.j2", "event_promo.j2"):
        shutil.copy(REPO / "sops" / "templates" / name, sops / "templates")
    (sops / "entities.yaml").write_text(ENTITIES, encoding="utf-8")
    (sops / "people.yaml").write_text(PEOPLE, encoding="utf-8")
    (sops / "connections.yaml").write_text(
        CONNECTIONS.replace("{mixpost}", mixpost_url), encoding="utf-8"
    )
    for name, text in SOPS.items():
        (sops / "shop" / f"{name}.yaml").write_text(text, encoding="utf-8")
    return root / "home"


def created_posts(server: MixpostServer) -> list[Any]:
    return [r for r in server.requests if r.method == "POST" and r.path.endswith("/posts")]


def posted_body(request: Any) -> str:
    return str(request.json["versions"][0]["content"][0]["body"])
