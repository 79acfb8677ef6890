"""Which Mixpost account a draft is posted to.

One Mixpost workspace often holds the accounts of several businesses (the
federal contractor's LinkedIn page next to the SaaS arm's). A draft goes to
exactly one account of its platform:

1. the draft's own ``account`` (the step's ``account``, or the entity's
   mapping filled in when the draft was written, so the reviewer saw it);
2. else the entity's ``social_accounts`` in ``entities.yaml``
   (platform → Mixpost username, name or id);
3. else, only when the workspace has a single business entity and Mixpost
   exactly one account of the platform, that account.

Anything else fails the step before a post is made, naming the entity, the
platform, the candidate accounts and what to add to ``entities.yaml``:
posting a business's text on another business's page is not recoverable.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sopbench.content.draft_types import Draft
from sopbench.errors import StepFailed
from sopbench.model.workspace import EntitiesFile

__all__ = ["MIXPOST_PROVIDERS", "AccountTargets", "choose_account"]

MIXPOST_PROVIDERS: dict[str, tuple[str, ...]] = {
    "facebook": ("facebook_page", "facebook_group", "facebook"),
    "x": ("twitter", "x"),
    "linkedin": ("linkedin", "linkedin_page"),
    "instagram": ("instagram",),
    "tiktok": ("tiktok",),
    "youtube": ("youtube",),
    "twitch": ("twitch",),
    "whatnot": ("whatnot",),
    "discord": ("discord",),
}
"""Mixpost provider names that publish to each platform (builds add providers)."""


@dataclass(frozen=True)
class AccountTargets:
    """Each entity's platform → Mixpost account, and the workspace's business entities."""

    by_entity: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    businesses: tuple[str, ...] = ()

    @classmethod
    def of(cls, entities: EntitiesFile | None) -> AccountTargets:
        found = entities.entities if entities is not None else {}
        return cls(
            by_entity={eid: dict(e.social_accounts) for eid, e in found.items()},
            businesses=tuple(eid for eid, e in found.items() if e.kind == "business"),
        )

    def mapped(self, entity: str, platform: str) -> str | None:
        return self.by_entity.get(entity, {}).get(platform)


def _label(account: Mapping[str, Any]) -> str:
    name = account.get("username") or account.get("name") or "?"
    return f"{name} (id {account['id']})"


def _listing(accounts: Sequence[Mapping[str, Any]]) -> str:
    return ", ".join(_label(a) for a in accounts) or "none"


def choose_account(
    draft: Draft, accounts: Sequence[Mapping[str, Any]], targets: AccountTargets
) -> int:
    """The id of the one Mixpost account ``draft`` goes to; :class:`StepFailed` otherwise."""
    platform, entity = draft.platform, draft.entity
    providers = MIXPOST_PROVIDERS.get(platform, (platform,))
    candidates = [a for a in accounts if str(a.get("provider", "")).lower() in providers]
    wanted = draft.account or targets.mapped(entity, platform)
    if wanted:
        return _named(draft, wanted, candidates)
    if not candidates:
        raise StepFailed(
            f"Mixpost has no {platform} account for draft {draft.id} of entity '{entity}'",
            hint=f"connect {entity}'s {platform} account in Mixpost",
        )
    if len(targets.businesses) == 1 and len(candidates) == 1:
        return int(candidates[0]["id"])
    why = (
        f"Mixpost has {len(candidates)} {platform} accounts"
        if len(candidates) > 1
        else f"the workspace has {len(targets.businesses)} business entities"
    )
    raise StepFailed(
        f"draft {draft.id} of entity '{entity}' names no {platform} account and {why}, "
        f"so which one is {entity}'s is unknown (candidates: {_listing(candidates)})",
        hint=f"add `social_accounts: {{{platform}: USERNAME}}` (one of the candidates, by "
        f"username, name or id) to entity '{entity}' in sops/entities.yaml",
    )


def _named(draft: Draft, wanted: str, candidates: Sequence[Mapping[str, Any]]) -> int:
    platform, entity = draft.platform, draft.entity
    matched = [a for a in candidates if wanted in (str(a["id"]), a.get("username"), a.get("name"))]
    if len(matched) == 1:
        return int(matched[0]["id"])
    source = (
        "the draft's account"
        if draft.account
        else f"social_accounts.{platform} of entity '{entity}' in sops/entities.yaml"
    )
    if not matched:
        raise StepFailed(
            f"Mixpost has no {platform} account '{wanted}' ({source}) for draft {draft.id}; "
            f"its {platform} accounts: {_listing(candidates)}",
            hint=f"connect the account in Mixpost, or name one of those in {source}",
        )
    raise StepFailed(
        f"'{wanted}' ({source}) names {len(matched)} Mixpost {platform} accounts for draft "
        f"{draft.id}: {_listing(matched)}",
        hint="name the account by its Mixpost id",
    )
