"""A local double of the OpenAI Videos API (Sora 2 shape).

Documented behaviour reproduced (``INTEGRATIONS.md`` section e):

* ``POST /v1/videos`` ``{prompt, model, seconds, size}`` validated against
  the SDK enums (``sora-2``/``sora-2-pro``; ``"4"|"8"|"12"``; four sizes);
* the Video object (``id``, ``object: "video"``, ``model``, ``status``,
  ``progress``, ``created_at``, ``completed_at``, ``expires_at``,
  ``seconds``, ``size``, ``remixed_from_video_id``, ``error``) moving
  ``queued → in_progress → completed | failed`` as it is polled;
* the ``openai-poll-after-ms`` header on every Video answer;
* ``GET /v1/videos/{id}/content?variant=video|thumbnail|spritesheet`` (bytes),
  ``GET /v1/videos`` (list), ``DELETE``, ``POST /v1/videos/{id}/remix``;
* :meth:`VideoServer.retire` — the API shut down: every call answers 404
  (OpenAI's "Invalid URL" error) or 410.

Not confirmed by a source, so configurable: the error body
``{"error": {"message", "type", "param", "code"}}``, 429 with
``retry-after`` and ``x-ratelimit-*`` headers, a 403 when the organisation
is not verified (``require_verification``), and echoing the presented key
in the 401 message (``echo_key``, to prove clients redact it).
"""

from __future__ import annotations

import base64
import itertools
import threading
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar

from sopbench.testing.servers._base import LocalServer, Recorded, Reply

__all__ = ["MP4_BYTES", "VideoServer"]

MP4_BYTES = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 64
_MODELS = {"sora-2", "sora-2-pro"}
_SECONDS = {"4", "8", "12"}
_SIZES = {"720x1280", "1280x720", "1024x1792", "1792x1024"}
_VARIANTS = {
    "video": ("video/mp4", MP4_BYTES),
    # a real (1x1, lossless) WebP, so a dashboard preview decodes
    "thumbnail": (
        "image/webp",
        base64.b64decode("UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA=="),
    ),
    "spritesheet": ("image/jpeg", b"\xff\xd8\xff\xe0sopbench\xff\xd9"),
}


def _error(
    status: int,
    message: str,
    *,
    type_: str,
    code: str | None,
    param: str | None = None,
    **headers: str,
) -> Reply:
    body = {"error": {"message": message, "type": type_, "param": param, "code": code}}
    return Reply(status, body, headers=dict(headers))


@dataclass
class _Video:
    data: dict[str, Any]
    polls_left: int
    failure: tuple[str, str] | None
    steps: int = field(default=0)


