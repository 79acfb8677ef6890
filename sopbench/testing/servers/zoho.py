"""A local double of Zoho CRM (REST v2-v8) and its OAuth accounts server.

One server plays both hosts: ``POST /oauth/v2/token`` (the accounts
server) and ``/crm/<version>/...`` (the API domain the token response
names in ``api_domain``). Documented behaviour reproduced (see
``INTEGRATIONS.md`` section b):

* refresh-token grant with query parameters; access tokens live
  ``token_ttl`` seconds (3600); at most ``mint_limit`` (10) tokens per
  refresh token per ``mint_window`` (600 s), then "Access Denied";
* ``Authorization: Zoho-oauthtoken <token>``; an unknown or expired token
  gives 401 ``{"code":"INVALID_TOKEN",...,"status":"error"}``;
* insert (``POST /{Module}``, ≤ 100 records, unique fields checked on
  every insert), upsert (``POST /{Module}/upsert`` with
  ``duplicate_check_fields``; not for Tasks/Calls/Events), update
  (``PUT /{Module}/{id}`` and ``PUT /{Module}``), get, and search
  (``criteria``/``email``/``phone``/``word``, ≤ 10 criteria, ≤ 200 per page,
  204 when nothing matches);
* per-record results ``{"code","details","message","status"}`` with
  ``MANDATORY_NOT_FOUND``, ``DUPLICATE_DATA``, ``INVALID_DATA``;
* 429 ``{"code":"TOO_MANY_REQUESTS",...}``.

Not confirmed by Zoho's own pages, so configurable or marked: the 200
status of a refused refresh token (``oauth_error_status``), upsert's
``action``/``duplicate_field`` keys, the field names of Tasks, 204 for an
empty search, "equals behaves like contains" in search
(``equals_contains``), and deduplication by ``Idempotency-Key`` (real Zoho
ignores the header; the double replays the first answer so crash tests
can prove the key is reused).

This module holds the server and its routing; the rest is split by
concern: :mod:`~sopbench.testing.servers._zoho_oauth` (token endpoint and
bearer checks), :mod:`~sopbench.testing.servers._zoho_handlers` (insert,
upsert, update, search), :mod:`~sopbench.testing.servers._zoho_store`
(module rules, records, issued tokens) and
:mod:`~sopbench.testing.servers._zoho_criteria` (the search criteria
language). ``DEFAULT_MODULES``, ``LONG_TEXT``, ``MAX_TEXT`` and
``OPERATORS`` are still importable from here.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any, ClassVar

from sopbench.testing.servers._base import LocalServer, Recorded, Reply
from sopbench.testing.servers._zoho_criteria import OPERATORS as OPERATORS
from sopbench.testing.servers._zoho_handlers import insert_or_upsert, search, update
from sopbench.testing.servers._zoho_oauth import bearer_refusal, token_reply
from sopbench.testing.servers._zoho_store import DEFAULT_MODULES as DEFAULT_MODULES
from sopbench.testing.servers._zoho_store import LONG_TEXT as LONG_TEXT
from sopbench.testing.servers._zoho_store import MAX_TEXT as MAX_TEXT
from sopbench.testing.servers._zoho_store import ModuleSpec, ZohoState, zoho_error

__all__ = ["ModuleSpec", "ZohoServer"]


class ZohoServer(LocalServer):
    """Zoho CRM + accounts server for one OAuth client and refresh token."""

    name: ClassVar[str] = "zoho"
    user: ClassVar[dict[str, str]] = {"name": "Sandbox Owner", "id": "5725767000000411001"}

    def __init__(
        self,
        *,
        client_id: str = "1000.SANDBOXCLIENTID0000",
        client_secret: str = "zoho-client-secret-7f3a9c",
        refresh_token: str = "1000.refresh-token-5b8e21d4",
        token_ttl: int = 3600,
        mint_limit: int = 10,
        mint_window: float = 600.0,
        modules: Mapping[str, ModuleSpec] | None = None,
        oauth_error_status: int = 200,
        equals_contains: bool = True,
        honour_idempotency_key: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.client_id = client_id
        self.client_secret = client_secret
        self.refresh_token = refresh_token
        self.token_ttl = token_ttl
        self.mint_limit = mint_limit
        self.mint_window = mint_window
        self.modules = dict(modules if modules is not None else DEFAULT_MODULES)
        self.oauth_error_status = oauth_error_status
        self.equals_contains = equals_contains
        self.honour_idempotency_key = honour_idempotency_key
        self._st = ZohoState()
        self._mu = threading.RLock()

    # -- helpers for tests ---------------------------------------------------------
    @property
    def accounts_url(self) -> str:
        return self.url

    @property
    def api_domain(self) -> str:
        return self.url

    def expire_tokens(self) -> None:
        """Every access token issued so far becomes invalid (as after 1 hour)."""
        with self._mu:
            self._st.tokens.clear()

    def records(self, module: str) -> list[dict[str, Any]]:
        with self._mu:
            return [dict(r) for r in self._st.records.get(module, {}).values()]

    def tokens_minted(self) -> int:
        with self._mu:
            return sum(len(v) for v in self._st.minted.values())

    def add_record(
        self, module: str, fields: Mapping[str, Any], *, record_id: str | None = None
    ) -> str:
        """Store a record as if the CRM already held it; ``record_id`` keeps a known id."""
        with self._mu:
            record = self._st.create(module, dict(fields), self.user)
            if record_id is not None:
                table = self._st.records[module]
                del table[record["id"]]
                record["id"] = record_id
                table[record_id] = record
            made: str = record["id"]
            return made

    # -- fault shapes ------------------------------------------------------------------
    def rate_limit_reply(self, request: Recorded, retry_after: float | str | None) -> Reply:
        return Reply(
            429,
            zoho_error(
                "TOO_MANY_REQUESTS",
                "The number of requests exceeded the allowed limit",
                {},
            ),
        )

    def error_reply(self, request: Recorded, status: int) -> Reply:
        if status >= 500:
            return Reply(status, zoho_error("INTERNAL_ERROR", "Internal Server Error"))
        return Reply(status, zoho_error("INVALID_REQUEST", "invalid request"))

    def auth_reply(self, request: Recorded) -> Reply:
        if request.path.startswith("/oauth/"):
            return Reply(self.oauth_error_status, {"error": "invalid_client"})
        return Reply(401, zoho_error("INVALID_TOKEN", "invalid oauth token"))

    # -- routing -----------------------------------------------------------------------
    def handle(self, request: Recorded) -> Reply:
        if request.path == "/oauth/v2/token" and request.method == "POST":
            return token_reply(self, request)
        parts = [p for p in request.path.split("/") if p]
        if len(parts) < 3 or parts[0] != "crm" or parts[1] not in {f"v{i}" for i in range(2, 9)}:
            return Reply(
                404, zoho_error("INVALID_URL_PATTERN", "Please check if the URL is correct")
            )
        refusal = bearer_refusal(self, request)
        if refusal is not None:
            return refusal
        module, rest = parts[2], parts[3:]
        spec = self.modules.get(module)
        if spec is None:
            return Reply(
                400,
                zoho_error(
                    "INVALID_MODULE",
                    "the module name given seems to be invalid",
                    {"resource_path_index": 0},
                ),
            )
        key = request.headers.get("idempotency-key")
        if key and self.honour_idempotency_key and request.method in ("POST", "PUT"):
            with self._mu:
                replay = self._st.replies.get(key)
            if replay is not None:
                return Reply(replay[0], replay[1], headers={"Idempotent-Replayed": "true"})
        reply = self._route(request, module, spec, rest)
        if key and self.honour_idempotency_key and request.method in ("POST", "PUT"):
            if reply.status < 300:
                with self._mu:
                    self._st.replies.setdefault(key, (reply.status, reply.json))
        return reply

    def _route(self, request: Recorded, module: str, spec: ModuleSpec, rest: list[str]) -> Reply:
        method = request.method
        if not rest and method == "POST":
            return insert_or_upsert(self, request, module, spec, upsert=False)
        if rest == ["upsert"] and method == "POST":
            if not spec.upsert:
                return Reply(
                    400,
                    zoho_error(
                        "NOT_SUPPORTED",
                        f"upsert is not supported for the module {module}",
                        {"resource_path_index": 0},
                    ),
                )
            return insert_or_upsert(self, request, module, spec, upsert=True)
        if rest == ["search"] and method == "GET":
            return search(self, request, module)
        if not rest and method == "PUT":
            return update(self, request, module, None)
        if len(rest) == 1 and method == "PUT":
            return update(self, request, module, rest[0])
        if len(rest) == 1 and method == "GET":
            with self._mu:
                record = self._st.records.get(module, {}).get(rest[0])
            if record is None:
                return Reply(204)
            return Reply(200, {"data": [dict(record)]})
        return Reply(404, zoho_error("INVALID_URL_PATTERN", "Please check if the URL is correct"))
