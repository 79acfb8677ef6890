"""Canva Connect: designs, brand-template autofill and exports as async jobs.

Documented behaviour (``INTEGRATIONS.md`` section d): base
``https://api.canva.com/rest``, paths ``/v1/...``, ``Authorization: Bearer``;
``POST`` creates a job ``{"job": {"id", "status": "in_progress"}}`` and a
``GET`` is polled until ``success`` or ``failed``; errors are
``{"code", "message"}``; every operation has its own per-user rate limit
(per minute), which this client also keeps to on its side
(:class:`OperationLimiter`) so a busy run waits instead of collecting 429s.

Jobs end as a :class:`CanvaJob`; :meth:`CanvaJob.asset` is the reference
kept for a media request (design id, export URLs valid 24 h, when they
expire). Auth is an OAuth access token held in a named secret (``secret:``
of the ``type: canva`` connection); Canva access tokens are short-lived,
so a 401 says so.

Example::

    canva = CanvaClient.from_connection(connection, settings)
    job = canva.autofill("BT_123", {"headline": text_field("Spring LAN")}, title="Spring")
    job = canva.wait(job)                   # polls GET /v1/autofills/{id}
    export = canva.wait(canva.export(job.design_id, {"type": "png"}))
    export.urls                             # one URL per page
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import httpx

from sopbench.errors import ConnectionNotConfigured, IntegrationError
from sopbench.integrations.http import (
    HttpService,
    MalformedResponse,
    RateLimited,
    service_from_connection,
)

if TYPE_CHECKING:
    from sopbench.config import Settings
    from sopbench.model.workspace import Connection

__all__ = [
    "CANVA_API",
    "RATE_LIMITS",
    "CanvaClient",
    "CanvaJob",
    "CanvaJobFailed",
    "JobKind",
    "OperationLimiter",
    "canva_factory",
    "image_field",
    "text_field",
]

CANVA_API = "https://api.canva.com/rest"
SERVICE = "canva"

JobKind = Literal["autofill", "export", "asset-upload", "url-asset-upload"]
_JOB_PATHS: dict[str, str] = {
    "autofill": "/v1/autofills",
    "export": "/v1/exports",
    "asset-upload": "/v1/asset-uploads",
    "url-asset-upload": "/v1/url-asset-uploads",
}

RATE_LIMITS: dict[str, int] = {
    "create_design": 20,
    "list_designs": 100,
    "create_export": 20,
    "get_export": 120,
    "create_autofill": 60,
    "get_autofill": 60,
    "create_asset-upload": 30,
    "get_asset-upload": 180,
    "create_url-asset-upload": 30,
    "get_url-asset-upload": 180,
}
"""Per-user requests per minute of each operation (spec ``x-rate-limit-per-client-user``)."""


class CanvaJobFailed(IntegrationError):
    """A Canva job ended with status failed."""

    def __init__(self, message: str, *, code: str | None = None, **fields: Any) -> None:
        self.code = code
        super().__init__(message, service=SERVICE, **fields)


def text_field(text: str) -> dict[str, Any]:
    """An autofill ``data`` value for a text field."""
    return {"type": "text", "text": text}


def image_field(asset_id: str) -> dict[str, Any]:
    """An autofill ``data`` value for an image field (an uploaded asset id)."""
    return {"type": "image", "asset_id": asset_id}


@dataclass(frozen=True)
class CanvaJob:
    """One async Canva job as last seen."""

    kind: JobKind
    id: str
    status: Literal["in_progress", "success", "failed"]
    urls: list[str] = field(default_factory=list)
    design: dict[str, Any] | None = None
    asset: dict[str, Any] | None = None
    error_code: str | None = None
    error_message: str | None = None
    seen_at: float = field(default_factory=time.time)

    @property
    def done(self) -> bool:
        return self.status != "in_progress"

    @property
    def design_id(self) -> str | None:
        return None if self.design is None else str(self.design.get("id") or "") or None

    def reference(self) -> dict[str, Any]:
        """A JSON reference to what the job made (kept with a media request)."""
        ref: dict[str, Any] = {"provider": SERVICE, "job": self.kind, "job_id": self.id}
        if self.design is not None:
            ref["design_id"] = self.design_id
            urls = self.design.get("urls") or {}
            if isinstance(urls, dict) and urls.get("view_url"):
                ref["view_url"] = urls["view_url"]
        if self.urls:
            ref["urls"] = list(self.urls)
            ref["urls_expire_at"] = self.seen_at + 24 * 3600  # documented: valid 24 h
        if self.asset is not None:
            ref["asset_id"] = self.asset.get("id")
        return ref

    @classmethod
    def from_json(cls, kind: JobKind, data: Any) -> CanvaJob:
        job = data.get("job") if isinstance(data, dict) else None
        if (
            not isinstance(job, dict)
            or not job.get("id")
            or job.get("status")
            not in (
                "in_progress",
                "success",
                "failed",
            )
        ):
            raise ValueError("expected {'job': {'id', 'status'}}")
        error = _as_dict(job.get("error"))
        design = _as_dict(_as_dict(job.get("result")).get("design")) or None
        urls = job.get("urls")
        urls = urls if isinstance(urls, list) else []
        asset = _as_dict(job.get("asset")) or None
        return cls(
            kind=kind,
            id=str(job["id"]),
            status=job["status"],
            urls=[str(u) for u in urls],
            design=design,
            asset=asset,
            error_code=error.get("code"),
            error_message=error.get("message"),
        )


def _as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


class OperationLimiter:
    """Client-side sliding-window limits per operation (thread-safe).

    ``acquire(op)`` blocks until one more call of ``op`` fits in the last
    ``window`` seconds; unknown operations are not limited. ``margin`` is
    added to every wait: the server counts arrivals, not our send times.
    """

    def __init__(
        self,
        limits: Mapping[str, int],
        *,
        window: float = 60.0,
        margin: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.limits = dict(limits)
        self.window = window
        self.margin = margin
        self._clock = clock
        self._sleep = sleep
        self._calls: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def acquire(self, op: str) -> float:
        """Wait for a slot of ``op``; returns the seconds waited."""
        limit = self.limits.get(op)
        if not limit:
            return 0.0
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                calls = self._calls.setdefault(op, deque())
                while calls and calls[0] <= now - self.window - self.margin:
                    calls.popleft()
                if len(calls) < limit:
                    calls.append(now)
                    return waited
                pause = calls[0] + self.window - now + self.margin
            self._sleep(pause)
            waited += pause


def _canva_error(response: httpx.Response, http: HttpService) -> IntegrationError | None:
    """Canva's ``{"code", "message"}`` (and OAuth ``{"error", "error_description"}``)."""
    try:
        body = response.json()
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    code = body.get("code") or body.get("error")
    message = body.get("message") or body.get("error_description")
    if not isinstance(code, str):
        return None
    error = http.default_error(response, message=f"{code}: {message or ''}".rstrip(": "))
    if response.status_code == 401 and error.hint == http.auth_hint:
        error.hint = (
            f"{http.auth_hint or 'check the access token'}; Canva access tokens expire "
            "after a few hours, mint a new one"
        )
    return error