class VideoServer(LocalServer):
    """The Videos API of one organisation; accepts the API keys in ``keys``."""

    name: ClassVar[str] = "video"

    def __init__(
        self,
        *,
        keys: set[str] | None = None,
        job_polls: int = 2,
        poll_after_ms: int | None = 1000,
        require_verification: bool = False,
        echo_key: bool = True,
        honour_idempotency_key: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.keys = set(keys or {"sk-video-test-key-0123456789"})
        self.job_polls = job_polls
        """Polls a job answers ``queued``/``in_progress`` before it finishes."""
        self.poll_after_ms = poll_after_ms
        self.require_verification = require_verification
        self.echo_key = echo_key
        self.honour_idempotency_key = honour_idempotency_key
        self.retired: int | None = None
        self.videos: dict[str, _Video] = {}
        self._failures: list[tuple[str, str]] = []
        self._replays: dict[str, Reply] = {}
        self._ids = itertools.count(1)
        self._state = threading.RLock()

    def __enter__(self) -> VideoServer:
        self.start()
        return self

    @property
    def api_url(self) -> str:
        return f"{self.url}/v1"

    # -- behaviour --------------------------------------------------------------------
    def retire(self, status: int = 404) -> None:
        """The provider is gone: every request answers ``status`` (404 or 410)."""
        self.retired = status

    def fail_next_job(self, code: str = "moderation_blocked", message: str = "Blocked") -> None:
        with self._state:
            self._failures.append((code, message))

    # -- service replies ----------------------------------------------------------------
    def rate_limit_reply(self, request: Recorded, retry_after: float | str | None) -> Reply:
        return _error(
            429,
            "Rate limit reached for videos per min (RPM): Limit 5, Used 5, Requested 1.",
            type_="requests",
            code="rate_limit_exceeded",
            **{
                "x-ratelimit-limit-requests": "5",
                "x-ratelimit-remaining-requests": "0",
                "x-ratelimit-reset-requests": f"{retry_after or 1}s",
            },
        )

    def error_reply(self, request: Recorded, status: int) -> Reply:
        if status >= 500:
            return _error(
                status,
                "The server had an error while processing your request. Sorry about that!",
                type_="server_error",
                code=None,
            )
        return _error(status, "Bad request", type_="invalid_request_error", code=None)

    def auth_reply(self, request: Recorded) -> Reply:
        presented = request.headers.get("authorization", "").removeprefix("Bearer ")
        shown = presented if self.echo_key else "sk-****"
        return _error(
            401,
            f"Incorrect API key provided: {shown}. You can find your API key at "
            "https://platform.openai.com/account/api-keys.",
            type_="invalid_request_error",
            code="invalid_api_key",
        )

    def handle(self, request: Recorded) -> Reply:
        if self.retired is not None:
            if self.retired == 410:
                return _error(
                    410,
                    "The Videos API has been shut down.",
                    type_="invalid_request_error",
                    code="gone",
                )
            return _error(
                404,
                f"Invalid URL ({request.method} {request.path})",
                type_="invalid_request_error",
                code=None,
            )
        parts = [p for p in request.path.split("/") if p]
        if parts[:2] != ["v1", "videos"]:
            return _error(
                404,
                f"Invalid URL ({request.method} {request.path})",
                type_="invalid_request_error",
                code=None,
            )
        token = request.headers.get("authorization", "")
        if not token.startswith("Bearer ") or token[7:] not in self.keys:
            return self.auth_reply(request)
        key = request.headers.get("idempotency-key")
        with self._state:
            if key and request.method == "POST" and self.honour_idempotency_key:
                if key in self._replays:
                    return self._replays[key]
            reply = self._route(request, parts[2:])
            if key and request.method == "POST" and reply.status < 300:
                self._replays[key] = reply
            return reply

    # -- internals -------------------------------------------------------------------------
    def _route(self, request: Recorded, rest: list[str]) -> Reply:
        method = request.method
        if not rest:
            if method == "POST":
                return self._create(request, None)
            if method == "GET":
                return self._list(request)
        elif len(rest) == 1:
            video = self.videos.get(rest[0])
            if video is None:
                return self._missing(rest[0])
            if method == "GET":
                return self._video_reply(self._advance(video))
            if method == "DELETE":
                del self.videos[rest[0]]
                return Reply(200, {"id": rest[0], "object": "video.deleted", "deleted": True})
        elif len(rest) == 2 and rest[1] == "content" and method == "GET":
            return self._content(request, rest[0])
        elif len(rest) == 2 and rest[1] == "remix" and method == "POST":
            if rest[0] not in self.videos:
                return self._missing(rest[0])
            return self._create(request, rest[0])
        return _error(
            404,
            f"Invalid URL ({method} {request.path})",
            type_="invalid_request_error",
            code=None,
        )

    @staticmethod
    def _missing(video_id: str) -> Reply:
        return _error(
            404,
            f"Video with id '{video_id}' not found.",
            type_="invalid_request_error",
            code="not_found",
            param="video_id",
        )

    def _video_reply(self, data: dict[str, Any], status: int = 200) -> Reply:
        headers = {"x-request-id": f"req_{next(self._ids):08x}"}
        if self.poll_after_ms is not None and data["status"] in ("queued", "in_progress"):
            headers["openai-poll-after-ms"] = str(self.poll_after_ms)
        return Reply(status, dict(data), headers=headers)

    def _create(self, request: Recorded, remix_of: str | None) -> Reply:
        try:
            body = request.json
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return _error(
                400,
                "We could not parse the JSON body of your request.",
                type_="invalid_request_error",
                code=None,
            )
        prompt = body.get("prompt")
        if not isinstance(prompt, str) or not prompt.strip():
            return _error(
                400,
                "Missing required parameter: 'prompt'.",
                type_="invalid_request_error",
                code="missing_required_parameter",
                param="prompt",
            )
        source = self.videos[remix_of].data if remix_of else {}
        model = body.get("model", source.get("model", "sora-2"))
        seconds = str(body.get("seconds", source.get("seconds", "4")))
        size = body.get("size", source.get("size", "720x1280"))
        for name, value, allowed in (
            ("model", model, _MODELS),
            ("seconds", seconds, _SECONDS),
            ("size", size, _SIZES),
        ):
            if value not in allowed:
                return _error(
                    400,
                    f"Invalid value: '{value}'. Supported values are: "
                    + ", ".join(f"'{v}'" for v in sorted(allowed)),
                    type_="invalid_request_error",
                    code="invalid_value",
                    param=name,
                )
        if self.require_verification:
            return _error(
                403,
                f"Your organization must be verified to use the model `{model}`.",
                type_="invalid_request_error",
                code=None,
            )
        video_id = f"video_{next(self._ids):024x}"
        data: dict[str, Any] = {
            "id": video_id,
            "object": "video",
            "model": model,
            "status": "queued",
            "progress": 0,
            "created_at": int(time.time()),
            "completed_at": None,
            "expires_at": None,
            "seconds": seconds,
            "size": size,
            "remixed_from_video_id": remix_of,
            "error": None,
            "prompt": prompt,
        }
        failure = self._failures.pop(0) if self._failures else None
        self.videos[video_id] = _Video(data, self.job_polls, failure)
        return self._video_reply(data)

    def _advance(self, video: _Video) -> dict[str, Any]:
        data = video.data
        if data["status"] in ("completed", "failed"):
            return data
        if video.polls_left > 0:
            video.polls_left -= 1
            video.steps += 1
            data["status"] = "in_progress"
            data["progress"] = min(
                99, int(100 * video.steps / (video.steps + video.polls_left + 1))
            )
            return data
        now = int(time.time())
        if video.failure is not None:
            code, message = video.failure
            data.update(status="failed", error={"code": code, "message": message})
        else:
            data.update(status="completed", progress=100, completed_at=now, expires_at=now + 3600)
        return data

    def _list(self, request: Recorded) -> Reply:
        items = [v.data for v in self.videos.values()]
        if request.param("order") != "asc":
            items.reverse()
        limit = int(request.param("limit") or 20)
        after = request.param("after")
        if after:
            ids = [i["id"] for i in items]
            items = items[ids.index(after) + 1 :] if after in ids else []
        page = items[:limit]
        return Reply(
            200,
            {
                "object": "list",
                "data": page,
                "first_id": page[0]["id"] if page else None,
                "last_id": page[-1]["id"] if page else None,
                "has_more": len(items) > limit,
            },
        )

    def _content(self, request: Recorded, video_id: str) -> Reply:
        video = self.videos.get(video_id)
        if video is None:
            return self._missing(video_id)
        if video.data["status"] != "completed":
            return _error(
                400,
                "Video is not ready yet; wait until its status is completed.",
                type_="invalid_request_error",
                code="video_not_ready",
            )
        variant = request.param("variant") or "video"
        if variant not in _VARIANTS:
            return _error(
                400,
                f"Invalid variant '{variant}'.",
                type_="invalid_request_error",
                code="invalid_value",
                param="variant",
            )
        content_type, payload = _VARIANTS[variant]
        return Reply(200, body=payload, content_type=content_type)
