"""Video generation behind one interface; first provider: the OpenAI Videos API (Sora 2).

Every provider implements :class:`VideoProvider` (create a job, retrieve it,
wait for it, download the result). :class:`OpenAIVideos` speaks the shape of
OpenAI's Videos API (``INTEGRATIONS.md`` section e), so any compatible
endpoint works:

* ``POST /videos`` ``{prompt, model, seconds, size}`` → a Video object with
  ``status`` ``queued | in_progress | completed | failed`` and ``progress``;
* ``GET /videos/{id}`` is polled, sleeping the ``openai-poll-after-ms``
  response header when present (else ``poll_interval``, 1 s like the SDK);
* ``GET /videos/{id}/content?variant=video|thumbnail|spritesheet`` → bytes.

OpenAI announced the Videos API shut down on 2026-09-24, so a 404 or 410
from the endpoint raises :class:`VideoProviderUnavailable` ("video provider
unavailable"), a clear error a media request records, never a crash. Other
providers register in :data:`PROVIDERS` and are chosen with the connection's
``options.provider``.

Example::

    videos = video_factory(connection, settings)
    job = videos.create("A LAN party at dusk", seconds="8", idempotency_key=key)
    job = videos.wait(job)
    Path("clip.mp4").write_bytes(videos.download(job.id))
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

import httpx

from sopbench.errors import ConfigError, ConnectionNotConfigured, IntegrationError
from sopbench.integrations.http import HttpService, MalformedResponse, service_from_connection

if TYPE_CHECKING:
    from sopbench.config import Settings
    from sopbench.model.workspace import Connection

__all__ = [
    "OPENAI_API",
    "PROVIDERS",
    "OpenAIVideos",
    "VideoJob",
    "VideoJobFailed",
    "VideoProvider",
    "VideoProviderUnavailable",
    "video_factory",
]

OPENAI_API = "https://api.openai.com/v1"
SERVICE = "video"
VideoStatus = Literal["queued", "in_progress", "completed", "failed"]
_STATUSES = ("queued", "in_progress", "completed", "failed")


class VideoProviderUnavailable(IntegrationError):
    """The video provider is unavailable."""

    default_hint = (
        "the video endpoint answered 404/410 (OpenAI shut the Sora 2 Videos API down on "
        "2026-09-24); point the video connection at another compatible provider"
    )


class VideoJobFailed(IntegrationError):
    """A video job ended with status failed."""

    def __init__(self, message: str, *, code: str | None = None, **fields: Any) -> None:
        self.code = code
        super().__init__(message, **fields)


@dataclass(frozen=True)
class VideoJob:
    """A video job as last seen (the Videos API's Video object)."""

    id: str
    status: VideoStatus
    progress: int = 0
    model: str | None = None
    seconds: str | None = None
    size: str | None = None
    created_at: int | None = None
    completed_at: int | None = None
    expires_at: int | None = None
    error: dict[str, Any] | None = None
    poll_after: float | None = None
    """Seconds the server asked us to wait before the next poll."""
    provider: str = "openai"
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def done(self) -> bool:
        return self.status in ("completed", "failed")

    def reference(self) -> dict[str, Any]:
        """A JSON reference to the result (kept with a media request)."""
        ref: dict[str, Any] = {
            "provider": self.provider,
            "video_id": self.id,
            "status": self.status,
            "model": self.model,
            "seconds": self.seconds,
            "size": self.size,
        }
        if self.expires_at is not None:
            ref["expires_at"] = self.expires_at
        return ref

    @classmethod
    def from_json(
        cls, data: Any, *, poll_after: float | None = None, provider: str = "openai"
    ) -> VideoJob:
        if not isinstance(data, dict) or not data.get("id") or data.get("status") not in _STATUSES:
            raise ValueError("expected a video object with id and a known status")
        error = data.get("error")

        def opt_int(name: str) -> int | None:
            value = data.get(name)
            return int(value) if isinstance(value, int | float) else None

        return cls(
            id=str(data["id"]),
            status=data["status"],
            progress=int(data.get("progress") or 0),
            model=data.get("model"),
            seconds=None if data.get("seconds") is None else str(data["seconds"]),
            size=data.get("size"),
            created_at=opt_int("created_at"),
            completed_at=opt_int("completed_at"),
            expires_at=opt_int("expires_at"),
            error=error if isinstance(error, dict) else None,
            poll_after=poll_after,
            provider=provider,
            raw=data,
        )


class VideoProvider(Protocol):
    """What the media service needs from a video generator."""

    name: str

    def create(
        self,
        prompt: str,
        *,
        model: str | None = None,
        seconds: str | None = None,
        size: str | None = None,
        idempotency_key: str | None = None,
    ) -> VideoJob: ...

    def retrieve(self, video_id: str) -> VideoJob: ...

    def wait(self, job: VideoJob, *, timeout: float = 900.0) -> VideoJob: ...

    def download(self, video_id: str, *, variant: str = "video") -> bytes: ...

    def close(self) -> None: ...


def _openai_error(response: httpx.Response, http: HttpService) -> IntegrationError | None:
    if response.status_code not in (404, 410):
        body = _body(response)
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict) and error.get("code") and error.get("message"):
            return http.default_error(response, message=f"{error['code']}: {error['message']}")
        return None
    base = http.default_error(response)
    return VideoProviderUnavailable(
        http.redact(f"video provider unavailable: {base.message}"),
        service=SERVICE,
        status=response.status_code,
        request_id=base.request_id,
    )


