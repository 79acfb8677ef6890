"""Integration clients for step handlers, built from workspace connections.

:func:`default_clients` maps a client kind (``http``, ``zoho``,
``discord``, ``mixpost`` ...) to a factory ``(connection or None, settings) -> adapter``;
the engine calls the factory each time a step asks for a client
(``services.client(kind, connection_name)``). Adapters are small, keep no
open connection between calls (each call opens and closes its HTTP
client), resolve secrets only when they call out, and return plain JSON
dicts, which the engine records as the effect's outcome.

A missing connection, base URL or secret fails the step with
:class:`~sopbench.errors.ConnectionNotConfigured` or
:class:`~sopbench.errors.SecretMissing`, naming what to set.

Connection examples (``sops/connections.yaml``)::

    connections:
      zoho:
        type: zoho
        base_url: https://www.zohoapis.com        # optional: the token names the API domain
        secret: ZOHO_REFRESH_TOKEN
        options:
          accounts_url: https://accounts.zoho.com
          client_id_secret: ZOHO_CLIENT_ID       # secret names, not values
          client_secret_secret: ZOHO_CLIENT_SECRET
          idempotency_field: Sopbench_Key        # optional custom field, see ZohoAdapter
      mixpost:
        type: mixpost
        base_url: https://social.example.com/mixpost/api/<workspace uuid>
        secret: MIXPOST_TOKEN
      pos:                                         # for api_call / webhook steps
        type: http
        base_url: https://pos.example.com/api/v1
        secret: POS_API_KEY
        auth: query                                # bearer (default), header, basic, query, none
        param: api_key                             # query: the parameter; header: `header:`

Discord channels need no connection: ``channels: {ops: {type: discord,
secret: DISCORD_WEBHOOK_OPS}}`` in ``entities.yaml`` (the secret holds the
webhook URL); a ``type: discord`` connection can carry ``timeout`` and
retry options for them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sopbench.config import Settings
from sopbench.errors import ConnectionNotConfigured
from sopbench.integrations.discord import DiscordWebhook
from sopbench.integrations.http import RetryPolicy, http_factory
from sopbench.integrations.mixpost import MixpostClient
from sopbench.integrations.zoho import NO_UPSERT_MODULES, RecordResult, ZohoCRM
from sopbench.model.workspace import Connection

__all__ = [
    "ClientFactory",
    "DiscordAdapter",
    "MixpostAdapter",
    "ZohoAdapter",
    "default_clients",
]

ClientFactory = Callable[[Any, Settings], Any]
"""``(connection model or None, settings) -> client``; the engine's factory shape."""


def _need(connection: Connection | None, kind: str) -> Connection:
    if connection is None:
        raise ConnectionNotConfigured(
            f"{kind} steps need a `{kind}` connection",
            hint=f"add a connection with `type: {kind}` to sops/connections.yaml "
            "(or run `sopbench sandbox`)",
        )
    if connection.type != kind:
        raise ConnectionNotConfigured(
            f"the connection is of type {connection.type}, not {kind}",
            hint=f"name a connection with `type: {kind}` in the step",
        )
    return connection


# -- Zoho CRM ---------------------------------------------------------------------------------


