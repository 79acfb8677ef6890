"""Structural and data steps: transform, condition, loop, validation, delay."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sopbench.cron import load_zone
from sopbench.engine.call import StepCall
from sopbench.engine.handlers import Block, Blocks, Done, Outcome, Wait
from sopbench.errors import StepFailed
from sopbench.expressions import analyse
from sopbench.model.steps import (
    ConditionParams,
    DelayParams,
    LoopParams,
    TransformParams,
    ValidationParams,
)
from sopbench.simulated import is_simulated
from sopbench.steps._base import BaseHandler, truthy

__all__ = ["Condition", "Delay", "Loop", "Transform", "Validation"]


class Transform(BaseHandler):
    """``set`` values into ``vars``; the result holds the same values."""

    Params = TransformParams

    def run(self, call: StepCall) -> Outcome:
        values = dict(call.typed(TransformParams).set)
        return Done(values, vars=values)


class Condition(BaseHandler):
    Params = ConditionParams

    def _branch(self, call: StepCall) -> str:
        return "then" if truthy(call.typed(ConditionParams).if_) else "else"

    def run(self, call: StepCall) -> Outcome:
        branch = self._branch(call)
        return Blocks([Block("", call.step.children.get(branch, []))])

    def collect(self, call: StepCall, results: Sequence[Mapping[str, Any]]) -> Outcome:
        return Done({"branch": self._branch(call)})


class Loop(BaseHandler):
    """Nested steps once per item; paths are ``loop_id[3].child_id``."""

    Params = LoopParams

    def _items(self, call: StepCall) -> list[Any]:
        params = call.typed(LoopParams)
        items = params.over
        if call.dry_run and is_simulated(items):
            return []  # a list only a real run would know: the dry-run loops zero times
        if not isinstance(items, list):
            raise StepFailed(f"`over` must give a list, got {type(items).__name__}")
        if len(items) > params.max_items:
            raise StepFailed(
                f"`over` has {len(items)} items, more than max_items {params.max_items}"
            )
        return items

    def run(self, call: StepCall) -> Outcome:
        params = call.typed(LoopParams)
        steps = call.step.children.get("steps", [])
        return Blocks(
            [Block(f"[{i}]", steps, {params.as_: item}) for i, item in enumerate(self._items(call))]
        )

    def collect(self, call: StepCall, results: Sequence[Mapping[str, Any]]) -> Outcome:
        return Done({"items": self._items(call), "results": list(results)})


class Validation(BaseHandler):
    """Every failing rule's message, at once."""

    Params = ValidationParams

    def run(self, call: StepCall) -> Outcome:
        failing = [
            rule.message for rule in call.typed(ValidationParams).rules if not truthy(rule.check)
        ]
        if failing:
            raise StepFailed("validation failed: " + "; ".join(failing))
        return Done({"passed": True})

    def simulate(self, call: StepCall) -> Outcome:
        """Rules on inputs are enforced; a failing rule that reads ``steps.*`` is only
        reported: a dry-run has no real step data to judge it by."""
        raw_rules = call.step.with_.get("rules", []) if isinstance(call.step.with_, dict) else []
        failing, unchecked = [], []
        for index, rule in enumerate(call.typed(ValidationParams).rules):
            if truthy(rule.check):
                continue
            raw = raw_rules[index] if index < len(raw_rules) else {}
            source = raw.get("check") if isinstance(raw, dict) else None
            reads = analyse(source).steps if isinstance(source, str) else []
            if reads:
                unchecked.append(f"{rule.message} (needs real data from steps.{reads[0][0]})")
            else:
                failing.append(rule.message)
        if failing:
            raise StepFailed("validation failed: " + "; ".join(failing))
        return Done({"passed": True, "simulated": True, "unchecked": unchecked})


class Delay(BaseHandler):
    """A durable wait: the run is parked with ``wake_at``; any worker wakes it."""

    Params = DelayParams

    def _wake_at(self, call: StepCall) -> datetime:
        params = call.typed(DelayParams)
        if params.duration is not None:
            return call.started_at + params.duration
        text = str(params.until)
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise StepFailed(f"`until` is not a date-time: {text!r}") from None
        if moment.tzinfo is None:
            entity = call.services.entity_context(call.run.entity)
            moment = moment.replace(tzinfo=load_zone(entity.get("timezone", "UTC")))
        return moment

    def run(self, call: StepCall) -> Outcome:
        wake = call.memo.get("wake_at")
        wake_at = datetime.fromisoformat(wake) if wake else self._wake_at(call)
        now = call.services.now()
        if now >= wake_at:
            return Done({"resumed_at": now.isoformat()})
        return Wait("delay", wake_at=wake_at, detail={"wake_at": wake_at.isoformat()})

    def simulate(self, call: StepCall) -> Outcome:
        return Done({"resumed_at": self._wake_at(call).isoformat(), "simulated": True})
