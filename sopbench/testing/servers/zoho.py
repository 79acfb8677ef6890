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
"""

from __future__ import annotations

import secrets as pysecrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import parse_qs

from sopbench.testing.servers._base import LocalServer, Recorded, Reply

__all__ = ["ModuleSpec", "ZohoServer"]


@dataclass(frozen=True)
class ModuleSpec:
    mandatory: tuple[str, ...] = ()
    unique: tuple[str, ...] = ()
    upsert: bool = True


DEFAULT_MODULES: dict[str, ModuleSpec] = {
    "Leads": ModuleSpec(("Last_Name",), ("Email",)),
    "Contacts": ModuleSpec(("Last_Name",), ("Email",)),
    "Accounts": ModuleSpec(("Account_Name",), ("Account_Name",)),
    "Deals": ModuleSpec(("Deal_Name", "Stage")),
    "Tasks": ModuleSpec(("Subject",), upsert=False),
    "Calls": ModuleSpec(("Subject",), upsert=False),
    "Events": ModuleSpec(("Event_Title",), upsert=False),
    "Repairs": ModuleSpec(("Name",)),
}
LONG_TEXT = {"Description"}
MAX_TEXT = 255
OPERATORS = {
    "equals",
    "not_equal",
    "starts_with",
    "in",
    "greater_equal",
    "greater_than",
    "less_equal",
    "less_than",
    "between",
}


def _error(code: str, message: str, details: Mapping[str, Any] | None = None) -> dict[str, Any]:
    return {"code": code, "details": dict(details or {}), "message": message, "status": "error"}


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


@dataclass
class _Token:
    expires: float
    refresh_token: str


@dataclass
class _State:
    records: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    tokens: dict[str, _Token] = field(default_factory=dict)
    minted: dict[str, list[float]] = field(default_factory=dict)
    replies: dict[str, tuple[int, Any]] = field(default_factory=dict)
    next_id: int = 5725767000000417001


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
        self._st = _State()
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

    def add_record(self, module: str, fields: Mapping[str, Any]) -> str:
        with self._mu:
            record_id: str = self._create(module, dict(fields))["id"]
            return record_id

    # -- fault shapes ------------------------------------------------------------------
    def rate_limit_reply(self, request: Recorded, retry_after: float | str | None) -> Reply:
        return Reply(
            429,
            _error(
                "TOO_MANY_REQUESTS",
                "The number of requests exceeded the allowed limit",
                {},
            ),
        )

    def error_reply(self, request: Recorded, status: int) -> Reply:
        if status >= 500:
            return Reply(status, _error("INTERNAL_ERROR", "Internal Server Error"))
        return Reply(status, _error("INVALID_REQUEST", "invalid request"))

    def auth_reply(self, request: Recorded) -> Reply:
        if request.path.startswith("/oauth/"):
            return Reply(self.oauth_error_status, {"error": "invalid_client"})
        return Reply(401, _error("INVALID_TOKEN", "invalid oauth token"))

    # -- routing -----------------------------------------------------------------------
    def handle(self, request: Recorded) -> Reply:
        if request.path == "/oauth/v2/token" and request.method == "POST":
            return self._token(request)
        parts = [p for p in request.path.split("/") if p]
        if len(parts) < 3 or parts[0] != "crm" or parts[1] not in {f"v{i}" for i in range(2, 9)}:
            return Reply(404, _error("INVALID_URL_PATTERN", "Please check if the URL is correct"))
        auth = request.headers.get("authorization", "")
        if not auth.startswith("Zoho-oauthtoken "):
            return Reply(401, _error("AUTHENTICATION_FAILURE", "Authentication failed"))
        with self._mu:
            token = self._st.tokens.get(auth[len("Zoho-oauthtoken ") :])
            if token is None or token.expires < time.monotonic():
                return Reply(401, _error("INVALID_TOKEN", "invalid oauth token"))
        module, rest = parts[2], parts[3:]
        spec = self.modules.get(module)
        if spec is None:
            return Reply(
                400,
                _error(
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
            return self._insert_or_upsert(request, module, spec, upsert=False)
        if rest == ["upsert"] and method == "POST":
            if not spec.upsert:
                return Reply(
                    400,
                    _error(
                        "NOT_SUPPORTED",
                        f"upsert is not supported for the module {module}",
                        {"resource_path_index": 0},
                    ),
                )
            return self._insert_or_upsert(request, module, spec, upsert=True)
        if rest == ["search"] and method == "GET":
            return self._search(request, module)
        if not rest and method == "PUT":
            return self._update(request, module, None)
        if len(rest) == 1 and method == "PUT":
            return self._update(request, module, rest[0])
        if len(rest) == 1 and method == "GET":
            with self._mu:
                record = self._st.records.get(module, {}).get(rest[0])
            if record is None:
                return Reply(204)
            return Reply(200, {"data": [dict(record)]})
        return Reply(404, _error("INVALID_URL_PATTERN", "Please check if the URL is correct"))

    # -- OAuth ---------------------------------------------------------------------------
    def _token(self, request: Recorded) -> Reply:
        params = dict(request.query)
        if request.body and "form" in request.headers.get("content-type", ""):
            params.update(parse_qs(request.body.decode(), keep_blank_values=True))

        def one(name: str) -> str:
            values = params.get(name) or [""]
            return values[0]

        if one("grant_type") != "refresh_token":
            return Reply(self.oauth_error_status, {"error": "unsupported_grant_type"})
        if one("client_id") != self.client_id or one("client_secret") != self.client_secret:
            return Reply(self.oauth_error_status, {"error": "invalid_client"})
        refresh = one("refresh_token")
        if refresh != self.refresh_token:
            return Reply(self.oauth_error_status, {"error": "invalid_code"})
        now = time.monotonic()
        with self._mu:
            window = [t for t in self._st.minted.get(refresh, []) if now - t < self.mint_window]
            if len(window) >= self.mint_limit:
                self._st.minted[refresh] = window
                return Reply(
                    400,
                    {
                        "error_description": "You have made too many requests continuously. "
                        "Please try again after some time.",
                        "error": "Access Denied",
                        "status": "failure",
                    },
                )
            window.append(now)
            self._st.minted[refresh] = window
            access = "1000." + pysecrets.token_hex(16) + "." + pysecrets.token_hex(16)
            self._st.tokens[access] = _Token(now + self.token_ttl, refresh)
        return Reply(
            200,
            {
                "access_token": access,
                "scope": "ZohoCRM.modules.ALL ZohoSearch.securesearch.READ",
                "api_domain": self.api_domain,
                "token_type": "Bearer",
                "expires_in": self.token_ttl,
            },
        )

    # -- writes -----------------------------------------------------------------------------
    def _payload(self, request: Recorded) -> list[Any] | Reply:
        try:
            body = request.json
        except ValueError:
            return Reply(400, _error("INVALID_DATA", "the body is not valid JSON"))
        if not isinstance(body, dict) or not isinstance(body.get("data"), list):
            return Reply(
                400,
                _error("MANDATORY_NOT_FOUND", "required field not found", {"api_name": "data"}),
            )
        data: list[Any] = body["data"]
        if not data:
            return Reply(
                400,
                _error("MANDATORY_NOT_FOUND", "required field not found", {"api_name": "data"}),
            )
        if len(data) > 100:
            return Reply(
                400,
                _error("LIMIT_EXCEEDED", "the number of records exceeds 100", {"limit": 100}),
            )
        return data

    def _check(
        self, module: str, spec: ModuleSpec, index: int, record: Any, *, partial: bool = False
    ) -> dict[str, Any] | None:
        if not isinstance(record, dict):
            return _error(
                "INVALID_DATA", "invalid data", {"json_path": f"$.data[{index}]", "api_name": ""}
            )
        if not partial:
            for name in spec.mandatory:
                if record.get(name) in (None, ""):
                    return _error(
                        "MANDATORY_NOT_FOUND",
                        "required field not found",
                        {"api_name": name, "json_path": f"$.data[{index}].{name}"},
                    )
        for name, value in record.items():
            if isinstance(value, str) and name not in LONG_TEXT and len(value) > MAX_TEXT:
                return _error(
                    "INVALID_DATA",
                    "invalid data",
                    {
                        "api_name": name,
                        "json_path": f"$.data[{index}].{name}",
                        "maximum_length": MAX_TEXT,
                    },
                )
        return None

    def _find_by(self, module: str, name: str, value: Any) -> dict[str, Any] | None:
        if value in (None, ""):
            return None
        for record in self._st.records.get(module, {}).values():
            current = record.get(name)
            if isinstance(current, str) and isinstance(value, str):
                if current.lower() == value.lower():
                    return record
            elif current == value:
                return record
        return None

    def _create(self, module: str, fields: dict[str, Any]) -> dict[str, Any]:
        self._st.next_id += 1
        now = _stamp()
        record = {
            **fields,
            "id": str(self._st.next_id),
            "Created_Time": now,
            "Modified_Time": now,
            "Created_By": dict(self.user),
            "Modified_By": dict(self.user),
        }
        self._st.records.setdefault(module, {})[record["id"]] = record
        return record

    def _details(self, record: Mapping[str, Any]) -> dict[str, Any]:
        return {
            key: record[key]
            for key in ("id", "Created_Time", "Modified_Time", "Created_By", "Modified_By")
        }

    def _insert_or_upsert(
        self, request: Recorded, module: str, spec: ModuleSpec, *, upsert: bool
    ) -> Reply:
        data = self._payload(request)
        if isinstance(data, Reply):
            return data
        body = request.json
        check_fields = list(body.get("duplicate_check_fields") or []) if upsert else []
        if upsert and not check_fields:
            check_fields = list(spec.unique)
        results: list[dict[str, Any]] = []
        with self._mu:
            for index, record in enumerate(data):
                problem = self._check(module, spec, index, record)
                if problem is not None:
                    results.append(problem)
                    continue
                match = None
                matched_on = None
                for name in check_fields:
                    match = self._find_by(module, name, record.get(name))
                    if match is not None:
                        matched_on = name
                        break
                if match is not None:
                    match.update(record)
                    match["Modified_Time"] = _stamp()
                    results.append(
                        {
                            "code": "SUCCESS",
                            "duplicate_field": matched_on,
                            "action": "update",
                            "details": self._details(match),
                            "message": "record updated",
                            "status": "success",
                        }
                    )
                    continue
                duplicate = self._unique_clash(module, spec, record)
                if duplicate is not None:
                    name, existing = duplicate
                    results.append(
                        _error(
                            "DUPLICATE_DATA",
                            "duplicate data",
                            {
                                "api_name": name,
                                "json_path": f"$.data[{index}].{name}",
                                "duplicate_record": {
                                    "id": existing["id"],
                                    "module": {"api_name": module},
                                },
                            },
                        )
                    )
                    continue
                created = self._create(module, dict(record))
                result: dict[str, Any] = {
                    "code": "SUCCESS",
                    "details": self._details(created),
                    "message": "record added",
                    "status": "success",
                }
                if upsert:
                    result.update({"duplicate_field": None, "action": "insert"})
                results.append(result)
        return Reply(self._batch_status(results, 201), {"data": results})

    def _unique_clash(
        self, module: str, spec: ModuleSpec, record: Mapping[str, Any]
    ) -> tuple[str, dict[str, Any]] | None:
        for name in spec.unique:
            existing = self._find_by(module, name, record.get(name))
            if existing is not None:
                return name, existing
        return None

    @staticmethod
    def _batch_status(results: list[dict[str, Any]], success: int) -> int:
        ok = sum(1 for r in results if r.get("status") == "success")
        if ok == len(results):
            return success
        return 400 if ok == 0 else 207

    def _update(self, request: Recorded, module: str, record_id: str | None) -> Reply:
        data = self._payload(request)
        if isinstance(data, Reply):
            return data
        spec = self.modules[module]
        results: list[dict[str, Any]] = []
        with self._mu:
            for index, record in enumerate(data):
                problem = self._check(module, spec, index, record, partial=True)
                if problem is not None:
                    results.append(problem)
                    continue
                target_id = record_id or str(record.get("id") or "")
                existing = self._st.records.get(module, {}).get(target_id)
                if existing is None:
                    results.append(
                        _error(
                            "INVALID_DATA",
                            "the id given seems to be invalid",
                            {"api_name": "id", "json_path": f"$.data[{index}].id"},
                        )
                    )
                    continue
                existing.update({k: v for k, v in record.items() if k != "id"})
                existing["Modified_Time"] = _stamp()
                results.append(
                    {
                        "code": "SUCCESS",
                        "details": self._details(existing),
                        "message": "record updated",
                        "status": "success",
                    }
                )
        return Reply(self._batch_status(results, 200), {"data": results})

    # -- search ---------------------------------------------------------------------------------
    def _search(self, request: Recorded, module: str) -> Reply:
        page = int(request.param("page") or 1)
        per_page = min(int(request.param("per_page") or 200), 200)
        with self._mu:
            records = list(self._st.records.get(module, {}).values())
        criteria = request.param("criteria")
        try:
            if criteria is not None:
                tree = _Criteria(criteria).parse()
                if tree.count() > 10:
                    raise ValueError("more than 10 criteria")
                found = [r for r in records if tree.test(r, self.equals_contains)]
            elif request.param("email") is not None:
                value = (request.param("email") or "").lower()
                found = [
                    r
                    for r in records
                    if any(
                        isinstance(v, str) and v.lower() == value
                        for k, v in r.items()
                        if "mail" in k.lower()
                    )
                ]
            elif request.param("phone") is not None:
                value = request.param("phone") or ""
                found = [
                    r
                    for r in records
                    if any(
                        isinstance(v, str) and v == value
                        for k, v in r.items()
                        if "phone" in k.lower() or "mobile" in k.lower()
                    )
                ]
            elif request.param("word") is not None:
                value = (request.param("word") or "").lower()
                found = [r for r in records if any(value in str(v).lower() for v in r.values())]
            else:
                return Reply(
                    400,
                    _error(
                        "REQUIRED_PARAM_MISSING",
                        "One of the expected parameter is missing",
                        {"param": "criteria"},
                    ),
                )
        except ValueError as exc:
            return Reply(400, _error("INVALID_QUERY", "invalid query formed", {"reason": str(exc)}))
        chunk = found[(page - 1) * per_page : page * per_page]
        if not chunk:
            return Reply(204)
        return Reply(
            200,
            {
                "data": [dict(r) for r in chunk],
                "info": {
                    "per_page": per_page,
                    "count": len(chunk),
                    "page": page,
                    "more_records": page * per_page < len(found),
                },
            },
        )


class _Node:
    def __init__(
        self,
        op: str,
        children: list[_Node] | None = None,
        cond: tuple[str, str, str] | None = None,
    ) -> None:
        self.op, self.children, self.cond = op, children or [], cond

    def count(self) -> int:
        return 1 if self.cond else sum(c.count() for c in self.children)

    def test(self, record: Mapping[str, Any], contains: bool) -> bool:
        if self.cond is not None:
            return _compare(record.get(self.cond[0]), self.cond[1], self.cond[2], contains)
        if self.op == "and":
            return all(c.test(record, contains) for c in self.children)
        return any(c.test(record, contains) for c in self.children)


class _Criteria:
    """``((f:op:v) and (f:op:v)) or (f:op:v)`` with ``\\(``, ``\\)``, ``\\,`` escapes."""

    def __init__(self, text: str) -> None:
        self.text, self.pos = text.strip(), 0

    def parse(self) -> _Node:
        node = self._expr()
        if self.pos != len(self.text):
            raise ValueError(f"unexpected text at {self.pos}")
        return node

    def _skip(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] == " ":
            self.pos += 1

    def _expr(self) -> _Node:
        nodes = [self._term()]
        ops: list[str] = []
        while True:
            self._skip()
            rest = self.text[self.pos :].lower()
            if rest.startswith("and"):
                ops.append("and")
                self.pos += 3
            elif rest.startswith("or"):
                ops.append("or")
                self.pos += 2
            else:
                break
            nodes.append(self._term())
        if not ops:
            return nodes[0]
        # and binds tighter than or
        groups: list[list[_Node]] = [[nodes[0]]]
        for op, node in zip(ops, nodes[1:], strict=True):
            if op == "and":
                groups[-1].append(node)
            else:
                groups.append([node])
        ors = [g[0] if len(g) == 1 else _Node("and", g) for g in groups]
        return ors[0] if len(ors) == 1 else _Node("or", ors)

    def _term(self) -> _Node:
        self._skip()
        if self.pos >= len(self.text) or self.text[self.pos] != "(":
            raise ValueError(f"expected '(' at {self.pos}")
        self.pos += 1
        self._skip()
        if self.pos < len(self.text) and self.text[self.pos] == "(":
            node = self._expr()
        else:
            node = self._condition()
        self._skip()
        if self.pos >= len(self.text) or self.text[self.pos] != ")":
            raise ValueError(f"expected ')' at {self.pos}")
        self.pos += 1
        return node

    def _condition(self) -> _Node:
        chars: list[str] = []
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            if ch == "\\" and self.pos + 1 < len(self.text):
                chars.append("\x00" + self.text[self.pos + 1])
                self.pos += 2
                continue
            if ch == ")":
                break
            if ch == "(":
                raise ValueError(f"unescaped '(' at {self.pos}")
            chars.append(ch)
            self.pos += 1
        raw = "".join(chars)
        field_name, _, rest = raw.partition(":")
        op, _, value = rest.partition(":")
        if not field_name or op not in OPERATORS:
            raise ValueError(f"bad condition {raw.replace(chr(0), '')!r}")
        return _Node("cond", cond=(field_name.strip(), op, value))


def _values(value: str) -> list[str]:
    """Split on unescaped commas, then unescape."""
    parts: list[str] = []
    current: list[str] = []
    i = 0
    while i < len(value):
        if value[i] == "\x00":
            current.append(value[i + 1])
            i += 2
            continue
        if value[i] == ",":
            parts.append("".join(current))
            current = []
        else:
            current.append(value[i])
        i += 1
    parts.append("".join(current))
    return parts


def _compare(actual: Any, op: str, raw: str, contains: bool) -> bool:
    values = _values(raw)
    value = values[0]
    if isinstance(actual, dict):
        actual = actual.get("id") or actual.get("name")
    text = "" if actual is None else str(actual)
    if op == "equals":
        if contains:
            return value.lower() in text.lower() if value else not text
        return text.lower() == value.lower()
    if op == "not_equal":
        return text.lower() != value.lower()
    if op == "starts_with":
        return text.lower().startswith(value.lower())
    if op == "in":
        return text.lower() in {v.lower() for v in values}
    try:
        number: Any = float(text)
        bounds: list[Any] = [float(v) for v in values]
    except ValueError:
        number, bounds = text, values
    if op == "greater_equal":
        return bool(number >= bounds[0])
    if op == "greater_than":
        return bool(number > bounds[0])
    if op == "less_equal":
        return bool(number <= bounds[0])
    if op == "less_than":
        return bool(number < bounds[0])
    if op == "between" and len(bounds) == 2:
        return bool(bounds[0] <= number <= bounds[1])
    return False