class ZohoAdapter:
    """``create_task`` / ``upsert`` / ``update`` for the CRM steps.

    With ``options.idempotency_field`` (a custom text field the owner adds
    to the modules used), the step's idempotency key is written into that
    field and an insert first searches for it, so even a plain insert
    (Tasks, no duplicate-check fields) is never repeated after a crash by
    a server that ignores ``Idempotency-Key`` (as Zoho does).
    """

    def __init__(self, connection: Connection, settings: Settings) -> None:
        self.connection = connection
        self.settings = settings
        self.idempotency_field: str | None = connection.options.get("idempotency_field")

    def __repr__(self) -> str:
        return f"<ZohoAdapter {self.connection.base_url or '(api domain from token)'}>"

    def client(self) -> ZohoCRM:
        """A new client (close it, or use it in a ``with`` block)."""
        return ZohoCRM.from_connection(self.connection, self.settings)

    def _existing(self, crm: ZohoCRM, module: str, key: str) -> str | None:
        if not self.idempotency_field:
            return None
        found = crm.find(module, {self.idempotency_field: key})
        return str(found[0]["id"]) if found else None

    def _keyed(self, fields: Mapping[str, Any], key: str) -> dict[str, Any]:
        record = dict(fields)
        if self.idempotency_field:
            record[self.idempotency_field] = key
        return record

    def create_task(self, request: Mapping[str, Any], *, idempotency_key: str) -> dict[str, Any]:
        """A Zoho task from a ``create_task`` step's parameters."""
        related_module = request.get("related_module")
        related_id = request.get("related_id")
        with self.client() as crm:
            existing = self._existing(crm, "Tasks", idempotency_key)
            if existing is not None:
                return {"record_id": existing, "action": "existing"}
            result = crm.create_task(
                str(request["subject"]),
                due_date=request.get("due_date"),
                priority=request.get("priority"),
                owner=request.get("owner"),
                what_id=related_id if related_module != "Contacts" else None,
                se_module=related_module if related_module != "Contacts" else None,
                who_id=related_id if related_module == "Contacts" else None,
                fields=self._keyed(request.get("fields") or {}, idempotency_key),
                idempotency_key=idempotency_key,
            )
        return _outcome(result)

    def upsert(
        self,
        module: str,
        fields: Mapping[str, Any],
        *,
        duplicate_check_fields: Sequence[str],
        idempotency_key: str,
    ) -> dict[str, Any]:
        """Insert, or update the record matching ``duplicate_check_fields``."""
        record = self._keyed(fields, idempotency_key)
        with self.client() as crm:
            if duplicate_check_fields and module not in NO_UPSERT_MODULES:
                result = crm.upsert_one(
                    module,
                    record,
                    duplicate_check_fields=duplicate_check_fields,
                    idempotency_key=idempotency_key,
                )
                return _outcome(result)
            if duplicate_check_fields:  # Tasks, Calls, Events: search, then update or insert
                wanted = {f: fields[f] for f in duplicate_check_fields if f in fields}
                found = crm.find(module, wanted) if wanted else []
                if found:
                    result = crm.update(
                        module, str(found[0]["id"]), record, idempotency_key=idempotency_key
                    )
                    return _outcome(result)
            existing = self._existing(crm, module, idempotency_key)
            if existing is not None:
                return {"record_id": existing, "action": "existing"}
            return _outcome(crm.insert_one(module, record, idempotency_key=idempotency_key))

    def update(
        self,
        module: str,
        record_id: str,
        fields: Mapping[str, Any],
        *,
        idempotency_key: str,
    ) -> dict[str, Any]:
        """Update fields of one record."""
        with self.client() as crm:
            result = crm.update(module, record_id, fields, idempotency_key=idempotency_key)
        return _outcome(result)


def _outcome(result: RecordResult) -> dict[str, Any]:
    return {"record_id": result.id, "action": result.action}


def zoho_client(connection: Connection | None, settings: Settings) -> ZohoAdapter:
    return ZohoAdapter(_need(connection, "zoho"), settings)


# -- Discord ------------------------------------------------------------------------------------


class DiscordAdapter:
    """``send`` for ``notification`` steps whose channel is ``type: discord``."""

    def __init__(self, connection: Connection | None, settings: Settings) -> None:
        self.connection = connection
        self.settings = settings

    def send(
        self,
        *,
        channel: Mapping[str, Any],
        message: str,
        subject: str | None,
        idempotency_key: str,
    ) -> dict[str, Any]:
        """Post ``message`` (``subject`` as a bold first line) to the channel's webhook."""
        secret = channel.get("secret") or (self.connection.secret if self.connection else None)
        if not secret:
            raise ConnectionNotConfigured(
                "the discord channel names no secret holding its webhook URL",
                hint="add `secret: DISCORD_WEBHOOK_<NAME>` to the channel in sops/entities.yaml",
            )
        content = f"**{subject}**\n{message}" if subject else message
        options = self.connection.options if self.connection else {}
        hook = DiscordWebhook(
            str(secret),
            secrets=self.settings.secrets,
            timeout=self.connection.timeout if self.connection else 15.0,
            retry=RetryPolicy.from_options(options),
            username=options.get("username"),
        )
        with hook:
            sent = hook.execute(content, idempotency_key=idempotency_key)
        return {"message_id": sent.id, "channel_id": sent.channel_id}


