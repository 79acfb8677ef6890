"""Discord webhook client.

A webhook URL (``https://discord.com/api/webhooks/{id}/{token}``) is a
credential: it lives in a named secret, is resolved on every call, and is
masked (whole, and its token part) in every error and log line.

* :meth:`DiscordWebhook.execute` posts with ``?wait=true`` and returns the
  created :class:`Message`;
* message limits are checked **before** sending (:func:`check_message`):
  content ≤ 2000 characters, ≤ 10 embeds, title 256, description 4096,
  ≤ 25 fields (name 256, value 1024), footer 2048, author 256, ≤ 6000
  characters across all embeds — a violation raises
  :class:`MessageTooLarge` and nothing is sent;
* a 429 is waited out using the body's ``retry_after`` (float seconds;
  ``Retry-After`` as fallback); when a response says the bucket is empty
  (``X-RateLimit-Remaining: 0``) the next call to that webhook waits for
  ``X-RateLimit-Reset-After`` first, in any client of this process;
* a 404 means the webhook was deleted: :class:`ResourceGone`, with a hint
  to replace the secret (Discord asks clients not to use it again).

Discord has no idempotency key for webhooks; the step's key is sent but a
repeat after a crash can post the message twice (notifications are
at-least-once).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx

from sopbench.errors import IntegrationError
from sopbench.integrations.http import (
    HttpService,
    ResourceGone,
    RetryPolicy,
    parse_retry_after,
)

if TYPE_CHECKING:
    from sopbench.config import Secrets

__all__ = [
    "CONTENT_LIMIT",
    "DiscordWebhook",
    "Embed",
    "EmbedField",
    "Message",
    "MessageTooLarge",
    "check_message",
]

CONTENT_LIMIT = 2000
EMBEDS_LIMIT = 10
EMBED_TOTAL_LIMIT = 6000


class MessageTooLarge(IntegrationError):
    """The message breaks Discord's limits; nothing was sent."""

    default_hint = "shorten the message (content ≤ 2000 characters, embeds ≤ 6000 in total)"

    def __init__(self, message: str, *, problems: Sequence[str] = (), **fields: Any) -> None:
        self.problems = list(problems)
        fields.setdefault("service", "discord")
        super().__init__(message, **fields)


@dataclass(frozen=True)
class EmbedField:
    name: str
    value: str
    inline: bool = False


@dataclass(frozen=True)
class Embed:
    """A rich embed (webhooks cannot set type, provider, video or image sizes)."""

    title: str | None = None
    description: str | None = None
    url: str | None = None
    color: int | None = None
    fields: Sequence[EmbedField] = ()
    footer: str | None = None
    author: str | None = None
    image_url: str | None = None
    thumbnail_url: str | None = None
    timestamp: str | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for key in ("title", "description", "url", "color", "timestamp"):
            value = getattr(self, key)
            if value is not None:
                data[key] = value
        if self.fields:
            data["fields"] = [
                {"name": f.name, "value": f.value, "inline": f.inline} for f in self.fields
            ]
        if self.footer is not None:
            data["footer"] = {"text": self.footer}
        if self.author is not None:
            data["author"] = {"name": self.author}
        if self.image_url is not None:
            data["image"] = {"url": self.image_url}
        if self.thumbnail_url is not None:
            data["thumbnail"] = {"url": self.thumbnail_url}
        return data


@dataclass(frozen=True)
class Message:
    """A message a webhook posted."""

    id: str
    channel_id: str | None = None
    content: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)


