"""``media_request``: a Canva image or Sora 2 video from a library prompt.

A person approves first (no paid job runs without it); then the job is
created through the media integration and, unless ``wait: false``, the run
waits for the asset.
"""

from __future__ import annotations

from datetime import timedelta

from sopbench.engine.call import StepCall
from sopbench.engine.handlers import Done, Outcome, Wait
from sopbench.errors import StepFailed
from sopbench.model.steps import MediaRequestParams
from sopbench.steps._base import BaseHandler

__all__ = ["MediaRequest"]

_POLL = timedelta(seconds=15)


class MediaRequest(BaseHandler):
    Params = MediaRequestParams
    effects = True

    def run(self, call: StepCall) -> Outcome:
        params = call.typed(MediaRequestParams)
        task_id = call.services.create_task(
            call,
            kind="media",
            title=f"Approve media request {params.prompt_id}",
            description="A paid image/video job starts once this is approved.",
            approvers=list(params.approvers),
            required=1,
            form={},
        )
        return Wait("media", detail={"task_id": task_id, "phase": "approval"})

    def resume(self, call: StepCall) -> Outcome:
        params = call.typed(MediaRequestParams)
        memo = dict(call.memo)
        if memo.get("phase") == "approval":
            task = call.services.task(memo["task_id"])
            if task.status == "open":
                return Wait("media", detail=memo)
            if task.status != "approved":
                raise StepFailed(
                    f"media request {params.prompt_id} was {task.status}; no job was started"
                )
            media = call.services.client("media", params.connection)
            job = call.effect(
                "media-job",
                {"prompt_id": params.prompt_id, "overrides": params.overrides},
                lambda key: media.request(
                    call.run.entity,
                    params.prompt_id,
                    params.overrides,
                    run_id=call.run.id,
                    idempotency_key=key,
                ),
            )
            memo = {"phase": "job", "request_id": job["request_id"]}
            if not params.wait:
                return Done({"request_id": job["request_id"], "asset": None})
        media = call.services.client("media", params.connection)
        status = media.status(memo["request_id"])
        if status.get("asset"):
            return Done({"request_id": memo["request_id"], "asset": status["asset"]})
        if status.get("status") == "failed":
            raise StepFailed(f"media job {memo['request_id']} failed: {status.get('error')}")
        return Wait("media", wake_at=call.services.now() + _POLL, detail=memo)

    def simulate(self, call: StepCall) -> Outcome:
        params = call.typed(MediaRequestParams)
        return Done({"request_id": f"dry-run-{params.prompt_id}", "asset": None, "simulated": True})
