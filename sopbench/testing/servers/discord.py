"""A local double of Discord's webhook API.

Documented behaviour reproduced (see ``INTEGRATIONS.md`` section c):

* ``POST /api[/v10]/webhooks/{id}/{token}``: no auth header, the token in
  the path is the credential; ``?wait=true`` answers 200 with the message
  object, otherwise 204; ``thread_id`` is accepted;
* validation: one of ``content``/``embeds``/``components``/``poll`` needed
  (400 code 50006), ``content`` ≤ 2000, ≤ 10 embeds, embed limits (title
  256, description 4096, ≤ 25 fields, name 256, value 1024, footer 2048,
  author 256, ≤ 6000 in total) — 400 ``{"code": 50035, "errors": {...},
  "message": "Invalid Form Body"}``;
* an unknown webhook: 404 ``{"code": 10015, "message": "Unknown Webhook"}``;
  a wrong token: 401 ``{"code": 50027, "message": "Invalid Webhook Token"}``;
* ``X-RateLimit-Limit/-Remaining/-Reset/-Reset-After/-Bucket`` on every
  answer; over the bucket (``bucket_limit`` requests per ``rate_window``
  seconds, off by default): 429 with ``{"message", "retry_after": <float
  s>, "global": false}``, ``Retry-After`` (whole seconds, rounded up) and
  ``X-RateLimit-Scope: user``;
* ``GET|PATCH|DELETE /webhooks/{id}/{token}/messages/{id}`` (delete: 204).

Discord has no idempotency key for webhooks: a repeated execute posts a
second message, as the real service does. The ``/slack`` and ``/github``
variants are not served.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

from sopbench.testing.servers._base import LocalServer, Recorded, Reply

__all__ = ["DiscordServer"]

EMBED_LIMITS = {"title": 256, "description": 4096}
EPOCH = 1420070400000  # Discord epoch (ms)


def _invalid(errors: Mapping[str, Any]) -> Reply:
    return Reply(400, {"code": 50035, "errors": dict(errors), "message": "Invalid Form Body"})


def _too_long(limit: int) -> dict[str, Any]:
    return {
        "_errors": [
            {"code": "BASE_TYPE_MAX_LENGTH", "message": f"Must be {limit} or fewer in length."}
        ]
    }


class DiscordServer(LocalServer):
    """Discord webhooks: any number of (id, token) pairs, messages kept in memory."""

    name: ClassVar[str] = "discord"

    def __init__(
        self,
        *,
        webhooks: Mapping[str, str] | None = None,
        bucket_limit: int | None = None,
        rate_window: float = 2.0,
        channel_id: str = "1180000000000000001",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.webhooks: dict[str, str] = dict(
            webhooks or {"1180000000000000042": "sandbox-webhook-token-AbCdEf0123456789"}
        )
        self.bucket_limit = bucket_limit
        self.rate_window = rate_window
        self.channel_id = channel_id
        self.messages: list[dict[str, Any]] = []
        self._hits: dict[str, list[float]] = {}
        self._mu = threading.Lock()
        self._seq = 0

    def webhook_url(self, webhook_id: str | None = None, *, version: bool = True) -> str:
        """The full URL of a webhook (the value a workspace stores as a secret)."""
        wid = webhook_id or next(iter(self.webhooks))
        base = "/api/v10" if version else "/api"
        return f"{self.url}{base}/webhooks/{wid}/{self.webhooks[wid]}"

    def add_webhook(self, webhook_id: str, token: str) -> str:
        self.webhooks[webhook_id] = token
        return self.webhook_url(webhook_id)

    # -- fault shapes -----------------------------------------------------------------
    def rate_limit_reply(self, request: Recorded, retry_after: float | str | None) -> Reply:
        seconds = float(retry_after) if isinstance(retry_after, int | float) else 1.0
        return self._limited(seconds, bucket_scope="user")

    def _limited(self, seconds: float, *, bucket_scope: str) -> Reply:
        return Reply(
            429,
            {"message": "You are being rate limited.", "retry_after": seconds, "global": False},
            headers={
                "Retry-After": str(max(1, math.ceil(seconds))),
                "X-RateLimit-Limit": str(self.bucket_limit or 5),
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": f"{time.time() + seconds:.3f}",
                "X-RateLimit-Reset-After": f"{seconds:.3f}",
                "X-RateLimit-Bucket": "sandbox-webhook-bucket",
                "X-RateLimit-Scope": bucket_scope,
            },
        )

    def error_reply(self, request: Recorded, status: int) -> Reply:
        if status >= 500:
            return Reply(status, {"message": "500: Internal Server Error", "code": 0})
        return Reply(status, {"message": "400: Bad Request", "code": 0})

    def auth_reply(self, request: Recorded) -> Reply:
        return Reply(401, {"message": "Invalid Webhook Token", "code": 50027})

    # -- routing -------------------------------------------------------------------------
    def handle(self, request: Recorded) -> Reply:
        parts = [p for p in request.path.split("/") if p]
        if parts[:1] != ["api"]:
            return Reply(404, {"message": "404: Not Found", "code": 0})
        parts = parts[1:]
        if parts and parts[0].startswith("v") and parts[0][1:].isdigit():
            parts = parts[1:]
        if len(parts) < 3 or parts[0] != "webhooks":
            return Reply(404, {"message": "404: Not Found", "code": 0})
        webhook_id, token, rest = parts[1], parts[2], parts[3:]
        if webhook_id not in self.webhooks:
            return Reply(404, {"message": "Unknown Webhook", "code": 10015})
        if self.webhooks[webhook_id] != token:
            return self.auth_reply(request)
        limited, headers = self._bucket(webhook_id)
        if limited is not None:
            return limited
        if not rest and request.method == "POST":
            reply = self._execute(request, webhook_id)
        elif len(rest) == 2 and rest[0] == "messages":
            reply = self._message(request, webhook_id, rest[1])
        else:
            reply = Reply(405, {"message": "405: Method Not Allowed", "code": 0})
        reply.headers.update(headers)
        return reply

    def _bucket(self, webhook_id: str) -> tuple[Reply | None, dict[str, str]]:
        limit = self.bucket_limit
        now = time.monotonic()
        with self._mu:
            hits = [t for t in self._hits.get(webhook_id, []) if now - t < self.rate_window]
            if limit is not None and len(hits) >= limit:
                self._hits[webhook_id] = hits
                wait = max(0.001, self.rate_window - (now - hits[0]))
                return self._limited(wait, bucket_scope="user"), {}
            hits.append(now)
            self._hits[webhook_id] = hits
            window_left = self.rate_window - (now - hits[0])
        shown = limit or 5
        remaining = max(0, shown - len(hits)) if limit is not None else shown - 1
        return None, {
            "X-RateLimit-Limit": str(shown),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": f"{time.time() + window_left:.3f}",
            "X-RateLimit-Reset-After": f"{window_left:.3f}",
            "X-RateLimit-Bucket": "sandbox-webhook-bucket",
        }

    # -- execute ---------------------------------------------------------------------------
    def _validate(self, body: Mapping[str, Any]) -> Reply | None:
        content = body.get("content")
        embeds = body.get("embeds") or []
        if not content and not embeds and not body.get("components") and not body.get("poll"):
            return Reply(400, {"message": "Cannot send an empty message", "code": 50006})
        errors: dict[str, Any] = {}
        if isinstance(content, str) and len(content) > 2000:
            errors["content"] = _too_long(2000)
        username = body.get("username")
        if isinstance(username, str) and not 1 <= len(username) <= 80:
            errors["username"] = _too_long(80)
        if not isinstance(embeds, list):
            errors["embeds"] = {"_errors": [{"code": "LIST_TYPE_CONVERT", "message": "Not a list"}]}
            embeds = []
        if len(embeds) > 10:
            errors["embeds"] = {
                "_errors": [
                    {"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 10 or fewer in length."}
                ]
            }
        total = 0
        for i, embed in enumerate(embeds[:10]):
            if not isinstance(embed, dict):
                continue
            problems: dict[str, Any] = {}
            for key, limit in EMBED_LIMITS.items():
                value = embed.get(key) or ""
                total += len(value)
                if len(value) > limit:
                    problems[key] = _too_long(limit)
            fields = embed.get("fields") or []
            if len(fields) > 25:
                problems["fields"] = _too_long(25)
            for j, item in enumerate(fields[:25]):
                name, value = str(item.get("name", "")), str(item.get("value", ""))
                total += len(name) + len(value)
                sub: dict[str, Any] = {}
                if len(name) > 256:
                    sub["name"] = _too_long(256)
                if len(value) > 1024:
                    sub["value"] = _too_long(1024)
                if sub:
                    problems.setdefault("fields", {})[str(j)] = sub
            for key, inner, limit in (("footer", "text", 2048), ("author", "name", 256)):
                part = embed.get(key) or {}
                text = str(part.get(inner, "")) if isinstance(part, dict) else ""
                total += len(text)
                if len(text) > limit:
                    problems[key] = {inner: _too_long(limit)}
            if problems:
                errors.setdefault("embeds", {})[str(i)] = problems
        if total > 6000:
            errors.setdefault("embeds", {})["_errors"] = [
                {
                    "code": "MAX_EMBED_SIZE_EXCEEDED",
                    "message": "Embed size exceeds maximum size of 6000",
                }
            ]
        return _invalid(errors) if errors else None

    def _execute(self, request: Recorded, webhook_id: str) -> Reply:
        try:
            body = request.json
        except ValueError:
            return Reply(400, {"message": "400: Bad Request", "code": 50109})
        if not isinstance(body, dict):
            return Reply(400, {"message": "400: Bad Request", "code": 50109})
        invalid = self._validate(body)
        if invalid is not None:
            return invalid
        with self._mu:
            self._seq += 1
            snowflake = ((int(time.time() * 1000) - EPOCH) << 22) + self._seq
            message = {
                "id": str(snowflake),
                "type": 0,
                "content": body.get("content") or "",
                "channel_id": request.param("thread_id") or self.channel_id,
                "author": {
                    "id": webhook_id,
                    "username": body.get("username") or "Sandbox Hook",
                    "avatar": None,
                    "discriminator": "0000",
                    "bot": True,
                },
                "attachments": [],
                "embeds": [{"type": "rich", **e} for e in body.get("embeds") or []],
                "mentions": [],
                "mention_roles": [],
                "pinned": False,
                "mention_everyone": False,
                "tts": bool(body.get("tts")),
                "timestamp": datetime.now(UTC).isoformat(),
                "edited_timestamp": None,
                "flags": int(body.get("flags") or 0),
                "components": [],
                "webhook_id": webhook_id,
            }
            self.messages.append(message)
        if (request.param("wait") or "false").lower() == "true":
            return Reply(200, dict(message))
        return Reply(204)

    def _message(self, request: Recorded, webhook_id: str, message_id: str) -> Reply:
        with self._mu:
            found = next(
                (
                    m
                    for m in self.messages
                    if m["id"] == message_id and m["webhook_id"] == webhook_id
                ),
                None,
            )
            if found is None:
                return Reply(404, {"message": "Unknown Message", "code": 10008})
            if request.method == "GET":
                return Reply(200, dict(found))
            if request.method == "DELETE":
                self.messages.remove(found)
                return Reply(204)
            if request.method == "PATCH":
                body = request.json or {}
                invalid = self._validate({**found, **body})
                if invalid is not None:
                    return invalid
                for key in ("content", "embeds"):
                    if key in body:
                        found[key] = body[key]
                found["edited_timestamp"] = datetime.now(UTC).isoformat()
                return Reply(200, dict(found))
        return Reply(405, {"message": "405: Method Not Allowed", "code": 0})
