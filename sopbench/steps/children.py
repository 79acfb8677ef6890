"""``cross_entity_trigger``: start another SOP (any entity) as a child run."""

from __future__ import annotations

from datetime import timedelta

from sopbench.engine.call import StepCall
from sopbench.engine.handlers import Done, Outcome, Wait
from sopbench.errors import StepFailed
from sopbench.model.steps import CrossEntityTriggerParams
from sopbench.steps._base import BaseHandler

__all__ = ["CrossEntityTrigger"]

# A finished child marks its parent ready at once; this is the safety net when
# the child finished on another machine between the parent's checks.
_RECHECK = timedelta(seconds=30)


class CrossEntityTrigger(BaseHandler):
    """The child's id is derived from parent run + step path: a retry never starts two."""

    Params = CrossEntityTriggerParams

    def run(self, call: StepCall) -> Outcome:
        params = call.typed(CrossEntityTriggerParams)
        child = call.services.start_child(call, params.sop, params.inputs)
        if not params.wait:
            return Done({"run_id": child, "status": "pending", "outputs": {}})
        return Wait("child", wake_at=call.services.now() + _RECHECK, detail={"run_id": child})

    def resume(self, call: StepCall) -> Outcome:
        child = call.memo.get("run_id")
        if not child:
            return self.run(call)
        summary = call.services.run_summary(child)
        if summary["status"] == "succeeded":
            return Done({"run_id": child, "status": "succeeded", "outputs": summary["outputs"]})
        if summary["status"] in ("failed", "cancelled"):
            raise StepFailed(
                f"child run {child} {summary['status']}: {summary.get('error') or ''}".rstrip(": ")
            )
        return Wait("child", wake_at=call.services.now() + _RECHECK, detail={"run_id": child})

    def simulate(self, call: StepCall) -> Outcome:
        # A dry-run parent dry-runs its child too: both are simulated end to end.
        return self.resume(call) if call.memo.get("run_id") else self.run(call)