def _body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


class OpenAIVideos:
    """The OpenAI Videos API shape (``/videos``), over one :class:`HttpService`."""

    name = "openai"

    def __init__(
        self,
        http: HttpService,
        *,
        model: str = "sora-2",
        poll_interval: float = 1.0,
        max_poll_interval: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.http = http
        self.model = model
        self.poll_interval = poll_interval
        self.max_poll_interval = max_poll_interval
        self._sleep = sleep
        self._clock = clock

    @classmethod
    def from_connection(cls, connection: Connection, settings: Settings) -> OpenAIVideos:
        """From a ``type: video`` connection (``base_url`` defaults to OpenAI's ``/v1``).

        Options: ``model`` (default ``sora-2``), ``poll_interval`` (seconds),
        plus the retry options of :func:`service_from_connection`.
        """
        if not connection.secret:
            raise ConnectionNotConfigured(
                "the video connection names no secret for its API key",
                hint="add `secret: OPENAI_API_KEY` to it in sops/connections.yaml",
            )
        http = service_from_connection(
            SERVICE,
            connection,
            settings,
            base_url=connection.base_url or OPENAI_API,
            error_parser=_openai_error,
            auth_hint=f"check the secret {connection.secret} (an API key of the video provider)",
        )
        opts = connection.options
        return cls(
            http,
            model=str(opts.get("model", "sora-2")),
            poll_interval=float(opts.get("poll_interval", 1.0)),
        )

    def close(self) -> None:
        self.http.close()

    def _job(self, response: httpx.Response) -> VideoJob:
        data = self.http.json(response, dict)
        header = response.headers.get("openai-poll-after-ms")
        poll_after: float | None = None
        if header:
            try:
                poll_after = max(0.0, float(header) / 1000.0)
            except ValueError:
                poll_after = None
        try:
            return VideoJob.from_json(data, poll_after=poll_after, provider=self.name)
        except ValueError as exc:
            raise self.http.malformed(response, str(exc)) from None

    def create(
        self,
        prompt: str,
        *,
        model: str | None = None,
        seconds: str | None = None,
        size: str | None = None,
        idempotency_key: str | None = None,
    ) -> VideoJob:
        """``POST /videos``: a new generation job (``seconds`` like ``"8"``)."""
        if not prompt.strip():
            raise ConfigError("a video needs a prompt")
        body: dict[str, Any] = {"prompt": prompt, "model": model or self.model}
        if seconds is not None:
            body["seconds"] = str(seconds)
        if size is not None:
            body["size"] = size
        response = self.http.request("POST", "/videos", json=body, idempotency_key=idempotency_key)
        return self._job(response)

    def retrieve(self, video_id: str) -> VideoJob:
        return self._job(self.http.request("GET", f"/videos/{video_id}"))

    def remix(self, video_id: str, prompt: str, *, idempotency_key: str | None = None) -> VideoJob:
        response = self.http.request(
            "POST",
            f"/videos/{video_id}/remix",
            json={"prompt": prompt},
            idempotency_key=idempotency_key,
        )
        return self._job(response)

    def delete(self, video_id: str) -> None:
        self.http.request("DELETE", f"/videos/{video_id}")

    def list_videos(self, *, limit: int = 20, after: str | None = None) -> list[VideoJob]:
        params: dict[str, Any] = {"limit": limit, "order": "desc"}
        if after:
            params["after"] = after
        data = self.http.json(self.http.request("GET", "/videos", params=params), dict)
        items = data.get("data")
        if not isinstance(items, list):
            raise MalformedResponse("video: GET /videos answered no data list", service=SERVICE)
        return [VideoJob.from_json(item, provider=self.name) for item in items]

    def wait(self, job: VideoJob, *, timeout: float = 900.0) -> VideoJob:
        """Poll until completed or failed, as the server's ``openai-poll-after-ms`` says."""
        deadline = self._clock() + timeout
        backoff = self.poll_interval
        while not job.done:
            pause = job.poll_after if job.poll_after is not None else backoff
            if self._clock() + pause > deadline:
                raise IntegrationError(
                    f"video: job {job.id} is still {job.status} after {timeout:g}s "
                    f"({job.progress}% done)",
                    service=SERVICE,
                    hint="poll it again later",
                )
            self._sleep(pause)
            if job.poll_after is None:
                backoff = min(self.max_poll_interval, backoff * 1.5)
            job = self.retrieve(job.id)
        if job.status == "failed":
            raise self.failure(job)
        return job

    def failure(self, job: VideoJob) -> VideoJobFailed:
        error = job.error or {}
        return VideoJobFailed(
            self.http.redact(
                f"video: job {job.id} failed: {error.get('code') or 'unknown'}: "
                f"{error.get('message') or 'no message'}"
            ),
            code=error.get("code"),
            service=SERVICE,
        )

    def download(self, video_id: str, *, variant: str = "video") -> bytes:
        """``GET /videos/{id}/content`` (``variant``: video, thumbnail or spritesheet)."""
        response = self.http.request(
            "GET",
            f"/videos/{video_id}/content",
            params={"variant": variant},
            headers={"Accept": "application/binary"},
        )
        if not response.content:
            raise self.http.malformed(response, "empty content")
        return response.content


ProviderFactory = Callable[["Connection", "Settings"], VideoProvider]
PROVIDERS: dict[str, ProviderFactory] = {"openai": OpenAIVideos.from_connection}
"""Video providers by ``options.provider`` name; register more here."""


def video_factory(connection: Connection | None, settings: Settings) -> VideoProvider:
    """The registry factory for ``video``: the connection (else the sandbox's) and its provider."""
    from sopbench.model.workspace import Connection

    if connection is None and settings.sandbox is not None:
        fields: Mapping[str, Any] | None = settings.sandbox.connection_of_type(SERVICE)
        if fields is not None:
            connection = Connection.model_validate(dict(fields))
    if connection is None:
        raise ConnectionNotConfigured(
            "no video connection is configured",
            hint="add a `type: video` connection (base_url of an OpenAI-compatible Videos "
            "API, `secret: OPENAI_API_KEY`) to sops/connections.yaml (or run `sopbench sandbox`)",
        )
    provider = str(connection.options.get("provider", "openai"))
    factory = PROVIDERS.get(provider)
    if factory is None:
        raise ConfigError(
            f"unknown video provider '{provider}'",
            hint=f"options.provider is one of: {', '.join(sorted(PROVIDERS))}",
        )
    return factory(connection, settings)
