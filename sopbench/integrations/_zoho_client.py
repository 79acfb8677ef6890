"""The Zoho CRM client: records of one org, over an OAuth refresh token.

:class:`ZohoCRM` is what steps and the registry hold. It owns the API
:class:`~sopbench.integrations.http.HttpService` (its base URL from the
connection or from the token response's ``api_domain``) and delegates the
rest: tokens to :mod:`sopbench.integrations._zoho_tokens`, error mapping
to :mod:`sopbench.integrations._zoho_errors`, write results and criteria
to :mod:`sopbench.integrations._zoho_records`. The API is described, and
the names are imported, in :mod:`sopbench.integrations.zoho`.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sopbench.errors import ConnectionNotConfigured
from sopbench.integrations._zoho_errors import parse_error
from sopbench.integrations._zoho_records import (
    RecordResult,
    check_batch,
    equals,
    record_results,
    same,
    single,
)
from sopbench.integrations._zoho_tokens import ZohoTokens
from sopbench.integrations.http import HttpService, RetryPolicy

if TYPE_CHECKING:
    from sopbench.config import Secrets, Settings
    from sopbench.model.workspace import Connection

__all__ = ["ZohoCRM"]


class ZohoCRM:
    """Zoho CRM records of one org, over an OAuth refresh token."""

    service = "zoho"

    def __init__(
        self,
        *,
        secrets: Secrets,
        accounts_url: str = "https://accounts.zoho.com",
        api_url: str | None = None,
        version: str = "v8",
        client_id_secret: str = "ZOHO_CLIENT_ID",
        client_secret_secret: str = "ZOHO_CLIENT_SECRET",
        refresh_token_secret: str = "ZOHO_REFRESH_TOKEN",
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.secrets = secrets
        self.accounts_url = accounts_url.rstrip("/")
        self.version = version
        self._timeout = timeout
        self._retry = retry or RetryPolicy()
        self._headers = dict(headers or {})
        hint = (
            f"check the secrets {client_id_secret}, {client_secret_secret} and "
            f"{refresh_token_secret} (a Zoho self-client refresh token with ZohoCRM scopes)"
        )
        self.auth_hint = hint
        self._api_url = api_url.rstrip("/") if api_url else None
        self._api: HttpService | None = None
        self._lock = threading.Lock()
        self._tokens = ZohoTokens(
            secrets=secrets,
            accounts_url=self.accounts_url,
            names=(client_id_secret, client_secret_secret, refresh_token_secret),
            timeout=timeout,
            retry=self._retry,
            auth_hint=hint,
            on_token=self._sensitive,
        )

    def __repr__(self) -> str:
        return f"<ZohoCRM {self._api_url or '(api domain from token)'} {self.version}>"

    @classmethod
    def from_connection(cls, connection: Connection, settings: Settings) -> ZohoCRM:
        """From a ``type: zoho`` connection.

        ``base_url``: the API domain (``https://www.zohoapis.eu``, or with
        ``/crm/v8``; optional, the token response names it); ``secret``: the
        refresh token's secret name (default ``ZOHO_REFRESH_TOKEN``);
        ``options``: ``accounts_url`` (default ``https://accounts.zoho.com``),
        ``client_id_secret`` / ``client_secret_secret`` (or ``client_id`` /
        ``client_secret``: secret *names*, default ``ZOHO_CLIENT_ID`` /
        ``ZOHO_CLIENT_SECRET``), ``version`` (``v8``) and the retry options
        of :class:`RetryPolicy`.
        """
        options = connection.options
        if connection.type != "zoho":
            raise ConnectionNotConfigured(
                f"a {connection.type} connection cannot be used for Zoho CRM",
                hint="point the step at a connection with `type: zoho`",
            )
        api_url = connection.base_url
        version = str(options.get("version", "v8"))
        if api_url and "/crm/" in api_url:  # ``https://www.zohoapis.com/crm/v8`` works too
            api_url, _, tail = api_url.partition("/crm/")
            version = tail.strip("/") or version
        return cls(
            secrets=settings.secrets,
            accounts_url=str(options.get("accounts_url", "https://accounts.zoho.com")),
            api_url=api_url or None,
            version=version,
            client_id_secret=str(
                options.get("client_id_secret") or options.get("client_id") or "ZOHO_CLIENT_ID"
            ),
            client_secret_secret=str(
                options.get("client_secret_secret")
                or options.get("client_secret")
                or "ZOHO_CLIENT_SECRET"
            ),
            refresh_token_secret=connection.secret or "ZOHO_REFRESH_TOKEN",
            timeout=connection.timeout,
            retry=RetryPolicy.from_options(options),
            headers=connection.headers,
        )

    def close(self) -> None:
        self._tokens.close()
        if self._api is not None:
            self._api.close()

    def __enter__(self) -> ZohoCRM:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- tokens ------------------------------------------------------------------------------------
    def access_token(self) -> str:
        """A valid access token: the cached one, or a newly minted one."""
        return self._tokens.access_token()

    def invalidate_token(self) -> None:
        self._tokens.invalidate()

    def _sensitive(self, token: str) -> None:
        if self._api is not None:
            self._api.add_sensitive(token)

    @property
    def api(self) -> HttpService:
        """The API service (its base URL from the connection or the token's api_domain)."""
        if self._api is not None:
            return self._api
        base = self._api_url
        if base is None:
            domain = self._tokens.api_domain()
            if not domain:
                raise ConnectionNotConfigured(
                    "the Zoho token response names no api_domain",
                    hint="set base_url (e.g. https://www.zohoapis.com) on the zoho connection",
                )
            base = domain.rstrip("/")
        with self._lock:
            if self._api is None:
                self._api = HttpService(
                    self.service,
                    f"{base}/crm/{self.version}",
                    auth=lambda: {"Authorization": f"Zoho-oauthtoken {self.access_token()}"},
                    secrets=self.secrets,
                    timeout=self._timeout,
                    headers=self._headers,
                    retry=self._retry,
                    error_parser=lambda response, http: parse_error(response, http, self.auth_hint),
                    on_auth_failure=self._tokens.on_auth_failure,
                    auth_hint=self.auth_hint,
                )
            return self._api

    # -- writes ------------------------------------------------------------------------------------
    def insert(
        self,
        module: str,
        records: Sequence[Mapping[str, Any]],
        *,
        trigger: Sequence[str] | None = None,
        idempotency_key: str | None = None,
    ) -> list[RecordResult]:
        """Insert up to 100 records; one :class:`RecordResult` per record, in order."""
        check_batch(records)
        payload: dict[str, Any] = {"data": [dict(r) for r in records]}
        if trigger is not None:
            payload["trigger"] = list(trigger)
        return self._write_batch(
            "POST", f"/{module}", payload, idempotency_key, None, default_action="insert"
        )

    def upsert(
        self,
        module: str,
        records: Sequence[Mapping[str, Any]],
        *,
        duplicate_check_fields: Sequence[str] = (),
        trigger: Sequence[str] | None = None,
        idempotency_key: str | None = None,
    ) -> list[RecordResult]:
        """Insert or update up to 100 records matched on ``duplicate_check_fields``.

        With duplicate-check fields the call is idempotent (a repeat
        matches the record it created and updates it with the same
        values), so it is retried even without an idempotency key.
        """
        check_batch(records)
        payload: dict[str, Any] = {"data": [dict(r) for r in records]}
        if duplicate_check_fields:
            payload["duplicate_check_fields"] = list(duplicate_check_fields)
        if trigger is not None:
            payload["trigger"] = list(trigger)
        idempotent = True if duplicate_check_fields else None
        return self._write_batch(
            "POST", f"/{module}/upsert", payload, idempotency_key, idempotent, None
        )

    def update(
        self,
        module: str,
        record_id: str,
        fields: Mapping[str, Any],
        *,
        trigger: Sequence[str] | None = None,
        idempotency_key: str | None = None,
    ) -> RecordResult:
        """Update one record's fields (PUT is idempotent: retried when safe)."""
        payload: dict[str, Any] = {"data": [dict(fields)]}
        if trigger is not None:
            payload["trigger"] = list(trigger)
        results = self._write_batch(
            "PUT", f"/{module}/{record_id}", payload, idempotency_key, None, "update"
        )
        return single(results)

    def _write_batch(
        self,
        method: str,
        path: str,
        payload: Mapping[str, Any],
        idempotency_key: str | None,
        idempotent: bool | None,
        default_action: str | None,
    ) -> list[RecordResult]:
        # A 400 listing per-record results is an answer (every record refused),
        # not a request error: it is turned into results, not raised here.
        response = self.api.request(
            method,
            path,
            json=dict(payload),
            idempotency_key=idempotency_key,
            idempotent=idempotent,
            ok=lambda status: 200 <= status < 300 or status == 400,
        )
        return record_results(response, self.api, default_action, self.auth_hint)

    def insert_one(
        self, module: str, fields: Mapping[str, Any], *, idempotency_key: str | None = None
    ) -> RecordResult:
        """Insert one record; raises its :class:`ZohoError` when refused."""
        return single(self.insert(module, [fields], idempotency_key=idempotency_key))

    def upsert_one(
        self,
        module: str,
        fields: Mapping[str, Any],
        *,
        duplicate_check_fields: Sequence[str] = (),
        idempotency_key: str | None = None,
    ) -> RecordResult:
        """Upsert one record; raises its :class:`ZohoError` when refused."""
        return single(
            self.upsert(
                module,
                [fields],
                duplicate_check_fields=duplicate_check_fields,
                idempotency_key=idempotency_key,
            )
        )

    # -- reads -------------------------------------------------------------------------------------
    def get(self, module: str, record_id: str) -> dict[str, Any] | None:
        """One record, or None when there is none with that id."""
        response = self.api.request("GET", f"/{module}/{record_id}")
        if response.status_code == 204 or not response.content:
            return None
        data = self.api.json(response, dict).get("data")
        if not isinstance(data, list) or not data or not isinstance(data[0], dict):
            raise self.api.malformed(response, "expected `data` with one record")
        record: dict[str, Any] = data[0]
        return record

    def search(
        self,
        module: str,
        *,
        criteria: str | Mapping[str, Any] | None = None,
        email: str | None = None,
        phone: str | None = None,
        word: str | None = None,
        page: int = 1,
        per_page: int = 200,
    ) -> list[dict[str, Any]]:
        """Records matching one of: ``criteria`` (text, or ``{field: value}`` = all equal),
        ``email``, ``phone`` or ``word``; ``[]`` when none match."""
        params: dict[str, Any] = {"page": page, "per_page": min(per_page, 200)}
        if isinstance(criteria, Mapping):
            params["criteria"] = equals(criteria)
        elif criteria is not None:
            params["criteria"] = criteria
        elif email is not None:
            params["email"] = email
        elif phone is not None:
            params["phone"] = phone
        elif word is not None:
            params["word"] = word
        else:
            raise ValueError("search needs criteria, email, phone or word")
        response = self.api.request("GET", f"/{module}/search", params=params)
        if response.status_code == 204 or not response.content:
            return []
        data = self.api.json(response, dict).get("data")
        if not isinstance(data, list):
            raise self.api.malformed(response, "expected a `data` list of records")
        return [r for r in data if isinstance(r, dict)]

    def find(self, module: str, fields: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Records whose ``fields`` equal the given values exactly (search, then filter:
        Zoho's ``equals`` may match by containment)."""
        found = self.search(module, criteria=fields)
        return [r for r in found if all(same(r.get(k), v) for k, v in fields.items())]

    # -- Tasks -------------------------------------------------------------------------------------
    def create_task(
        self,
        subject: str,
        *,
        due_date: str | None = None,
        status: str | None = None,
        priority: str | None = None,
        owner: str | None = None,
        what_id: str | None = None,
        se_module: str | None = None,
        who_id: str | None = None,
        description: str | None = None,
        fields: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> RecordResult:
        """A task (Tasks module); ``what_id`` + ``se_module`` relate it to a record."""
        record: dict[str, Any] = {"Subject": subject}
        if due_date:
            record["Due_Date"] = due_date
        if status:
            record["Status"] = status
        if priority:
            record["Priority"] = priority
        if owner:
            record["Owner"] = {"id": owner}
        if what_id:
            record["What_Id"] = {"id": what_id}
            if se_module:
                record["$se_module"] = se_module
        if who_id:
            record["Who_Id"] = {"id": who_id}
        if description:
            record["Description"] = description
        record.update(fields or {})
        return self.insert_one("Tasks", record, idempotency_key=idempotency_key)