class CanvaClient:
    """Canva Connect over one :class:`HttpService` (OAuth bearer)."""

    service = SERVICE

    def __init__(
        self,
        http: HttpService,
        *,
        limiter: OperationLimiter | None = None,
        poll_interval: float = 2.0,
        max_poll_interval: float = 10.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.http = http
        self.limiter = limiter if limiter is not None else OperationLimiter(RATE_LIMITS)
        self.poll_interval = poll_interval
        self.max_poll_interval = max_poll_interval
        self._sleep = sleep
        self._clock = clock

    @classmethod
    def from_connection(
        cls, connection: Connection, settings: Settings, **kwargs: Any
    ) -> CanvaClient:
        """From a ``type: canva`` connection (``base_url`` defaults to Canva's API).

        Options: ``poll_interval`` (seconds, default 2), ``rate_limits``
        (``false`` to keep no client-side limits, or ``{op: per_minute}``),
        plus the retry options of :func:`service_from_connection`.
        """
        if not connection.secret:
            raise ConnectionNotConfigured(
                "the canva connection names no secret for its access token",
                hint="add `secret: CANVA_TOKEN` to it in sops/connections.yaml",
            )
        http = service_from_connection(
            SERVICE,
            connection,
            settings,
            base_url=connection.base_url or CANVA_API,
            error_parser=_canva_error,
            auth_hint=f"check the secret {connection.secret} (a Canva OAuth access token)",
        )
        opts = connection.options
        limits = opts.get("rate_limits", True)
        limiter = OperationLimiter(
            {**RATE_LIMITS, **(limits if isinstance(limits, dict) else {})} if limits else {},
            window=float(opts.get("rate_window", 60.0)),
        )
        kwargs.setdefault("poll_interval", float(opts.get("poll_interval", 2.0)))
        return cls(http, limiter=limiter, **kwargs)

    def close(self) -> None:
        self.http.close()

    # -- plumbing
    def _call(
        self,
        op: str,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
        idempotent: bool | None = None,
    ) -> Any:
        self.limiter.acquire(op)
        response = self.http.request(
            method,
            path,
            json=json,
            params=params,
            idempotency_key=idempotency_key,
            idempotent=idempotent,
        )
        return self.http.json(response, dict)

    def _job(self, kind: JobKind, op: str, method: str, path: str, **kwargs: Any) -> CanvaJob:
        data = self._call(op, method, path, **kwargs)
        try:
            return CanvaJob.from_json(kind, data)
        except ValueError as exc:
            raise MalformedResponse(
                self.http.redact(f"canva: {method} {path} answered an unexpected job: {exc}"),
                service=SERVICE,
            ) from None

    # -- designs
    def create_design(
        self,
        *,
        title: str,
        design_type: Mapping[str, Any] | None = None,
        asset_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """``POST /v1/designs``; returns the design summary (``id``, ``urls`` ...)."""
        body: dict[str, Any] = {
            "design_type": dict(design_type or {"type": "preset", "name": "presentation"}),
            "title": title,
        }
        if asset_id:
            body["asset_id"] = asset_id
        data = self._call(
            "create_design", "POST", "/v1/designs", json=body, idempotency_key=idempotency_key
        )
        design = data.get("design")
        if not isinstance(design, dict) or not design.get("id"):
            raise MalformedResponse("canva: POST /v1/designs answered no design", service=SERVICE)
        return design

    def list_designs(self, *, query: str | None = None) -> list[dict[str, Any]]:
        params = {"query": query} if query else None
        data = self._call("list_designs", "GET", "/v1/designs", params=params)
        items = data.get("items")
        if not isinstance(items, list):
            raise MalformedResponse("canva: GET /v1/designs answered no items", service=SERVICE)
        return [i for i in items if isinstance(i, dict)]

    # -- jobs
    def autofill(
        self,
        brand_template_id: str,
        data: Mapping[str, Mapping[str, Any]],
        *,
        title: str | None = None,
        idempotency_key: str | None = None,
    ) -> CanvaJob:
        """``POST /v1/autofills``: a new design from a brand template and field data."""
        body: dict[str, Any] = {"brand_template_id": brand_template_id, "data": dict(data)}
        if title:
            body["title"] = title[:255]
        return self._job(
            "autofill",
            "create_autofill",
            "POST",
            "/v1/autofills",
            json=body,
            idempotency_key=idempotency_key,
        )

    def export(
        self, design_id: str, format: Mapping[str, Any], *, idempotency_key: str | None = None
    ) -> CanvaJob:
        """``POST /v1/exports`` (``format`` like ``{"type": "png"}``); safe to retry."""
        return self._job(
            "export",
            "create_export",
            "POST",
            "/v1/exports",
            json={"design_id": design_id, "format": dict(format)},
            idempotency_key=idempotency_key,
            idempotent=True,  # an export job only reads the design
        )

    def upload_from_url(
        self, name: str, url: str, *, idempotency_key: str | None = None
    ) -> CanvaJob:
        """``POST /v1/url-asset-uploads``: Canva fetches ``url`` into an asset."""
        return self._job(
            "url-asset-upload",
            "create_url-asset-upload",
            "POST",
            "/v1/url-asset-uploads",
            json={"name": name[:255], "url": url},
            idempotency_key=idempotency_key,
        )

    def job(self, kind: JobKind, job_id: str) -> CanvaJob:
        """The job's current state (``GET /v1/<kind>s/{id}``)."""
        return self._job(kind, f"get_{kind}", "GET", f"{_JOB_PATHS[kind]}/{job_id}")

    def wait(
        self, job: CanvaJob, *, timeout: float = 300.0, raise_on_failure: bool = True
    ) -> CanvaJob:
        """Poll ``job`` until it succeeds or fails (backing off up to ``max_poll_interval``)."""
        deadline = self._clock() + timeout
        interval = self.poll_interval
        while not job.done:
            if self._clock() + interval > deadline:
                raise IntegrationError(
                    f"canva: {job.kind} job {job.id} still in progress after {timeout:g}s",
                    service=SERVICE,
                    hint="poll it again later; Canva keeps jobs for 24 hours",
                )
            self._sleep(interval)
            interval = min(self.max_poll_interval, interval * 1.5)
            try:
                job = self.job(job.kind, job.id)
            except RateLimited as exc:  # polling too fast: wait as told, keep polling
                interval = max(interval, exc.retry_after or interval)
        if job.status == "failed" and raise_on_failure:
            raise self.failure(job)
        return job

    def failure(self, job: CanvaJob) -> CanvaJobFailed:
        return CanvaJobFailed(
            self.http.redact(
                f"canva: {job.kind} job {job.id} failed: "
                f"{job.error_code or 'unknown'}: {job.error_message or 'no message'}"
            ),
            code=job.error_code,
        )

    def download(self, url: str, *, timeout: float = 60.0) -> bytes:
        """The bytes behind an export URL (pre-signed: sent without the token)."""
        response = self.http.request("GET", url, authenticate=False, timeout=timeout)
        return response.content


def canva_factory(connection: Connection | None, settings: Settings) -> CanvaClient:
    """The registry factory for ``canva``: the connection, else the sandbox's."""
    from sopbench.model.workspace import Connection

    if connection is None and settings.sandbox is not None:
        fields = settings.sandbox.connection_of_type(SERVICE)
        if fields is not None:
            connection = Connection.model_validate(dict(fields))
    if connection is None:
        raise ConnectionNotConfigured(
            "no canva connection is configured",
            hint="add a `type: canva` connection with `secret: CANVA_TOKEN` to "
            "sops/connections.yaml (or run `sopbench sandbox`)",
        )
    return CanvaClient.from_connection(connection, settings)
