"""Credentials and helpers shared by the integration tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sopbench.config import Secrets, Settings
from sopbench.testing.servers import DiscordServer, MixpostServer, ZohoServer

MIXPOST_TOKEN = "mixpost-tok-4c1d9e77a0b2"
ZOHO_CLIENT_ID = "1000.CLIENTID5C3E9A"
ZOHO_CLIENT_SECRET = "zoho-csecret-81f0aa3b"
ZOHO_REFRESH = "1000.refresh-7d2c4b19ee"
DISCORD_TOKEN = "hooktoken-Zx81Qa02Lm"
DISCORD_ID = "1180000000000000042"

SECRET_VALUES = [MIXPOST_TOKEN, ZOHO_CLIENT_ID, ZOHO_CLIENT_SECRET, ZOHO_REFRESH, DISCORD_TOKEN]
"""Every credential value the doubles use: none may ever show in an error or a log."""

FAST: dict[str, Any] = {"backoff": 0.01, "max_backoff": 0.05}
"""Connection options for quick retries in tests."""


def secrets_for(
    mixpost: MixpostServer | None = None,
    zoho: ZohoServer | None = None,
    discord: DiscordServer | None = None,
) -> dict[str, str]:
    values: dict[str, str] = {}
    if mixpost is not None:
        values["MIXPOST_TOKEN"] = mixpost.token
    if zoho is not None:
        values.update(
            ZOHO_CLIENT_ID=zoho.client_id,
            ZOHO_CLIENT_SECRET=zoho.client_secret,
            ZOHO_REFRESH_TOKEN=zoho.refresh_token,
        )
    if discord is not None:
        values["DISCORD_WEBHOOK"] = discord.webhook_url(DISCORD_ID)
    return values


def settings_with(tmp_path: Path, values: dict[str, str]) -> Settings:
    return Settings(home=tmp_path, db_url="sqlite://", secrets=Secrets([values]))


# -- a workspace whose connections point at the doubles ---------------------------------

ENTITIES = """\
entities:
  shop:
    name: Corner Shop
    timezone: America/Denver
    channels:
      ops: {type: log}
      staff: {type: discord, secret: DISCORD_WEBHOOK_SHOP}
      nowhere: {type: discord, secret: DISCORD_WEBHOOK_UNSET}
    crm:
      modules: {lead: Leads, deal: Deals}
"""

CONNECTIONS = """\
connections:
  zoho:
    type: zoho
    base_url: "{zoho}/crm/v8"
    secret: ZOHO_REFRESH_TOKEN
    timeout: 5
    options:
      accounts_url: "{zoho}"
      client_id_secret: ZOHO_CLIENT_ID
      client_secret_secret: ZOHO_CLIENT_SECRET
      backoff: 0.01
      max_backoff: 0.05{zoho_extra}
  mixpost:
    type: mixpost
    base_url: "{mixpost}"
    secret: MIXPOST_TOKEN
"""

LEAD_INTAKE = """\
sop_id: lead_intake
entity: shop
name: Record a lead, plan a call, tell the staff
inputs:
  email: {type: string, required: true}
  name: {type: string, required: true}
steps:
  - id: lead
    type: create_record
    with:
      module: lead
      fields: {Last_Name: "{{ inputs.name }}", Email: "{{ inputs.email }}", Lead_Source: Web}
      duplicate_check_fields: [Email]
  - id: follow_up
    type: create_task
    with:
      subject: "Call {{ inputs.name }}"
      due_date: "2026-12-01"
      related_module: Leads
      related_id: "{{ steps.lead.record_id }}"
  - id: tell
    type: notification
    with:
      channel: staff
      subject: New lead
      message: "{{ inputs.name }} <{{ inputs.email }}> is lead {{ steps.lead.record_id }}"
"""

UNCONFIGURED = """\
sop_id: {sop_id}
entity: shop
name: A step whose {what} is missing
steps:
  - id: only
{step}
"""


def write_workspace(
    home: Path,
    *,
    zoho_url: str,
    mixpost_url: str = "http://127.0.0.1:9/mixpost/api/none",
    zoho_options: dict[str, str] | None = None,
) -> Path:
    """A workspace home with entity ``shop``, zoho/mixpost connections and test SOPs."""
    sops = home / "sops"
    (sops / "shop").mkdir(parents=True)
    (sops / "entities.yaml").write_text(ENTITIES, encoding="utf-8")
    extra = "".join(f"\n      {k}: {v}" for k, v in (zoho_options or {}).items())
    (sops / "connections.yaml").write_text(
        CONNECTIONS.replace("{zoho}", zoho_url)
        .replace("{mixpost}", mixpost_url)
        .replace("{zoho_extra}", extra),
        encoding="utf-8",
    )
    (sops / "shop" / "lead_intake.yaml").write_text(LEAD_INTAKE, encoding="utf-8")
    broken = {
        "no_secret": (
            "secret",
            "    type: notification\n    with: {channel: nowhere, message: hello}",
        ),
    }
    for sop_id, (what, step) in broken.items():
        (sops / "shop" / f"{sop_id}.yaml").write_text(
            UNCONFIGURED.replace("{sop_id}", sop_id)
            .replace("{what}", what)
            .replace("{step}", step),
            encoding="utf-8",
        )
    return home


def environ_for(
    db_url: str, zoho: ZohoServer, discord: DiscordServer, mixpost: MixpostServer | None = None
) -> dict[str, str]:
    """The whole environment the settings see: the database and every secret."""
    values = {"SOPBENCH_DB_URL": db_url, **secrets_for(mixpost, zoho, discord)}
    values["DISCORD_WEBHOOK_SHOP"] = values.pop("DISCORD_WEBHOOK")
    return values
