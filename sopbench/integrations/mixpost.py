"""Mixpost (Pro/Enterprise v2) REST API client.

Base URL ``https://<host>/<core path>/api/<workspaceUuid>`` and a bearer
access token (``Authorization: Bearer``). The client never assumes which
social providers exist: it reads the workspace's accounts and posts to the
account ids it finds (the owner's build adds Twitch, Whatnot, Discord ...).

What the docs confirm: ``GET /accounts``, ``GET /posts?page=N`` and
``POST /posts`` (versions, per-provider options, ``schedule`` /
``schedule_now`` / ``queue``, ``date`` + ``time`` + ``timezone``).
``GET /posts/{uuid}`` and the exact body of a created post are not
documented; the client accepts the post object bare or wrapped in
``{"data": ...}``.

Creating a post is not idempotent on Mixpost's side as far as anyone
documents: the client sends the step's ``Idempotency-Key`` anyway (a
server that knows it can deduplicate; the local double does) and
:meth:`MixpostClient.find_recent` lets a caller look for an identical
post before repeating a create after a crash.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sopbench.errors import ConnectionNotConfigured
from sopbench.integrations.http import HttpService, bearer_auth, service_from_connection

if TYPE_CHECKING:
    from sopbench.config import Secrets, Settings
    from sopbench.model.workspace import Connection

__all__ = ["Account", "MixpostClient", "Post", "PostContent", "PostVersion"]


@dataclass(frozen=True)
class Account:
    """A connected social account of the workspace."""

    id: int
    provider: str
    name: str
    username: str | None = None
    uuid: str | None = None
    authorized: bool = True

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Account:
        return cls(
            id=int(data["id"]),
            provider=str(data.get("provider") or ""),
            name=str(data.get("name") or ""),
            username=data.get("username"),
            uuid=data.get("uuid"),
            authorized=bool(data.get("authorized", True)),
        )


@dataclass(frozen=True)
class PostContent:
    """One content item of a version (a thread can hold several)."""

    body: str | None = None
    url: str | None = None
    media: Sequence[int] = ()
    video_thumbs: Sequence[Mapping[str, int]] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "body": self.body,
            "url": self.url,
            "media": list(self.media),
            "video_thumbs": [dict(t) for t in self.video_thumbs],
        }


@dataclass(frozen=True)
class PostVersion:
    """The post's text for all accounts (``account_id=0``) or for one account."""

    content: Sequence[PostContent]
    account_id: int = 0
    is_original: bool = True
    options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Per-provider options, e.g. ``{"instagram": {"type": "reel"}}``."""

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "account_id": self.account_id,
            "is_original": self.is_original,
            "content": [c.to_json() for c in self.content],
        }
        if self.options:
            data["options"] = {k: dict(v) for k, v in self.options.items()}
        return data


@dataclass(frozen=True)
class Post:
    """A post as Mixpost reports it."""

    uuid: str
    status: str
    id: int | None = None
    scheduled_at: str | None = None
    published_at: str | None = None
    created_at: str | None = None
    account_ids: tuple[int, ...] = ()
    body: str | None = None
    """The original version's first body."""
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def done(self) -> bool:
        """Published or failed: nothing will change by waiting."""
        return self.status in ("published", "failed")

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Post:
        accounts = data.get("accounts") or []
        versions = data.get("versions") or []
        body = None
        for version in versions:
            if isinstance(version, Mapping) and version.get("is_original"):
                content = version.get("content") or []
                if content and isinstance(content[0], Mapping):
                    body = content[0].get("body")
                break
        return cls(
            uuid=str(data["uuid"]),
            status=str(data.get("status") or "unknown"),
            id=int(data["id"]) if data.get("id") is not None else None,
            scheduled_at=data.get("scheduled_at"),
            published_at=data.get("published_at"),
            created_at=data.get("created_at"),
            account_ids=tuple(int(a["id"]) if isinstance(a, Mapping) else int(a) for a in accounts),
            body=body,
            raw=dict(data),
        )


def _unwrap(data: Any) -> Any:
    if isinstance(data, Mapping) and "data" in data and "uuid" not in data:
        return data["data"]
    return data


