"""Workspace-wide files: ``entities.yaml``, ``people.yaml`` and ``connections.yaml``."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from sopbench.model.common import Identifier, Strict

__all__ = [
    "Channel",
    "Connection",
    "ConnectionsFile",
    "CrmMapping",
    "EntitiesFile",
    "Entity",
    "PeopleFile",
    "Person",
    "PlatformSet",
    "PostingSlot",
    "Voice",
]

SECRET_NAME = r"^[A-Z][A-Z0-9_]*$"
CROSS_ENTITY = "cross_entity"


class Voice(Strict):
    """How an entity sounds in every draft."""

    tone: str
    use: list[str] = Field(default_factory=list, description="Words and phrases to use.")
    avoid: list[str] = Field(default_factory=list, description="Words and phrases to avoid.")
    samples: list[str] = Field(default_factory=list, description="Sentences in this voice.")


class PlatformSet(Strict):
    primary: list[str] = Field(default_factory=list)
    secondary: list[str] = Field(default_factory=list)


class Channel(Strict):
    """A named place notifications go; secrets are referenced by name only."""

    type: Literal["discord", "email", "log"]
    secret: str | None = Field(
        default=None, pattern=SECRET_NAME, description="Secret holding a webhook URL or password."
    )
    connection: str | None = Field(default=None, description="A connection from connections.yaml.")
    to: list[str] = Field(default_factory=list, description="Email recipients.")

    @model_validator(mode="after")
    def _needs_target(self) -> Channel:
        if self.type == "email" and not self.to:
            raise ValueError("an email channel needs `to`, the list of recipients")
        return self


class CrmMapping(Strict):
    """Which Zoho CRM modules hold this entity's records."""

    connection: str = "zoho"
    modules: dict[str, str] = Field(
        default_factory=dict, description="Logical name (lead, deal, ...) to CRM module."
    )


class PostingSlot(Strict):
    day: Literal["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"]
    time: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="Local HH:MM.")
    platform: str


class Entity(Strict):
    """A business (or the cross-entity group) sopbench runs SOPs for."""

    name: str = Field(description="Display name.")
    kind: Literal["business", "group"] = "business"
    folder: str | None = Field(default=None, description="SOP folder; defaults to the id.")
    timezone: str = "UTC"
    description: str | None = None
    members: list[str] = Field(default_factory=list, description="Entities of a group.")
    voice: Voice | None = None
    hashtags: list[str] = Field(default_factory=list)
    platforms: PlatformSet = Field(default_factory=PlatformSet)
    channels: dict[Identifier, Channel] = Field(default_factory=dict)
    crm: CrmMapping | None = None
    posting_slots: list[PostingSlot] = Field(default_factory=list)
    monthly_themes: dict[int, str] = Field(default_factory=dict, description="Month 1-12.")
    brand_colors: list[str] = Field(default_factory=list)
    social_accounts: dict[str, str] = Field(
        default_factory=dict,
        description="Platform to the Mixpost account its posts go to (username, name or id), "
        "e.g. {linkedin: summit-federal}; needed once Mixpost holds accounts of more "
        "than one business for a platform.",
    )

    @field_validator("social_accounts", mode="before")
    @classmethod
    def _account_ids(cls, value: Any) -> Any:
        # `linkedin: 3` names a Mixpost account by id: keep it as text like the others
        if isinstance(value, dict):
            return {
                k: str(v) if isinstance(v, int) and not isinstance(v, bool) else v
                for k, v in value.items()
            }
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        from sopbench.cron import load_zone

        load_zone(value)
        return value

    @field_validator("monthly_themes")
    @classmethod
    def _months(cls, value: dict[int, str]) -> dict[int, str]:
        bad = [month for month in value if not 1 <= month <= 12]
        if bad:
            raise ValueError(f"months are numbered 1-12, not {bad[0]}")
        return value


class EntitiesFile(Strict):
    entities: dict[Identifier, Entity] = Field(min_length=1)


class Person(Strict):
    name: str
    email: str | None = None
    roles: list[str] = Field(min_length=1)
    entities: list[str] = Field(
        default_factory=lambda: ["*"], description="Entity ids served; `*` for all."
    )


class PeopleFile(Strict):
    roles: dict[Identifier, str] = Field(
        default_factory=dict, description="Role id to what the role does."
    )
    people: dict[Identifier, Person] = Field(min_length=1)

    def holders(self, role: str) -> list[str]:
        return [pid for pid, person in self.people.items() if role in person.roles]


class Connection(Strict):
    """A named outside service; secrets by name, resolved only at call time."""

    type: Literal["http", "mixpost", "zoho", "discord", "smtp", "canva", "video", "llm"]
    base_url: str | None = None
    secret: str | None = Field(default=None, pattern=SECRET_NAME)
    auth: Literal["bearer", "basic", "header", "query", "none"] = Field(
        default="bearer",
        description="How the secret is sent: `Authorization: Bearer`, basic (the secret "
        "holds user:password), a `header`, a query `param`, or not at all.",
    )
    header: str | None = Field(default=None, description="Header name for `auth: header`.")
    param: str | None = Field(default=None, description="Query parameter for `auth: query`.")
    headers: dict[str, str] = Field(default_factory=dict)
    options: dict[str, Any] = Field(default_factory=dict, description="Service-specific settings.")
    timeout: float = Field(default=30.0, gt=0)


class ConnectionsFile(Strict):
    connections: dict[Identifier, Connection] = Field(default_factory=dict)
