"""A local double of the Mixpost Pro/Enterprise REST API.

Documented behaviour reproduced (see ``INTEGRATIONS.md`` section a):

* base ``/<core_path>/api/<workspaceUuid>/...`` (core path ``mixpost``);
* ``Authorization: Bearer <token>`` — 401 ``{"message":"Unauthenticated."}``;
  an unknown workspace gives 404 ``{"message":"Workspace not found."}``;
* ``GET /accounts`` — connected accounts of every provider the owner's
  build has (Facebook Page, Instagram, LinkedIn, Mastodon, Pinterest,
  YouTube, TikTok, X, Twitch, Whatnot, Discord);
* ``GET /posts?page=N`` — ``{"data": [...], "meta": {...}}``, newest first;
* ``POST /posts`` — validated like the docs say (``versions`` required,
  ``account_id`` 0 = original, ``content`` list, ``date``/``time`` to
  schedule); Laravel 422 ``{"message", "errors": {field: [msgs]}}``.

Not documented, so configurable here:

* ``GET /posts/{uuid}`` (single post) is served;
* the created post comes back as the post object (``created_status``, 201);
* post ``status`` values: ``draft``, ``scheduled``, ``publishing``,
  ``published``, ``failed``. ``schedule_now`` publishes after
  ``publish_delay`` seconds; accounts in ``failing_accounts`` make it fail;
* a repeated ``Idempotency-Key`` returns the post created first.
"""

from __future__ import annotations

import threading
import time
import uuid as uuidlib
from datetime import UTC, datetime
from typing import Any, ClassVar

from sopbench.testing.servers._base import LocalServer, Recorded, Reply

__all__ = ["DEFAULT_ACCOUNTS", "MixpostServer"]

DEFAULT_ACCOUNTS: list[dict[str, Any]] = [
    {"id": 1, "provider": "facebook_page", "name": "Summit PC", "username": "summitpc"},
    {"id": 2, "provider": "instagram", "name": "Summit PC", "username": "summit.pc"},
    {"id": 3, "provider": "linkedin", "name": "Summit Federal", "username": "summit-federal"},
    {"id": 4, "provider": "mastodon", "name": "Summit Cloud", "username": "summitcloud"},
    {"id": 5, "provider": "pinterest", "name": "Summit PC", "username": "summitpc"},
    {"id": 6, "provider": "youtube", "name": "Summit PC", "username": "SummitPC"},
    {"id": 7, "provider": "tiktok", "name": "Summit PC", "username": "summitpc"},
    {"id": 8, "provider": "twitter", "name": "Summit Cloud", "username": "summitcloud"},
    {"id": 9, "provider": "twitch", "name": "Summit PC LAN", "username": "summitpclan"},
    {"id": 10, "provider": "whatnot", "name": "Summit PC Deals", "username": "summitpcdeals"},
    {"id": 11, "provider": "discord", "name": "Summit PC Community", "username": "summitpc"},
    {"id": 12, "provider": "twitter", "name": "Summit Federal", "username": "summitfederal"},
    {"id": 13, "provider": "linkedin", "name": "Summit Cloud", "username": "summit-cloud"},
    {"id": 14, "provider": "youtube", "name": "Summit Cloud", "username": "SummitCloud"},
    {"id": 15, "provider": "discord", "name": "Summit Cloud Status", "username": "summitcloud"},
    {"id": 16, "provider": "linkedin", "name": "Summit Group", "username": "summit-group"},
    {"id": 17, "provider": "facebook_page", "name": "Summit Group", "username": "summitgroup"},
    {"id": 18, "provider": "twitter", "name": "Summit Group", "username": "summitgroup"},
    {"id": 19, "provider": "instagram", "name": "Summit Group", "username": "summit.group"},
]
"""The accounts of the bundled workspace's businesses: every platform each entity
of ``sops/entities.yaml`` posts to through Mixpost has that entity's own account
(its ``social_accounts`` name them), so several businesses share a provider, as
in a real agency's Mixpost."""


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _public(post: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in post.items() if not k.startswith("_")}


