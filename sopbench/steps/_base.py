"""Shared base of the built-in step handlers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from sopbench.engine.call import StepCall
from sopbench.engine.handlers import Done, Outcome
from sopbench.expressions import truthy
from sopbench.model.steps import StepParams

__all__ = ["BaseHandler", "truthy"]


class BaseHandler:
    """Defaults: resuming re-runs, nested results are ignored, dry-run runs for real.

    Handlers with outside effects set ``effects = True`` and override
    :meth:`simulate`, so a dry-run never calls out.
    """

    Params: ClassVar[type[StepParams]]
    effects: ClassVar[bool] = False

    def run(self, call: StepCall) -> Outcome:  # pragma: no cover - every handler overrides it
        raise NotImplementedError

    def resume(self, call: StepCall) -> Outcome:
        return self.run(call)

    def collect(self, call: StepCall, results: Sequence[Mapping[str, Any]]) -> Outcome:
        return Done({})

    def simulate(self, call: StepCall) -> Outcome:
        return self.run(call)
