"""Media requests: a library prompt → (approval) → a Canva or Sora 2 job → a kept asset.

A request is one row of the ``media_requests`` table and moves::

    requested ──approve──▶ approved ──start──▶ starting ──▶ running ──▶ succeeded
        │                                         │            │
        └──reject──▶ rejected                     └────────────┴──────▶ failed

* Nothing paid runs before approval: :meth:`MediaService.start` refuses a
  request that is still ``requested``. (The ``media_request`` step asks its
  own approvers first and then creates the request already approved.)
* Every transition is committed before the next call out, and the outside
  job id is stored the moment it is known, so a new process (after a crash
  or a restart) continues where the last one stopped: a ``running`` request
  is polled again, a ``starting`` one (the create call may or may not have
  reached the provider) is started again with the *same* idempotency key.
* Canva: with a brand template (``overrides.brand_template_id``, the canva
  connection's ``options.brand_templates[<design_type>]`` or
  ``options.brand_template_id``) an autofill job fills the prompt's text
  slots; without one a blank custom-size design is created for a person to
  finish. Either way the design is exported (PNG) and the files downloaded.
* Sora: one video job; on completion the video and its thumbnail are
  downloaded (the provider's URLs expire). A 404/410 from the video endpoint
  fails the request with "video provider unavailable".
* The asset reference (provider ids, URLs, local files under
  ``<home>/.sopbench/media/<request id>/``) stays in the row.

The ``media`` client of the step handlers is
:class:`~sopbench.content.media_adapter.MediaAdapter` (``request(...) ->
{"request_id"}``, ``status(id) -> {"status", "asset", "error"}``).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sopbench.config import Settings
from sopbench.content.prompts import (
    CanvaPrompt,
    Prompt,
    PromptLibrary,
    SoraPrompt,
    prompt_library_of,
)
from sopbench.errors import (
    ConnectionNotConfigured,
    DecisionRefused,
    IntegrationError,
)
from sopbench.integrations.canva import CanvaClient, CanvaJob, text_field
from sopbench.integrations.http import RateLimited, ServerError, TransportFailed
from sopbench.integrations.video import VideoJob, VideoProvider
from sopbench.store import Database, new_id, utcnow
from sopbench.store.media_requests import MediaRequestView, MediaStore

__all__ = [
    "COST_CLASSES",
    "MediaRequestView",
    "MediaService",
    "cost_class",
    "request_id_for",
]

logger = logging.getLogger("sopbench.media")

COST_CLASSES = ("low", "medium", "high")
_TRANSIENT = (RateLimited, ServerError, TransportFailed)


def cost_class(prompt: Prompt, overrides: Mapping[str, Any] | None = None) -> str:
    """``low`` (a Canva design), ``medium`` (a short sora-2 clip) or ``high``."""
    if isinstance(prompt, CanvaPrompt):
        return "low"
    over = overrides or {}
    model = str(over.get("model", prompt.model))
    seconds = int(over.get("seconds", prompt.seconds))
    return "high" if model == "sora-2-pro" or seconds >= 12 else "medium"


def request_id_for(idempotency_key: str) -> str:
    """The request id belonging to an idempotency key (so a repeat finds it)."""
    return "med_" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:26]


class MediaService:
    """Media requests over the state database and the Canva / video clients."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        library: PromptLibrary | None = None,
        canva: Callable[[], CanvaClient] | None = None,
        video: Callable[[], VideoProvider] | None = None,
        canva_options: Mapping[str, Any] | None = None,
        media_dir: Path | None = None,
    ) -> None:
        self.db = db
        self.store = MediaStore(db)
        self.settings = settings
        self._library = library
        self._canva = canva
        self._video = video
        self.canva_options = dict(canva_options or {})
        self.media_dir = media_dir or settings.state_dir / "media"

    @property
    def library(self) -> PromptLibrary:
        if self._library is None:
            self._library = prompt_library_of(self.settings.home)
        return self._library

    # -- reading ------------------------------------------------------------------------------
    def get(self, request_id: str) -> MediaRequestView:
        return self.store.get(request_id)

    def list_requests(
        self, *, status: str | None = None, entity: str | None = None, limit: int = 200
    ) -> list[MediaRequestView]:
        return self.store.listing(status=status, entity=entity, limit=limit)

    # -- lifecycle ------------------------------------------------------------------------------
    def request(
        self,
        entity: str,
        prompt_id: str,
        overrides: Mapping[str, Any] | None = None,
        *,
        requested_by: str | None = None,
        run_id: str | None = None,
        step_path: str | None = None,
        idempotency_key: str | None = None,
        approved: bool = False,
    ) -> MediaRequestView:
        """Record a request (``requested``, or ``approved`` when approval already happened).

        With ``idempotency_key`` a repeated call returns the first request.
        An approved request is started at once.
        """
        prompt = self.library.get(prompt_id)
        over = dict(overrides or {})
        request_id = request_id_for(idempotency_key) if idempotency_key else new_id("med")
        params = {
            "overrides": over,
            "prompt_title": prompt.title,
            "prompt_entity": self.library.entity_of(prompt),
            "format": prompt.format,
            "start_key": f"{request_id}:start",
        }
        values = {
            "id": request_id,
            "entity": entity,
            "prompt_id": prompt_id,
            "kind": prompt.kind,
            "status": "approved" if approved else "requested",
            "cost_class": cost_class(prompt, over),
            "params": params,
            "run_id": run_id,
            "step_path": step_path,
            "requested_by": requested_by,
        }
        self.store.add(values)
        view = self.get(request_id)
        if view.status == "approved" or view.status == "starting":
            view = self.start(request_id)
        return view

    def approve(self, request_id: str, *, by: str) -> MediaRequestView:
        """A person approves the (paid) job; it starts at once (or on the next poll)."""
        self._decide(request_id, "approved", by=by)
        try:
            return self.start(request_id)
        except _TRANSIENT as exc:  # approved all the same; `poll` starts it later
            return self._note(self.get(request_id), exc)

    def reject(self, request_id: str, *, by: str, reason: str | None = None) -> MediaRequestView:
        self._decide(request_id, "rejected", by=by, error=reason or f"rejected by {by}")
        return self.get(request_id)

    def _decide(self, request_id: str, status: str, *, by: str, error: str | None = None) -> None:
        current = self.get(request_id)
        params = {**current.params, "decided_by": by, "decided_at": utcnow().isoformat()}
        if not self.store.decide(request_id, status, params=params, error=error):
            raise DecisionRefused(
                f"media request {request_id} is {self.get(request_id).status}, not awaiting "
                "approval"
            )

    def start(self, request_id: str) -> MediaRequestView:
        """Create the outside job of an approved request (again, if a start was cut short)."""
        view = self.get(request_id)
        if view.status == "requested":
            raise DecisionRefused(
                f"media request {request_id} is not approved yet; no paid job runs before approval"
            )
        if view.status not in ("approved", "starting"):
            return view
        if not self._swap(view, status="starting"):
            return self.get(request_id)
        prompt = self.library.get(view.prompt_id)
        try:
            if isinstance(prompt, CanvaPrompt):
                return self._start_canva(view, prompt)
            assert isinstance(prompt, SoraPrompt)
            return self._start_video(view, prompt)
        except _TRANSIENT:
            raise  # still `starting`: the next poll or call starts it with the same key
        except IntegrationError as exc:  # refused for good (auth, validation, provider gone)
            return self._fail(view.id, exc)
        # a missing connection or secret propagates and leaves the request `starting`:
        # once it is configured, the next call starts it with the same key

    def poll(self, request_id: str) -> MediaRequestView:
        """Advance a started request by one look at its job."""
        view = self.get(request_id)
        if view.status in ("approved", "starting"):
            try:
                return self.start(request_id)
            except _TRANSIENT as exc:
                return self._note(view, exc)
        if view.status != "running":
            return view
        try:
            if view.kind == "canva":
                return self._poll_canva(view)
            return self._poll_video(view)
        except _TRANSIENT as exc:
            return self._note(view, exc)
        except IntegrationError as exc:
            return self._fail(view.id, exc)

    def poll_all(self) -> list[MediaRequestView]:
        """Advance every unfinished, approved request (for ``tick`` and workers)."""
        pending = [
            v for s in ("approved", "starting", "running") for v in self.list_requests(status=s)
        ]
        return [self.poll(v.id) for v in pending]

    # -- canva ----------------------------------------------------------------------------------
    @contextmanager
    def _canva_client(self) -> Iterator[CanvaClient]:
        if self._canva is None:
            raise ConnectionNotConfigured(
                "no canva connection is configured for media requests",
                hint="add a `type: canva` connection to sops/connections.yaml "
                "(or run `sopbench sandbox`)",
            )
        client = self._canva()
        try:
            yield client
        finally:
            client.close()

    def _template_for(self, prompt: CanvaPrompt, overrides: Mapping[str, Any]) -> str | None:
        if overrides.get("brand_template_id"):
            return str(overrides["brand_template_id"])
        by_type = self.canva_options.get("brand_templates")
        if isinstance(by_type, Mapping) and by_type.get(prompt.design_type):
            return str(by_type[prompt.design_type])
        default = self.canva_options.get("brand_template_id")
        return str(default) if default else None

    def _start_canva(self, view: MediaRequestView, prompt: CanvaPrompt) -> MediaRequestView:
        overrides = view.params.get("overrides", {})
        template = self._template_for(prompt, overrides)
        key = view.params["start_key"]
        with self._canva_client() as canva:
            if template is not None:
                texts = overrides.get("text", {}) if isinstance(overrides.get("text"), dict) else {}
                data = {
                    slot: text_field(str(texts.get(slot, spec.example))[: spec.max_chars])
                    for slot, spec in prompt.text_slots.items()
                }
                job = canva.autofill(template, data, title=prompt.title, idempotency_key=key)
                return self._running(view, job.id, phase="design", brand_template_id=template)
            width, height = (int(p) for p in prompt.size.split("x"))
            design = canva.create_design(
                title=prompt.title,
                design_type={"type": "custom", "width": width, "height": height},
                idempotency_key=key,
            )
            export = canva.export(
                str(design["id"]), {"type": "png"}, idempotency_key=f"{view.id}:export"
            )
            return self._running(
                view, export.id, phase="export", design=_design_ref(design), blank=True
            )

    def _poll_canva(self, view: MediaRequestView) -> MediaRequestView:
        phase = view.params.get("phase")
        assert view.job_id is not None
        with self._canva_client() as canva:
            if phase == "design":
                job = canva.job("autofill", view.job_id)
                if not job.done:
                    return self._touch(view)
                if job.status == "failed":
                    return self._fail(view.id, canva.failure(job))
                assert job.design_id is not None and job.design is not None
                export = canva.export(
                    job.design_id, {"type": "png"}, idempotency_key=f"{view.id}:export"
                )
                return self._running(
                    view, export.id, phase="export", design=_design_ref(job.design)
                )
            job = canva.job("export", view.job_id)
            if not job.done:
                return self._touch(view)
            if job.status == "failed":
                return self._fail(view.id, canva.failure(job))
            files = self._keep(
                view.id,
                [(f"page-{n}.png", url) for n, url in enumerate(job.urls, 1)],
                canva.download,
            )
            return self._succeed(view, _canva_asset(view, job, files))

    # -- video ----------------------------------------------------------------------------------
    @contextmanager
    def _video_client(self) -> Iterator[VideoProvider]:
        if self._video is None:
            raise ConnectionNotConfigured(
                "no video connection is configured for media requests",
                hint="add a `type: video` connection to sops/connections.yaml "
                "(or run `sopbench sandbox`)",
            )
        client = self._video()
        try:
            yield client
        finally:
            client.close()

    def _start_video(self, view: MediaRequestView, prompt: SoraPrompt) -> MediaRequestView:
        over = view.params.get("overrides", {})
        text = prompt.text()
        if over.get("note"):
            text = f"{text}\n\n{over['note']}"
        with self._video_client() as video:
            job = video.create(
                text,
                model=str(over.get("model", prompt.model)),
                seconds=str(over.get("seconds", prompt.seconds)),
                size=str(over.get("size", prompt.size)),
                idempotency_key=view.params["start_key"],
            )
        return self._running(view, job.id, phase="video", provider=job.provider)

    def _poll_video(self, view: MediaRequestView) -> MediaRequestView:
        assert view.job_id is not None
        with self._video_client() as video:
            job = video.retrieve(view.job_id)
            if not job.done:
                return self._touch(view, progress=job.progress)
            if job.status == "failed":
                error = job.error or {}
                return self._fail(
                    view.id,
                    f"video job {job.id} failed: {error.get('code') or 'unknown'}: "
                    f"{error.get('message') or 'no message'}",
                )
            files = self._keep(
                view.id,
                [("video.mp4", "video"), ("thumbnail.webp", "thumbnail")],
                lambda variant: video.download(job.id, variant=variant),
            )
        return self._succeed(view, _video_asset(job, files))

    # -- storage ----------------------------------------------------------------------------------
    def _keep(
        self, request_id: str, items: list[tuple[str, str]], fetch: Callable[[str], bytes]
    ) -> list[str]:
        folder = self.media_dir / request_id
        folder.mkdir(parents=True, exist_ok=True)
        kept = []
        for name, source in items:
            path = folder / name
            if not path.exists():
                partial = path.with_suffix(path.suffix + ".part")
                partial.write_bytes(fetch(source))
                partial.replace(path)
            try:
                kept.append(path.relative_to(self.settings.home).as_posix())
            except ValueError:
                kept.append(str(path))
        return kept

    def _swap(self, view: MediaRequestView, **values: Any) -> bool:
        """Compare-and-set on (status, job_id): only one process moves a request."""
        return self.store.swap(view, **values)

    def _running(
        self, view: MediaRequestView, job_id: str, *, phase: str, **extra: Any
    ) -> MediaRequestView:
        current = self.get(view.id)
        params = {**current.params, "phase": phase, **extra}
        params.pop("last_error", None)
        self.store.running(view.id, job_id, params)
        return self.get(view.id)

    def _touch(self, view: MediaRequestView, **extra: Any) -> MediaRequestView:
        params = {k: v for k, v in view.params.items() if k != "last_error"}
        params.update(extra, polled_at=utcnow().isoformat())
        self.store.touch(view, params)  # only if nobody moved the request meanwhile
        return self.get(view.id)

    def _note(self, view: MediaRequestView, exc: Exception) -> MediaRequestView:
        logger.warning("media request %s: %s (will retry)", view.id, self._text(exc))
        return self._touch(view, last_error=self._text(exc))

    def _succeed(self, view: MediaRequestView, asset: dict[str, Any]) -> MediaRequestView:
        self.store.succeed(view.id, asset)
        return self.get(view.id)

    def _fail(self, request_id: str, error: Exception | str) -> MediaRequestView:
        text = error if isinstance(error, str) else self._text(error)
        self.store.fail(request_id, self.settings.secrets.redact(text))
        return self.get(request_id)

    def _text(self, exc: Exception) -> str:
        return self.settings.secrets.redact(str(exc))


def _design_ref(design: Mapping[str, Any]) -> dict[str, Any]:
    found = design.get("urls")
    urls: Mapping[str, Any] = found if isinstance(found, dict) else {}
    return {
        "id": design.get("id"),
        "title": design.get("title"),
        "edit_url": urls.get("edit_url"),
        "view_url": urls.get("view_url"),
    }


def _canva_asset(view: MediaRequestView, job: CanvaJob, files: list[str]) -> dict[str, Any]:
    design = view.params.get("design") or {}
    return {
        "kind": "canva",
        "design_id": design.get("id"),
        "edit_url": design.get("edit_url"),
        "view_url": design.get("view_url"),
        "blank": bool(view.params.get("blank")),
        "export": job.reference(),
        "files": files,
    }


def _video_asset(job: VideoJob, files: list[str]) -> dict[str, Any]:
    return {"kind": "sora", **job.reference(), "files": files}