class MixpostServer(LocalServer):
    """Mixpost's REST API for one workspace and one access token."""

    name: ClassVar[str] = "mixpost"

    def __init__(
        self,
        *,
        token: str = "mixpost-test-token-0123456789",
        workspace: str = "3bbd0951-8b2e-4f6c-9d58-6f1d1f6a0c11",
        core_path: str = "mixpost",
        accounts: list[dict[str, Any]] | None = None,
        publish_delay: float = 0.0,
        failing_accounts: set[int] | None = None,
        created_status: int = 201,
        honour_idempotency_key: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.token = token
        self.workspace = workspace
        self.core_path = core_path.strip("/")
        self.accounts = [
            {
                "uuid": str(uuidlib.uuid5(uuidlib.NAMESPACE_URL, f"mixpost-account-{a['id']}")),
                "image": None,
                "authorized": True,
                "created_at": "2026-01-05 10:00:00",
                **a,
            }
            for a in (accounts if accounts is not None else DEFAULT_ACCOUNTS)
        ]
        self.publish_delay = publish_delay
        self.failing_accounts = failing_accounts or set()
        self.created_status = created_status
        self.honour_idempotency_key = honour_idempotency_key
        self.posts: list[dict[str, Any]] = []
        self._by_key: dict[str, str] = {}
        self._publish_at: dict[str, float] = {}
        self._state = threading.Lock()

    @property
    def api_url(self) -> str:
        """The base URL a client uses: ``…/mixpost/api/<workspace>``."""
        return f"{self.url}/{self.core_path}/api/{self.workspace}"

    # -- routing ---------------------------------------------------------------------
    def handle(self, request: Recorded) -> Reply:
        prefix = f"/{self.core_path}/api/"
        if not request.path.startswith(prefix):
            return Reply(404, {"message": "Not Found"})
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return self.auth_reply(request)
        workspace, _, rest = request.path[len(prefix) :].partition("/")
        if workspace != self.workspace:
            return Reply(404, {"message": "Workspace not found."})
        parts = [p for p in rest.split("/") if p]
        if parts == ["accounts"] and request.method == "GET":
            return Reply(200, {"data": self.accounts})
        if parts == ["posts"] and request.method == "GET":
            return self._list_posts(request)
        if parts == ["posts"] and request.method == "POST":
            return self._create_post(request)
        if len(parts) == 2 and parts[0] == "posts" and request.method == "GET":
            post = self._find(parts[1])
            if post is None:
                return Reply(404, {"message": "Post not found."})
            return Reply(200, {"data": self._advance(post)})
        return Reply(404, {"message": "Not Found"})

    def auth_reply(self, request: Recorded) -> Reply:
        return Reply(401, {"message": "Unauthenticated."})

    def rate_limit_reply(self, request: Recorded, retry_after: float | str | None) -> Reply:
        return Reply(429, {"message": "Too Many Attempts."})

    # -- posts ---------------------------------------------------------------------------
    def _find(self, key: str) -> dict[str, Any] | None:
        with self._state:
            for post in self.posts:
                if post["uuid"] == key or str(post["id"]) == key:
                    return post
        return None

    def _advance(self, post: dict[str, Any]) -> dict[str, Any]:
        """Move a ``publishing`` post on to ``published``/``failed`` once its time came."""
        with self._state:
            due = self._publish_at.get(post["uuid"])
            if post["status"] == "publishing" and due is not None and time.monotonic() >= due:
                failed = set(post["_account_ids"]) & self.failing_accounts
                post["status"] = "failed" if failed else "published"
                if not failed:
                    post["published_at"] = _now()
                post["errors"] = [
                    {"account_id": a, "message": "The provider refused the post."}
                    for a in sorted(failed)
                ]
            return _public(post)

    def _list_posts(self, request: Recorded) -> Reply:
        page = int(request.param("page") or 1)
        per_page = 10
        with self._state:
            ordered = list(reversed(self.posts))
        chunk = ordered[(page - 1) * per_page : page * per_page]
        last = max(1, -(-len(ordered) // per_page))
        return Reply(
            200,
            {
                "data": [self._advance(p) for p in chunk],
                "meta": {"current_page": page, "last_page": last, "per_page": per_page},
                "links": {"next": None if page >= last else f"?page={page + 1}"},
            },
        )

    def _create_post(self, request: Recorded) -> Reply:
        try:
            body = request.json
        except ValueError:
            return Reply(400, {"message": "The request body is not valid JSON."})
        if not isinstance(body, dict):
            return Reply(422, {"message": "The given data was invalid.", "errors": {}})
        key = request.headers.get("idempotency-key")
        if key and self.honour_idempotency_key:
            with self._state:
                existing = self._by_key.get(key)
            if existing is not None:
                post = self._find(existing)
                assert post is not None
                return Reply(200, self._advance(post), headers={"Idempotent-Replayed": "true"})
        errors = self._validate(body)
        if errors:
            first = next(iter(errors.values()))[0]
            more = sum(len(v) for v in errors.values()) - 1
            message = first if not more else f"{first} (and {more} more error(s))"
            return Reply(422, {"message": message, "errors": errors})
        post = self._store(body)
        if key:
            with self._state:
                self._by_key[key] = post["uuid"]
        return Reply(self.created_status, _public(post))

    def _validate(self, body: dict[str, Any]) -> dict[str, list[str]]:
        errors: dict[str, list[str]] = {}
        known = {a["id"] for a in self.accounts}
        accounts = body.get("accounts", [])
        if not isinstance(accounts, list):
            errors["accounts"] = ["The accounts field must be an array."]
            accounts = []
        for i, account in enumerate(accounts):
            if not isinstance(account, int) or account not in known:
                errors[f"accounts.{i}"] = [f"The selected accounts.{i} is invalid."]
        versions = body.get("versions")
        if not isinstance(versions, list) or not versions:
            errors["versions"] = ["The versions field is required."]
            versions = []
        for i, version in enumerate(versions):
            if not isinstance(version, dict):
                errors[f"versions.{i}"] = [f"The versions.{i} field must be an object."]
                continue
            account_id = version.get("account_id")
            if not isinstance(account_id, int):
                errors[f"versions.{i}.account_id"] = [
                    f"The versions.{i}.account_id field is required."
                ]
            elif account_id != 0 and account_id not in known:
                errors[f"versions.{i}.account_id"] = [
                    f"The selected versions.{i}.account_id is invalid."
                ]
            if not isinstance(version.get("is_original"), bool):
                errors[f"versions.{i}.is_original"] = [
                    f"The versions.{i}.is_original field is required."
                ]
            content = version.get("content")
            if not isinstance(content, list) or not content:
                errors[f"versions.{i}.content"] = [f"The versions.{i}.content field is required."]
        if versions and isinstance(versions[0], dict) and versions[0].get("is_original") is False:
            errors["versions.0.is_original"] = ["The first version must be the original."]
        if body.get("schedule") and not body.get("schedule_now"):
            for name, fmt, shape in (("date", "%Y-%m-%d", "Y-m-d"), ("time", "%H:%M", "H:i")):
                value = body.get(name)
                try:
                    datetime.strptime(str(value), fmt)
                except ValueError:
                    errors[name] = [f"The {name} field must match the format {shape}."]
        return errors

    def _store(self, body: dict[str, Any]) -> dict[str, Any]:
        schedule_now = bool(body.get("schedule_now"))
        schedule = bool(body.get("schedule"))
        status = "publishing" if schedule_now else "scheduled" if schedule else "draft"
        scheduled_at = None
        if schedule and not schedule_now:
            scheduled_at = f"{body['date']} {body['time']}:00"
        account_ids = [int(a) for a in body.get("accounts", [])]
        with self._state:
            post_id = len(self.posts) + 1
            post: dict[str, Any] = {
                "id": post_id,
                "uuid": str(uuidlib.uuid4()),
                "status": status,
                "accounts": [a for a in self.accounts if a["id"] in account_ids],
                "_account_ids": account_ids,
                "versions": body["versions"],
                "tags": [],
                "user": {"name": "API"},
                "scheduled_at": scheduled_at,
                "published_at": None,
                "created_at": _now(),
                "trashed": False,
                "timezone": body.get("timezone"),
            }
            self.posts.append(post)
            if schedule_now:
                self._publish_at[post["uuid"]] = time.monotonic() + self.publish_delay
        return post