class MixpostClient:
    """Accounts and posts of one Mixpost workspace."""

    service = "mixpost"

    def __init__(self, http: HttpService) -> None:
        self.http = http

    @classmethod
    def create(
        cls,
        api_url: str,
        *,
        secrets: Secrets,
        token_secret: str = "MIXPOST_TOKEN",
        **kwargs: Any,
    ) -> MixpostClient:
        """A client for ``api_url`` (``…/mixpost/api/<workspace>``) with a token secret."""
        kwargs.setdefault("auth_hint", f"check the secret {token_secret} (a Mixpost access token)")
        return cls(
            HttpService(
                cls.service,
                api_url,
                auth=bearer_auth(secrets, token_secret),
                secrets=secrets,
                **kwargs,
            )
        )

    @classmethod
    def from_connection(cls, connection: Connection, settings: Settings) -> MixpostClient:
        """From a ``type: mixpost`` connection.

        ``base_url`` is either the full API URL (``…/mixpost/api/<uuid>``) or
        the site URL with ``options.workspace`` (and ``options.core_path``,
        default ``mixpost``); ``secret`` names the access token.
        """
        if not connection.base_url:
            raise ConnectionNotConfigured(
                "the mixpost connection has no base_url",
                hint="set base_url (https://host/mixpost/api/<workspace uuid>) in "
                "sops/connections.yaml, or run `sopbench sandbox`",
            )
        if not connection.secret:
            raise ConnectionNotConfigured(
                "the mixpost connection names no secret for its access token",
                hint="add `secret: MIXPOST_TOKEN` to it in sops/connections.yaml",
            )
        url = connection.base_url.rstrip("/")
        workspace = connection.options.get("workspace")
        if workspace and "/api/" not in url:
            core = str(connection.options.get("core_path", "mixpost")).strip("/")
            url = f"{url}/{core}/api/{workspace}"
        return cls(
            service_from_connection(
                cls.service,
                connection,
                settings,
                base_url=url,
                auth_hint=f"check the secret {connection.secret} (a Mixpost access token)",
            )
        )

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> MixpostClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<MixpostClient {self.http.redact(self.http.base_url)}>"

    # -- accounts ---------------------------------------------------------------------
    def accounts(self) -> list[Account]:
        """Every connected account, whatever its provider."""
        response = self.http.request("GET", "/accounts")
        data = _unwrap(self.http.json(response))
        if not isinstance(data, list):
            raise self.http.malformed(response, "expected a list of accounts")
        try:
            return [Account.from_json(item) for item in data]
        except (KeyError, TypeError, ValueError):
            raise self.http.malformed(response, "an account has no id") from None

    def accounts_for(self, providers: Iterable[str]) -> list[Account]:
        """Accounts whose provider is one of ``providers`` (``facebook_page``, ``twitch`` ...)."""
        wanted = {p.lower() for p in providers}
        return [a for a in self.accounts() if a.provider.lower() in wanted]

    # -- posts ------------------------------------------------------------------------
    def create_post(
        self,
        *,
        accounts: Sequence[int],
        body: str | None = None,
        versions: Sequence[PostVersion] | None = None,
        media: Sequence[int] = (),
        options: Mapping[str, Mapping[str, Any]] | None = None,
        tags: Sequence[int] = (),
        schedule_at: datetime | None = None,
        timezone: str | None = None,
        publish_now: bool = False,
        queue: bool = False,
        idempotency_key: str | None = None,
    ) -> Post:
        """Create a post for ``accounts``; draft, scheduled at ``schedule_at``, or now.

        Give either ``body`` (+ ``media``/``options``: one original version)
        or full ``versions``. ``schedule_at`` is written as ``date``/``time``
        in ``timezone`` (converted when ``schedule_at`` is aware).
        """
        if versions is None:
            if body is None and not media:
                raise ValueError("a post needs a body, media or explicit versions")
            versions = [
                PostVersion(
                    content=[PostContent(body=body, media=tuple(media))], options=options or {}
                )
            ]
        payload: dict[str, Any] = {
            "accounts": [int(a) for a in accounts],
            "tags": [int(t) for t in tags],
            "versions": [v.to_json() for v in versions],
            "schedule": bool(schedule_at is not None or publish_now),
            "schedule_now": bool(publish_now),
            "queue": bool(queue),
        }
        if schedule_at is not None and not publish_now:
            when = schedule_at
            if timezone and when.tzinfo is not None:
                when = when.astimezone(ZoneInfo(timezone))
            payload["date"] = when.strftime("%Y-%m-%d")
            payload["time"] = when.strftime("%H:%M")
        if timezone:
            payload["timezone"] = timezone
        response = self.http.request(
            "POST", "/posts", json=payload, idempotency_key=idempotency_key
        )
        return self._post(response)

    def post(self, uuid: str) -> Post:
        """One post, with its current status."""
        return self._post(self.http.request("GET", f"/posts/{uuid}"))

    def posts(self, page: int = 1) -> list[Post]:
        """One page of posts (newest first)."""
        response = self.http.request("GET", "/posts", params={"page": page})
        data = _unwrap(self.http.json(response))
        if not isinstance(data, list):
            raise self.http.malformed(response, "expected a list of posts")
        try:
            return [Post.from_json(item) for item in data]
        except (KeyError, TypeError, ValueError):
            raise self.http.malformed(response, "a post has no uuid") from None

    def find_recent(
        self,
        *,
        accounts: Sequence[int],
        body: str | None,
        scheduled_at: datetime | None = None,
        within: timedelta = timedelta(hours=1),
        now: datetime | None = None,
    ) -> Post | None:
        """A post on page 1 with the same accounts and body (and schedule), made lately.

        Used before repeating a create whose outcome is unknown (a crash
        between the call and its record) when the server may not know
        ``Idempotency-Key``.
        """
        want = set(accounts)
        stamp = scheduled_at.strftime("%Y-%m-%d %H:%M") if scheduled_at else None
        current = now or datetime.now(UTC).replace(tzinfo=None)  # Laravel stores UTC
        for post in self.posts(1):
            if set(post.account_ids) != want or post.body != body:
                continue
            if stamp is not None and not (post.scheduled_at or "").startswith(stamp):
                continue
            if post.created_at:
                try:
                    created = datetime.strptime(post.created_at[:19], "%Y-%m-%d %H:%M:%S")
                except ValueError:
                    created = None
                if created is not None and abs(current - created) > within:
                    continue
            return post
        return None

    def _post(self, response: Any) -> Post:
        data = _unwrap(self.http.json(response))
        if not isinstance(data, Mapping) or "uuid" not in data:
            raise self.http.malformed(response, "expected a post object with a uuid")
        try:
            return Post.from_json(data)
        except (KeyError, TypeError, ValueError):
            raise self.http.malformed(response, "the post object is incomplete") from None
