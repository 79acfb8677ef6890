"""The ``content`` client of the ``content_generate`` and ``social_post`` steps.

:func:`content_factory` is the engine's client factory for ``content``. The
:class:`ContentAdapter` it builds opens the state database per call and
drives a :class:`~sopbench.content.drafts.DraftService`:

- ``generate``: one draft per platform, from a content template (no LLM) or
  from an LLM prompt (``SOPBENCH_LLM_URL``, else the embedded model; see
  :mod:`sopbench.content.llm_drafts`), in the entity's voice, naming the
  step's ``account`` or else the entity's ``social_accounts`` one. Draft
  ids derive from the step's idempotency key, so a retried step finds the
  drafts it made before.
- ``publish``: approved, unchanged drafts go to Mixpost (scheduled at their
  publish time, or now), each to its entity's own account of the platform
  (:mod:`sopbench.content.accounts`), or straight to a Discord webhook; the
  post id and ``scheduled``/``published``/``failed`` are recorded on the draft. A draft
  already out is not posted again, and Mixpost calls carry a per-draft
  idempotency key (and are deduplicated against recent posts).

Text from the LLM or from inputs is data: it goes into the messages as
content and into the database as text, and is never rendered as a template
or used to choose what runs.

``ContentAdapter(settings, on_token=...)`` (or :func:`streaming_content_factory`
in a run service's clients) streams each LLM draft's body to a watcher.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sopbench.config import Settings
from sopbench.content.accounts import MIXPOST_PROVIDERS, AccountTargets, choose_account
from sopbench.content.drafts import Draft, DraftService, draft_id_for
from sopbench.content.llm_drafts import (
    TokenSink,
    draft_messages,
    llm_reviser,
    revision_messages,
    write_draft,
)
from sopbench.content.media_adapter import connection_for
from sopbench.content.platforms import PlatformRules, get_platform
from sopbench.content.templates import templates_of
from sopbench.errors import ConnectionNotConfigured, DecisionRefused, InputError
from sopbench.integrations.embedded_llm import llm_for
from sopbench.integrations.registry import (
    ClientFactory,
    DiscordAdapter,
    MixpostAdapter,
    mixpost_client,
)
from sopbench.library import load_workspace
from sopbench.model.steps import ContentGenerateParams
from sopbench.model.workspace import Connection
from sopbench.store import Database, open_database

__all__ = [
    "MIXPOST_PROVIDERS",
    "AccountTargets",
    "ContentAdapter",
    "content_factory",
    "draft_messages",
    "llm_reviser",
    "parse_time",
    "revision_messages",
    "streaming_content_factory",
]


def parse_time(value: str | datetime | None) -> datetime | None:
    """An ISO time (naive means UTC), or None."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        when = value
    else:
        try:
            when = datetime.fromisoformat(str(value))
        except ValueError:
            raise InputError(f"'{value}' is not an ISO date and time") from None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


