"""A workspace with something of every calendar kind, for the calendar tests.

Two entities in different zones (shop: America/Denver, agency:
Europe/Berlin), a content SOP that schedules its post through the Mixpost
double (to the shop's own facebook account: two businesses share Mixpost),
delay SOPs that wake at a given time, an approval with a timeout, and daily
schedule triggers.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sopbench.config import Settings, load_settings
from sopbench.services.content import ContentService
from sopbench.services.runs import RunService
from sopbench.store import Database

REPO = Path(__file__).resolve().parents[2]
MIXPOST_TOKEN = "mixpost-calendar-tok-51c9"

ENTITIES = """\
entities:
  shop:
    name: Corner Shop
    timezone: America/Denver
    platforms: {primary: [facebook]}
    social_accounts: {facebook: summitpc}
  agency:
    name: Small Agency
    timezone: Europe/Berlin
"""

SLOTTED_ENTITIES = """\
entities:
  shop:
    name: Corner Shop
    timezone: America/Denver
    social_accounts: {facebook: summitpc}
    posting_slots:
      - {day: SUN, time: "02:30", platform: x}
      - {day: SUN, time: "01:30", platform: facebook}
      - {day: TUE, time: "09:30", platform: linkedin}
    monthly_themes: {3: Spring cleaning, 5: Garden month, 11: Black Friday}
  agency:
    name: Small Agency
    timezone: Europe/Berlin
    posting_slots:
      - {day: MON, time: "10:00", platform: linkedin}
    monthly_themes: {3: Agency March}
"""
"""The same entities with weekly posting slots and monthly themes. In Denver
02:30 on Sunday does not exist on 2030-03-10 (02:00 MST → 03:00 MDT) and 01:30
happens twice on 2030-11-03 (02:00 MDT → 01:00 MST)."""

PEOPLE = """\
roles:
  owner: Final say.
  manager: Approves things.
  staff: Does the work.
people:
  dana:
    name: Dana Manager
    roles: [manager]
  eve:
    name: Eve Staff
    roles: [staff]
  olga:
    name: Olga Owner
    roles: [owner]
    entities: [agency]
"""

CONNECTIONS = """\
connections:
  mixpost:
    type: mixpost
    base_url: "{mixpost}"
    secret: MIXPOST_TOKEN
"""

SOPS = {
    "shop/promo.yaml": """\
sop_id: promo
entity: shop
name: Weekend promo
inputs:
  at: {type: string, required: true}
steps:
  - id: draft
    type: content_generate
    with:
      template: announcement
      platforms: [facebook]
      variables: {headline: Weekend sale on refurbished laptops}
      review: wait
  - id: post
    type: social_post
    with: {drafts: "{{ steps.draft.approved }}", publish_at: "{{ inputs.at }}"}
""",
    "shop/nap.yaml": """\
sop_id: nap
entity: shop
name: Follow up later
inputs:
  at: {type: string, required: true}
steps:
  - id: pause
    type: delay
    with: {until: "{{ inputs.at }}"}
  - id: after
    type: transform
    with: {set: {done: true}}
""",
    "shop/sign_off.yaml": """\
sop_id: sign_off
entity: shop
name: Sign off the budget
steps:
  - id: ok
    type: approval
    with: {title: Approve the budget, approvers: [manager], timeout: 48h}
""",
    "shop/daily.yaml": """\
sop_id: daily
entity: shop
name: Daily stock check
triggers:
  - schedule: {cron: "0 9 * * *", timezone: America/Denver}
steps:
  - id: note
    type: transform
    with: {set: {checked: true}}
""",
    "agency/agency_nap.yaml": """\
sop_id: agency_nap
entity: agency
name: Agency follow-up
inputs:
  at: {type: string, required: true}
steps:
  - id: pause
    type: delay
    with: {until: "{{ inputs.at }}"}
""",
    "agency/agency_daily.yaml": """\
sop_id: agency_daily
entity: agency
name: Agency standup notes
triggers:
  - schedule: {cron: "0 10 * * *", timezone: Europe/Berlin}
steps:
  - id: note
    type: transform
    with: {set: {noted: true}}
""",
}


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def write_home(root: Path, mixpost_url: str, entities: str = ENTITIES) -> Path:
    home = root / "home"
    sops = home / "sops"
    (sops / "templates").mkdir(parents=True)
    shutil.copy(REPO / "sops" / "templates" / "announcement.j2", sops / "templates")
    (sops / "entities.yaml").write_text(entities, encoding="utf-8")
    (sops / "people.yaml").write_text(PEOPLE, encoding="utf-8")
    (sops / "connections.yaml").write_text(
        CONNECTIONS.replace("{mixpost}", mixpost_url), encoding="utf-8"
    )
    for name, text in SOPS.items():
        path = sops / name
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return home


@dataclass
class Home:
    home: Path
    settings: Settings
    runs: RunService
    content: ContentService

    def environ(self) -> dict[str, str]:
        return {"SOPBENCH_DB_URL": self.settings.db_url, "MIXPOST_TOKEN": MIXPOST_TOKEN}


def make_home(
    root: Path, database: Database, db_url: str, mixpost_url: str, entities: str = ENTITIES
) -> Home:
    home = write_home(root, mixpost_url, entities)
    settings = load_settings(
        home, environ={"SOPBENCH_DB_URL": db_url, "MIXPOST_TOKEN": MIXPOST_TOKEN}
    )
    runs = RunService(settings, database=database)
    assert runs.workspace.problems == [], runs.workspace.problems
    return Home(home, settings, runs, ContentService(settings, runs=runs))
