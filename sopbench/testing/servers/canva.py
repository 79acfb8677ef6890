"""A local double of the Canva Connect API (designs, autofill, exports, URL uploads).

Documented behaviour reproduced (``INTEGRATIONS.md`` section d):

* base ``/rest`` with ``/v1/...`` paths; ``Authorization: Bearer <token>``;
* async jobs: ``POST`` answers ``{"job": {"id", "status": "in_progress"}}``,
  ``GET`` answers the job, which turns ``success`` (or ``failed`` with
  ``error{code, message}``) after :attr:`CanvaServer.job_polls` polls;
* autofill success carries ``result = {"type": "create_design", "design": {...}}``;
  export success carries ``urls`` (one per page; served by this double at
  ``/files/...`` without auth, like pre-signed URLs);
* errors ``{"code", "message"}``; 429 ``{"code": "too_many_requests",
  "message": "Too many requests to <operation>"}``;
* per-user, per-operation rate limits (:data:`SPEC_RATE_LIMITS`
  per ``rate_window`` seconds, 60 like the spec).

Not documented, so configurable: whether a 429 carries ``Retry-After``
(``retry_after_header``), the 401 body code (``invalid_access_token``),
and whether an ``Idempotency-Key`` replays the first answer
(``honour_idempotency_key``).
"""

from __future__ import annotations

import base64
import itertools
import math
import struct
import threading
import time
import zlib
from collections import deque
from dataclasses import dataclass, field
from typing import Any, ClassVar

from sopbench.testing.servers._base import LocalServer, Recorded, Reply

__all__ = ["EXPORT_PNG", "PNG_1X1", "SPEC_RATE_LIMITS", "CanvaServer"]