class ContentAdapter:
    """Drafts and publishing for the content steps (one database session per call)."""

    def __init__(
        self,
        settings: Settings,
        connection: Connection | None = None,
        *,
        on_token: TokenSink | None = None,
    ) -> None:
        self.settings = settings
        self.connection = connection
        self.on_token = on_token

    @contextmanager
    def _drafts(self) -> Iterator[DraftService]:
        db: Database = open_database(self.settings)
        try:
            yield DraftService(db)
        finally:
            db.dispose()

    # -- content_generate --------------------------------------------------------------

    def generate(
        self,
        *,
        entity: Mapping[str, Any],
        params: ContentGenerateParams,
        run_id: str,
        step_path: str,
        idempotency_key: str,
    ) -> dict[str, Any]:
        """One draft per platform; ``in_review`` when the step waits for review."""
        rules = [get_platform(p) for p in params.platforms]
        texts = (
            self._from_template(entity, params, rules)
            if params.template is not None
            else self._from_llm(entity, params, rules)
        )
        status = "in_review" if params.review == "wait" else "draft"
        publish_at = parse_time(params.publish_at)
        mapped = entity.get("social_accounts") or {}
        ids = []
        with self._drafts() as service:
            for rule, (body, tags, source) in zip(rules, texts, strict=True):
                draft = service.create(
                    draft_id=draft_id_for(idempotency_key, rule.id),
                    entity=str(entity.get("id")),
                    platform=rule.id,
                    # the entity's own account, so the reviewer approves where it goes
                    account=params.account or mapped.get(rule.id),
                    body=body,
                    hashtags=tags,
                    author=source,
                    publish_at=publish_at,
                    source_run_id=run_id,
                    source_step=step_path,
                    status=status,
                )
                ids.append(draft.id)
        return {"draft_ids": ids}

    def _from_template(
        self, entity: Mapping[str, Any], params: ContentGenerateParams, rules: list[PlatformRules]
    ) -> list[tuple[str, list[str], str]]:
        template = templates_of(self.settings.home).get(str(params.template))
        out = []
        for rule in rules:
            rendered = template.render(entity, rule, params.variables)
            out.append((rendered.body, rendered.hashtags, f"template:{template.name}"))
        return out

    def _from_llm(
        self, entity: Mapping[str, Any], params: ContentGenerateParams, rules: list[PlatformRules]
    ) -> list[tuple[str, list[str], str]]:
        tags = [str(t) for t in entity.get("hashtags") or []]
        out = []
        with llm_for(self.settings) as llm:  # no URL: the embedded model, or a clear error
            for rule in rules:
                messages = draft_messages(entity, rule, str(params.prompt), params.variables)
                out.append(write_draft(llm, messages, rule, tags, self.on_token))
        return out

    def all_decided(self, draft_ids: Sequence[str]) -> bool:
        with self._drafts() as service:
            return service.all_decided(draft_ids)

    def decisions(self, draft_ids: Sequence[str]) -> dict[str, str]:
        with self._drafts() as service:
            return service.decisions(draft_ids)

    # -- social_post ---------------------------------------------------------------------

    def publish(
        self,
        draft_ids: Sequence[str],
        *,
        via: str,
        publish_at: str | None = None,
        idempotency_key: str,
        targets: AccountTargets | None = None,
    ) -> dict[str, Any]:
        """Publish or schedule each approved, unchanged draft; rejected drafts are
        skipped; any other draft (unreviewed, or changed after approval) is refused
        before anything is posted. ``targets``: each entity's Mixpost accounts (by
        default read from the workspace's entities.yaml)."""
        if via == "mixpost":
            conn = self.connection or connection_for("mixpost", self.settings)
            mixpost: MixpostAdapter | None = mixpost_client(conn, self.settings)
        elif self.connection is None or self.connection.type != "discord":
            raise ConnectionNotConfigured(
                "social_post via discord needs a `type: discord` connection whose secret "
                "holds the webhook URL",
                hint="add one to sops/connections.yaml and name it in the step's `connection`",
            )
        else:
            mixpost = None
        fallback_time = parse_time(publish_at)
        with self._drafts() as service:
            chosen, skipped = [], []
            for draft_id in draft_ids:
                draft = service.get(draft_id)
                if draft.status == "rejected":  # the review said no: not an error
                    skipped.append(draft.id)
                    continue
                refusal = service.refusal(draft)
                if refusal:
                    raise DecisionRefused(refusal)
                chosen.append(draft)
            chosen_ids: dict[str, int] = {}
            if mixpost is not None:
                accounts = mixpost.accounts()
                targets = targets or AccountTargets.of(load_workspace(self.settings.home).entities)
                # every draft's account is settled before the first post goes out
                chosen_ids = {
                    d.id: choose_account(d, accounts, targets)
                    for d in chosen
                    if not (d.status in ("scheduled", "published") and d.post_id)
                }
            posts = []
            for draft in chosen:
                if draft.status in ("scheduled", "published") and draft.post_id:
                    posts.append(
                        {"draft_id": draft.id, "post_id": draft.post_id, "status": draft.status}
                    )
                    continue
                key = f"{idempotency_key}:{draft.id}"
                when = draft.publish_at or fallback_time
                if mixpost is not None:
                    account = chosen_ids[draft.id]
                    posts.append(self._mixpost(service, mixpost, account, draft, when, key))
                else:
                    posts.append(self._discord(service, draft, when, key))
        return {"post_ids": [p["post_id"] for p in posts], "posts": posts, "skipped": skipped}

    def _mixpost(
        self,
        service: DraftService,
        mixpost: MixpostAdapter,
        account: int,
        draft: Draft,
        when: datetime | None,
        key: str,
    ) -> dict[str, Any]:
        out = mixpost.publish(
            accounts=[account],
            body=draft.text,
            schedule_at=when,
            timezone="UTC" if when else None,
            idempotency_key=key,
        )
        status = "failed" if out.get("status") == "failed" else "scheduled" if when else "published"
        service.mark(
            draft.id, status, post_id=str(out["post_id"]), note=f"mixpost: {out['status']}"
        )
        return {"draft_id": draft.id, "post_id": str(out["post_id"]), "status": status}

    def _discord(
        self, service: DraftService, draft: Draft, when: datetime | None, key: str
    ) -> dict[str, Any]:
        if when is not None:
            raise InputError(
                f"draft {draft.id} has a publish time; Discord webhooks cannot schedule",
                hint="use `via: mixpost` to schedule, or publish it without a time",
            )
        sent = DiscordAdapter(self.connection, self.settings).send(
            channel={}, message=draft.text, subject=None, idempotency_key=key
        )
        service.mark(draft.id, "published", post_id=str(sent["message_id"]), note="discord")
        return {"draft_id": draft.id, "post_id": str(sent["message_id"]), "status": "published"}


def streaming_content_factory(on_token: TokenSink) -> ClientFactory:
    """A ``content`` factory whose LLM drafts stream to ``on_token(platform, piece)``."""

    def factory(connection: Connection | None, settings: Settings) -> ContentAdapter:
        adapter = content_factory(connection, settings)
        adapter.on_token = on_token
        return adapter

    return factory


def content_factory(connection: Connection | None, settings: Settings) -> ContentAdapter:
    """The registry factory for ``content`` (``connection``: where social_post publishes)."""
    if connection is not None and connection.type not in ("mixpost", "discord"):
        raise ConnectionNotConfigured(
            f"social_post publishes through a mixpost or discord connection, not {connection.type}"
        )
    return ContentAdapter(settings, connection)
