"""Who may review a draft: the rules human tasks follow, applied to drafts.

A draft written by a ``content_generate`` step is reviewed by the roles in
that step's ``reviewers`` (default ``[manager]``). They are read from the
step's rendered parameters in the source run (``step_states.rendered``), so
drafts stored before this rule existed are covered too and no copy of the
list can drift from what the run was given. A draft with no source run
(written by hand) is reviewed by a manager or the owner.

As for human tasks (:meth:`sopbench.store.tasks.TaskStore.decide`): the
reviewer must be in ``people.yaml``, serve the draft's entity and hold one
of the roles; the person who started the run may not approve, reject or
publish its drafts (asking for changes is still fine: it decides nothing).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sopbench.content.draft_types import Draft
from sopbench.errors import DecisionRefused
from sopbench.model.workspace import PeopleFile
from sopbench.store import Database
from sopbench.store.runs import RunStore

__all__ = [
    "DEFAULT_STEP_REVIEWERS",
    "NO_RUN_REVIEWERS",
    "ReviewRules",
    "check_reviewer",
    "review_rules",
    "reviewer_refusal",
]

DEFAULT_STEP_REVIEWERS = ("manager",)
"""``content_generate``'s default ``reviewers``."""
NO_RUN_REVIEWERS = ("manager", "owner")
"""Who reviews a draft that no run wrote."""
ACTIONS = frozenset({"approve", "reject", "publish", "request_changes"})
_STARTER_BARRED = {"approve": "approve", "reject": "approve", "publish": "publish"}


@dataclass(frozen=True)
class ReviewRules:
    """What a reviewer of one draft must be."""

    entity: str
    reviewers: tuple[str, ...]
    started_by: str | None


def _step_reviewers(rendered: Any) -> tuple[str, ...]:
    """The step's ``reviewers`` as the run rendered them (an empty list: any role)."""
    listed = rendered.get("reviewers") if isinstance(rendered, Mapping) else None
    if isinstance(listed, list) and all(isinstance(role, str) for role in listed):
        return tuple(listed)
    return DEFAULT_STEP_REVIEWERS


def review_rules(db: Database, draft: Draft) -> ReviewRules:
    """The rules for ``draft``, from its source run and step."""
    if draft.source_run_id is None:
        return ReviewRules(draft.entity, NO_RUN_REVIEWERS, None)
    started_by, rendered = RunStore(db).review_source(draft.source_run_id, draft.source_step)
    return ReviewRules(draft.entity, _step_reviewers(rendered), started_by)


def reviewer_refusal(
    rules: ReviewRules, person: str, people: PeopleFile | None, action: str
) -> DecisionRefused | None:
    """Why ``person`` may not ``action`` the draft (approve, reject, publish,
    request_changes), or None."""
    if action not in ACTIONS:
        raise ValueError(f"unknown review action {action!r}")
    if people is None or person not in people.people:
        hint = (
            "review drafts as a listed person"
            if people is not None
            else "list the reviewers and their roles in sops/people.yaml"
        )
        return DecisionRefused(f"'{person}' is not in sops/people.yaml", hint=hint)
    verb = _STARTER_BARRED.get(action)
    if verb is not None and rules.started_by is not None and person == rules.started_by:
        return DecisionRefused(
            f"{person} started this run and cannot {verb} its drafts",
            hint="ask another reviewer",
        )
    member = people.people[person]
    if "*" not in member.entities and rules.entity not in member.entities:
        return DecisionRefused(
            f"{person} does not serve entity '{rules.entity}'",
            hint="ask a reviewer of that entity (people.yaml `entities`)",
        )
    if rules.reviewers and not set(rules.reviewers) & set(member.roles):
        return DecisionRefused(
            f"{person} lacks the role to review this draft "
            f"(needs one of: {', '.join(rules.reviewers)})",
            hint="ask a person with one of those roles (people.yaml `roles`)",
        )
    return None


def check_reviewer(rules: ReviewRules, person: str, people: PeopleFile | None, action: str) -> None:
    """Raise :class:`DecisionRefused` unless ``person`` may ``action`` the draft."""
    refused = reviewer_refusal(rules, person, people, action)
    if refused is not None:
        raise refused