def check_message(content: str | None, embeds: Sequence[Embed | Mapping[str, Any]] = ()) -> None:
    """Raise :class:`MessageTooLarge` listing every limit the message breaks."""
    problems: list[str] = []
    items = [e.to_json() if isinstance(e, Embed) else dict(e) for e in embeds]
    if not content and not items:
        problems.append("a message needs content or at least one embed")
    if content is not None and len(content) > CONTENT_LIMIT:
        problems.append(f"content is {len(content)} characters (limit {CONTENT_LIMIT})")
    if len(items) > EMBEDS_LIMIT:
        problems.append(f"{len(items)} embeds (limit {EMBEDS_LIMIT})")
    total = 0
    for i, embed in enumerate(items):
        where = f"embed {i}"
        for key, limit in (("title", 256), ("description", 4096)):
            text = str(embed.get(key) or "")
            total += len(text)
            if len(text) > limit:
                problems.append(f"{where} {key} is {len(text)} characters (limit {limit})")
        fields = embed.get("fields") or []
        if len(fields) > 25:
            problems.append(f"{where} has {len(fields)} fields (limit 25)")
        for j, item in enumerate(fields):
            name, value = str(item.get("name", "")), str(item.get("value", ""))
            total += len(name) + len(value)
            if len(name) > 256:
                problems.append(f"{where} field {j} name is {len(name)} characters (limit 256)")
            if len(value) > 1024:
                problems.append(f"{where} field {j} value is {len(value)} characters (limit 1024)")
        for key, inner, limit in (("footer", "text", 2048), ("author", "name", 256)):
            part = embed.get(key)
            text = str(part.get(inner, "")) if isinstance(part, Mapping) else ""
            total += len(text)
            if len(text) > limit:
                problems.append(f"{where} {key} is {len(text)} characters (limit {limit})")
    if total > EMBED_TOTAL_LIMIT:
        problems.append(f"embeds hold {total} characters in total (limit {EMBED_TOTAL_LIMIT})")
    if problems:
        raise MessageTooLarge(
            "discord: the message breaks Discord's limits: " + "; ".join(problems),
            problems=problems,
        )


# Buckets shared by every client of this process: webhook -> monotonic time it reopens.
_BLOCKED: dict[str, float] = {}
_BLOCKED_LOCK = threading.Lock()


def _discord_retry_after(response: httpx.Response) -> float | None:
    """``retry_after`` from the 429 JSON body (float seconds), else ``Retry-After``."""
    if response.status_code == 429:
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and isinstance(body.get("retry_after"), int | float):
            return max(0.0, float(body["retry_after"]))
    return parse_retry_after(response.headers.get("retry-after"))