def discord_client(connection: Connection | None, settings: Settings) -> DiscordAdapter:
    if connection is not None and connection.type != "discord":
        raise ConnectionNotConfigured(
            f"the connection is of type {connection.type}, not discord",
            hint="a discord channel's `connection` must name a `type: discord` connection",
        )
    return DiscordAdapter(connection, settings)


# -- Mixpost --------------------------------------------------------------------------------------


class MixpostAdapter:
    """The Mixpost client for a connection, plus a crash-safe ``publish``."""

    def __init__(self, connection: Connection, settings: Settings) -> None:
        self.connection = connection
        self.settings = settings

    def client(self) -> MixpostClient:
        """A new client (close it, or use it in a ``with`` block)."""
        return MixpostClient.from_connection(self.connection, self.settings)

    def accounts(self) -> list[dict[str, Any]]:
        with self.client() as client:
            return [
                {"id": a.id, "provider": a.provider, "name": a.name, "username": a.username}
                for a in client.accounts()
            ]

    def publish(
        self,
        *,
        accounts: Sequence[int],
        body: str,
        media: Sequence[int] = (),
        options: Mapping[str, Mapping[str, Any]] | None = None,
        schedule_at: datetime | None = None,
        timezone: str | None = None,
        idempotency_key: str,
    ) -> dict[str, Any]:
        """Publish one post now, or schedule it at ``schedule_at``; a repeat finds the first.

        Before creating, page 1 of recent posts is searched for one with the
        same accounts, body and schedule (``options.dedupe: false`` turns
        that off), so a create repeated after a crash does not post twice
        even if the server ignores ``Idempotency-Key``.
        """
        publish_now = schedule_at is None
        with self.client() as client:
            if self.connection.options.get("dedupe", True):
                found = client.find_recent(
                    accounts=accounts, body=body, scheduled_at=None if publish_now else schedule_at
                )
                if found is not None:
                    return {"post_id": found.uuid, "status": found.status, "repeat": True}
            post = client.create_post(
                accounts=accounts,
                body=body,
                media=media,
                options=options,
                schedule_at=schedule_at,
                timezone=timezone,
                publish_now=publish_now,
                idempotency_key=idempotency_key,
            )
        return {"post_id": post.uuid, "status": post.status}

    def status(self, post_id: str) -> dict[str, Any]:
        with self.client() as client:
            post = client.post(post_id)
        return {"post_id": post.uuid, "status": post.status, "published_at": post.published_at}


def mixpost_client(connection: Connection | None, settings: Settings) -> MixpostAdapter:
    return MixpostAdapter(_need(connection, "mixpost"), settings)


def email_client(connection: Connection | None, settings: Settings) -> Any:
    from sopbench.integrations.email import email_factory

    return email_factory(connection, settings)


def canva_client(connection: Connection | None, settings: Settings) -> Any:
    from sopbench.integrations.canva import canva_factory

    return canva_factory(connection, settings)


def video_client(connection: Connection | None, settings: Settings) -> Any:
    from sopbench.integrations.video import video_factory

    return video_factory(connection, settings)


def llm_client(connection: Connection | None, settings: Settings) -> Any:
    from sopbench.integrations.embedded_llm import llm_factory

    return llm_factory(connection, settings)


def default_clients() -> dict[str, ClientFactory]:
    """The built-in client factories by kind (a new dict each call).

    The ``media`` adapter (media requests over the database) lives in
    :mod:`sopbench.content.media`, above this layer; the run service adds it.
    """
    return {
        "http": http_factory,
        "zoho": zoho_client,
        "discord": discord_client,
        "mixpost": mixpost_client,
        "email": email_client,
        "canva": canva_client,
        "video": video_client,
        "llm": llm_client,
    }