SPEC_RATE_LIMITS: dict[str, int] = {
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
"""Per-user requests per minute (the spec's ``x-rate-limit-per-client-user``), kept
apart from the client's copy on purpose: the double must not trust the client."""

PNG_1X1 = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def _solid_png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A real PNG of one colour with a lighter band, so previews show something."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    light = bytes(min(255, c + 90) for c in rgb)
    rows = b"".join(
        b"\x00" + (light if height // 3 <= y < 2 * height // 3 else bytes(rgb)) * width
        for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


EXPORT_PNG = _solid_png(320, 180, (31, 78, 121))
"""What a PNG export downloads: a 320x180 image (thumbnails stay 1x1)."""
_EXPORT_TYPES = {"pdf", "jpg", "png", "gif", "pptx", "mp4", "csv", "html_bundle", "svg"}
_FIELD_TYPES = {"text", "image", "video", "chart", "sheet"}
_FILE_BYTES = {
    "png": EXPORT_PNG,
    "pdf": b"%PDF-1.4\n% sopbench double\n%%EOF\n",
    "mp4": b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom",
}
_KIND_OF_PATH = {
    "autofills": "autofill",
    "exports": "export",
    "url-asset-uploads": "url-asset-upload",
    "asset-uploads": "asset-upload",
}


@dataclass
class _Job:
    kind: str
    body: dict[str, Any]
    polls_left: int
    failure: tuple[str, str] | None
    created: float = field(default_factory=time.time)
    state: dict[str, Any] = field(default_factory=dict)


def _error(status: int, code: str, message: str, **headers: str) -> Reply:
    return Reply(status, {"code": code, "message": message}, headers=dict(headers))


class CanvaServer(LocalServer):
    """Canva Connect for one integration; accepts the bearer tokens in ``tokens``."""

    name: ClassVar[str] = "canva"

    def __init__(
        self,
        *,
        tokens: set[str] | None = None,
        job_polls: int = 1,
        rate_limits: dict[str, int] | None = None,
        rate_window: float = 60.0,
        retry_after_header: bool = True,
        brand_templates: set[str] | None = None,
        honour_idempotency_key: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.tokens = set(tokens or {"canva-test-token-0123456789"})
        self.job_polls = job_polls
        """GETs a job answers ``in_progress`` before it finishes."""
        self.rate_limits = dict(SPEC_RATE_LIMITS if rate_limits is None else rate_limits)
        self.rate_window = rate_window
        self.retry_after_header = retry_after_header
        self.brand_templates = brand_templates
        """Known brand template ids; ``None`` accepts any id."""
        self.honour_idempotency_key = honour_idempotency_key
        self.designs: dict[str, dict[str, Any]] = {}
        self.jobs: dict[str, _Job] = {}
        self._failures: list[tuple[str, str, str]] = []
        self._calls: dict[tuple[str, str], deque[float]] = {}
        self._replays: dict[str, Reply] = {}
        self._ids = itertools.count(1)
        self._state = threading.RLock()

    def __enter__(self) -> CanvaServer:
        self.start()
        return self

    @property
    def api_url(self) -> str:
        """The base URL a client uses (``…/rest``, paths ``/v1/...``)."""
        return f"{self.url}/rest"

    # -- behaviour --------------------------------------------------------------------
    def fail_next_job(self, kind: str, code: str, message: str = "The job failed") -> None:
        """The next created job of ``kind`` (autofill/export/url-asset-upload) fails."""
        with self._state:
            self._failures.append((kind, code, message))

    def add_design(self, title: str = "Design", pages: int = 1) -> str:
        with self._state:
            return str(self._new_design(title, pages)["id"])

    # -- service replies -------------------------------------------------------------
    def rate_limit_reply(self, request: Recorded, retry_after: float | str | None) -> Reply:
        return _error(429, "too_many_requests", "Throttled because too many requests")

    def error_reply(self, request: Recorded, status: int) -> Reply:
        if status >= 500:
            return _error(status, "internal_error", "An internal error occurred")
        return _error(status, "bad_request_params", "Bad request")

    def auth_reply(self, request: Recorded) -> Reply:
        return _error(401, "invalid_access_token", "Access token is invalid")

    def handle(self, request: Recorded) -> Reply:
        parts = [p for p in request.path.split("/") if p]
        if parts[:1] == ["files"] and len(parts) == 3:
            return self._file(parts[1], parts[2])
        if parts[:2] != ["rest", "v1"] or len(parts) < 3:
            return _error(404, "not_found", f"No route for {request.method} {request.path}")
        token = request.headers.get("authorization", "")
        if not token.startswith("Bearer ") or token[7:] not in self.tokens:
            return self.auth_reply(request)
        resource, rest = parts[2], parts[3:]
        op = self._operation(request.method, resource, rest)
        if op is None:
            return _error(405, "bad_http_method", f"{request.method} not allowed here")
        limited = self._throttle(token[7:], op)
        if limited is not None:
            return limited
        key = request.headers.get("idempotency-key")
        if key and request.method == "POST" and self.honour_idempotency_key:
            with self._state:
                if key in self._replays:
                    return self._replays[key]
        with self._state:
            reply = self._route(request, resource, rest)
            if key and request.method == "POST" and reply.status < 300:
                self._replays[key] = reply
        return reply

    # -- internals ---------------------------------------------------------------------
    @staticmethod
    def _operation(method: str, resource: str, rest: list[str]) -> str | None:
        if resource == "designs":
            if method == "POST" and not rest:
                return "create_design"
            return "list_designs" if method == "GET" else None
        kind = _KIND_OF_PATH.get(resource)
        if kind is None:
            return None
        if method == "POST" and not rest:
            return f"create_{kind}"
        if method == "GET" and len(rest) == 1:
            return f"get_{kind}"
        return None

    def _throttle(self, token: str, op: str) -> Reply | None:
        limit = self.rate_limits.get(op)
        if not limit:
            return None
        now = time.monotonic()
        with self._state:
            calls = self._calls.setdefault((token, op), deque())
            while calls and calls[0] <= now - self.rate_window:
                calls.popleft()
            if len(calls) < limit:
                calls.append(now)
                return None
            wait = calls[0] + self.rate_window - now
        headers = {"Retry-After": str(max(1, math.ceil(wait)))} if self.retry_after_header else {}
        return _error(429, "too_many_requests", f"Too many requests to {op}", **headers)

    def _next_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):06d}"

    def _new_design(self, title: str, pages: int = 1) -> dict[str, Any]:
        design_id = self._next_id("DAF")
        now = int(time.time())
        design = {
            "id": design_id,
            "title": title,
            "urls": {
                "edit_url": f"{self.url}/design/{design_id}/edit",
                "view_url": f"{self.url}/design/{design_id}/view",
            },
            "thumbnail": {
                "width": 595,
                "height": 335,
                "url": f"{self.url}/files/{design_id}/0.png",
            },
            "created_at": now,
            "updated_at": now,
            "page_count": pages,
        }
        self.designs[design_id] = design
        return design

    def _route(self, request: Recorded, resource: str, rest: list[str]) -> Reply:
        if resource == "designs":
            if request.method == "GET":
                return Reply(200, {"items": list(self.designs.values())})
            return self._create_design(request)
        kind = _KIND_OF_PATH[resource]
        if request.method == "GET":
            job = self.jobs.get(rest[0])
            if job is None or job.kind != kind:
                return _error(404, "not_found", f"Job {rest[0]} not found")
            return Reply(200, {"job": self._advance(rest[0], job)})
        return self._create_job(request, kind)

    def _body(self, request: Recorded) -> dict[str, Any] | Reply:
        try:
            body = request.json
        except ValueError:
            return _error(400, "bad_request_body", "Request body is not valid JSON")
        if not isinstance(body, dict):
            return _error(400, "bad_request_body", "Request body must be a JSON object")
        return body

    def _create_design(self, request: Recorded) -> Reply:
        body = self._body(request)
        if isinstance(body, Reply):
            return body
        title = body.get("title")
        if not isinstance(title, str) or not 1 <= len(title) <= 255:
            return _error(400, "invalid_field", "title must be 1-255 characters")
        if not isinstance(body.get("design_type"), dict) and not body.get("asset_id"):
            return _error(400, "invalid_field", "design_type or asset_id is required")
        return Reply(200, {"design": self._new_design(title)})

    def _create_job(self, request: Recorded, kind: str) -> Reply:
        body = self._body(request)
        if isinstance(body, Reply):
            return body
        problem = self._validate(kind, body)
        if problem is not None:
            return problem
        job_id = self._next_id({"autofill": "AFJ", "export": "EXJ"}.get(kind, "UPJ"))
        failure = next(((c, m) for k, c, m in self._failures if k == kind), None)
        if failure is not None:
            self._failures.remove((kind, *failure))
        self.jobs[job_id] = _Job(kind, body, self.job_polls, failure)
        return Reply(200, {"job": {"id": job_id, "status": "in_progress"}})

    def _validate(self, kind: str, body: dict[str, Any]) -> Reply | None:
        if kind == "autofill":
            template = body.get("brand_template_id")
            if not isinstance(template, str) or not template:
                return _error(400, "invalid_field", "brand_template_id is required")
            if self.brand_templates is not None and template not in self.brand_templates:
                return _error(404, "not_found", f"Brand template {template} not found")
            data = body.get("data")
            if not isinstance(data, dict) or not data:
                return _error(400, "invalid_field", "data must name at least one field")
            for name, value in data.items():
                if not isinstance(value, dict) or value.get("type") not in _FIELD_TYPES:
                    return _error(400, "invalid_field", f"data.{name}.type is not valid")
                if value["type"] == "text" and not isinstance(value.get("text"), str):
                    return _error(400, "invalid_field", f"data.{name}.text must be a string")
            title = body.get("title")
            if title is not None and (not isinstance(title, str) or not 1 <= len(title) <= 255):
                return _error(400, "invalid_field", "title must be 1-255 characters")
        elif kind == "export":
            design_id = body.get("design_id")
            if design_id not in self.designs:
                return _error(404, "not_found", f"Design {design_id} not found")
            fmt = body.get("format")
            if not isinstance(fmt, dict) or fmt.get("type") not in _EXPORT_TYPES:
                return _error(400, "invalid_field", "format.type is not a supported export type")
        elif kind == "url-asset-upload":
            name, url = body.get("name"), body.get("url")
            if not isinstance(name, str) or not 1 <= len(name) <= 255:
                return _error(400, "invalid_field", "name must be 1-255 characters")
            if not isinstance(url, str) or not 8 <= len(url) <= 2048:
                return _error(400, "invalid_field", "url must be 8-2048 characters")
        return None

    def _advance(self, job_id: str, job: _Job) -> dict[str, Any]:
        if job.polls_left > 0 and not job.state:
            job.polls_left -= 1
            return {"id": job_id, "status": "in_progress"}
        if not job.state:
            job.state = self._finish(job_id, job)
        return dict(job.state)

    def _finish(self, job_id: str, job: _Job) -> dict[str, Any]:
        if job.failure is not None:
            code, message = job.failure
            return {"id": job_id, "status": "failed", "error": {"code": code, "message": message}}
        if job.kind == "autofill":
            title = job.body.get("title") or "Autofilled design"
            design = self._new_design(str(title))
            summary = {k: v for k, v in design.items() if k != "page_count"}
            return {
                "id": job_id,
                "status": "success",
                "result": {"type": "create_design", "design": summary},
            }
        if job.kind == "export":
            design = self.designs[job.body["design_id"]]
            fmt = job.body["format"]["type"]
            pages = job.body["format"].get("pages") or list(range(1, design["page_count"] + 1))
            urls = [f"{self.url}/files/{job_id}/{page}.{fmt}" for page in pages]
            return {"id": job_id, "status": "success", "urls": urls}
        now = int(time.time())
        asset = {
            "id": self._next_id("MA"),
            "type": "image",
            "name": job.body.get("name", "upload"),
            "tags": [],
            "created_at": now,
            "updated_at": now,
            "thumbnail": {"width": 1, "height": 1, "url": f"{self.url}/files/{job_id}/1.png"},
        }
        return {"id": job_id, "status": "success", "asset": asset}

    def _file(self, job_id: str, name: str) -> Reply:
        ext = name.rsplit(".", 1)[-1]
        if job_id not in self.jobs and job_id not in self.designs:
            return Reply(404, body=b"NoSuchKey", content_type="text/plain")
        content_type = {"png": "image/png", "pdf": "application/pdf", "mp4": "video/mp4"}
        return Reply(
            200,
            body=_FILE_BYTES.get(ext, PNG_1X1),
            content_type=content_type.get(ext, "application/octet-stream"),
        )