class DiscordWebhook:
    """Posts to one Discord webhook whose URL is held by the secret ``secret_name``."""

    service = "discord"

    def __init__(
        self,
        secret_name: str,
        *,
        secrets: Secrets,
        timeout: float = 15.0,
        retry: RetryPolicy | None = None,
        username: str | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.secret_name = secret_name
        self.secrets = secrets
        self.username = username
        self.http = HttpService(
            self.service,
            "",
            secrets=secrets,
            timeout=timeout,
            retry=retry,
            retry_after=_discord_retry_after,
            error_parser=self._parse_error,
            auth_hint=f"the webhook token was refused: put the current webhook URL in "
            f"{secret_name}",
            transport=transport,
        )

    def __repr__(self) -> str:
        return f"<DiscordWebhook secret={self.secret_name}>"

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> DiscordWebhook:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the URL (a secret) ----------------------------------------------------------------
    def _url(self) -> tuple[str, str]:
        """The webhook URL and its bucket key, resolved now; parts registered for masking."""
        url = self.secrets.get(self.secret_name).strip()
        parts = urlsplit(url)
        segments = [p for p in parts.path.split("/") if p]
        if parts.scheme not in ("http", "https") or "webhooks" not in segments:
            raise IntegrationError(
                f"discord: the secret {self.secret_name} does not hold a webhook URL",
                service=self.service,
                hint="set it to https://discord.com/api/webhooks/<id>/<token>",
            )
        index = segments.index("webhooks")
        token = segments[index + 2] if len(segments) > index + 2 else ""
        self.http.add_sensitive(url, token)
        bucket = hashlib.sha256(parts.path.encode()).hexdigest()[:16]
        return url.rstrip("/"), bucket

    def _wait_bucket(self, bucket: str) -> None:
        with _BLOCKED_LOCK:
            until = _BLOCKED.get(bucket)
        if until is None:
            return
        wait = until - time.monotonic()
        if wait > 0:
            time.sleep(min(wait, self.http.retry.max_wait))

    def _note_bucket(self, bucket: str, response: httpx.Response) -> None:
        remaining = response.headers.get("x-ratelimit-remaining")
        reset_after = response.headers.get("x-ratelimit-reset-after")
        with _BLOCKED_LOCK:
            if remaining == "0" and reset_after:
                try:
                    _BLOCKED[bucket] = time.monotonic() + float(reset_after)
                except ValueError:
                    _BLOCKED.pop(bucket, None)
            else:
                _BLOCKED.pop(bucket, None)

    # -- calls --------------------------------------------------------------------------------
    def execute(
        self,
        content: str | None = None,
        *,
        embeds: Sequence[Embed | Mapping[str, Any]] = (),
        username: str | None = None,
        avatar_url: str | None = None,
        thread_id: str | None = None,
        allowed_mentions: Mapping[str, Any] | None = None,
        flags: int | None = None,
        tts: bool = False,
        idempotency_key: str | None = None,
    ) -> Message:
        """Post a message (``?wait=true``) and return it; limits are checked first."""
        check_message(content, embeds)
        payload: dict[str, Any] = {}
        if content:
            payload["content"] = content
        if embeds:
            payload["embeds"] = [e.to_json() if isinstance(e, Embed) else dict(e) for e in embeds]
        if username or self.username:
            payload["username"] = username or self.username
        if avatar_url:
            payload["avatar_url"] = avatar_url
        if allowed_mentions is not None:
            payload["allowed_mentions"] = dict(allowed_mentions)
        else:  # never ping @everyone from an SOP by accident
            payload["allowed_mentions"] = {"parse": []}
        if flags is not None:
            payload["flags"] = flags
        if tts:
            payload["tts"] = True
        params: dict[str, str] = {"wait": "true"}
        if thread_id:
            params["thread_id"] = thread_id
        url, bucket = self._url()
        self._wait_bucket(bucket)
        response = self.http.request(
            "POST", url, params=params, json=payload, idempotency_key=idempotency_key
        )
        self._note_bucket(bucket, response)
        return self._message(response)

    def get_message(self, message_id: str) -> Message:
        url, _ = self._url()
        return self._message(self.http.request("GET", f"{url}/messages/{message_id}"))

    def edit_message(
        self,
        message_id: str,
        content: str | None = None,
        *,
        embeds: Sequence[Embed | Mapping[str, Any]] | None = None,
    ) -> Message:
        check_message(content, embeds or ())
        payload: dict[str, Any] = {}
        if content is not None:
            payload["content"] = content
        if embeds is not None:
            payload["embeds"] = [e.to_json() if isinstance(e, Embed) else dict(e) for e in embeds]
        url, _ = self._url()
        response = self.http.request(
            "PATCH", f"{url}/messages/{message_id}", json=payload, idempotent=True
        )
        return self._message(response)

    def delete_message(self, message_id: str) -> None:
        url, _ = self._url()
        self.http.request("DELETE", f"{url}/messages/{message_id}")

    def _message(self, response: httpx.Response) -> Message:
        data = self.http.json(response, dict)
        message_id = data.get("id")
        if not isinstance(message_id, str) or not message_id:
            raise self.http.malformed(response, "expected a message object with an id")
        return Message(
            id=message_id,
            channel_id=data.get("channel_id"),
            content=str(data.get("content") or ""),
            raw=data,
        )

    # -- errors --------------------------------------------------------------------------------
    def _parse_error(self, response: httpx.Response, http: HttpService) -> IntegrationError | None:
        try:
            body = response.json() if response.content else None
        except ValueError:
            return None
        if not isinstance(body, dict):
            return None
        errors = _flatten(body.get("errors"))
        message = str(body.get("message") or response.reason_phrase)
        code = body.get("code")
        if code:
            message = f"{message} (code {code})"
        error = http.default_error(response, message=message, errors=errors)
        if isinstance(error, ResourceGone) and code == 10015:
            error.hint = (
                f"the webhook no longer exists; create a new one and put its URL in "
                f"{self.secret_name}"
            )
        return error


def _flatten(errors: Any, prefix: str = "") -> dict[str, list[str]]:
    """Discord's nested ``errors`` object as ``{"embeds.0.title": [messages]}``."""
    found: dict[str, list[str]] = {}
    if not isinstance(errors, dict):
        return found
    for key, value in errors.items():
        if key == "_errors" and isinstance(value, list):
            found[prefix or "message"] = [
                str(item.get("message", item)) if isinstance(item, dict) else str(item)
                for item in value
            ]
        elif isinstance(value, dict):
            found.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    return found
