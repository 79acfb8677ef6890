"""Walking a run's steps: the same code runs a run for the first time and resumes it.

The walk goes through the SOP's steps in order. A step already finished in
the database is not run again: its stored result is put back into the
template context, so later templates see exactly what they saw before. The
first unfinished step is started (or resumed, or retried after a crash),
and the walk stops at the first step that has to wait.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from sopbench.engine.call import StepCall
from sopbench.engine.handlers import Blocks, Done, Outcome, StepHandler, Wait
from sopbench.errors import ExpressionError, SopbenchError, StepFailed
from sopbench.expressions import render_value, truthy
from sopbench.model.common import format_duration
from sopbench.model.sop import RetryPolicy, StepSpec
from sopbench.model.steps import nested_step_fields
from sopbench.simulated import lenient
from sopbench.store import utcnow
from sopbench.store.run_rows import RunRow, StepRow, jsonable
from sopbench.store.tables import HANDLER_WAIT_KINDS

if TYPE_CHECKING:
    from sopbench.engine.runner import Engine

__all__ = ["RunFailed", "Suspended", "Walk", "retry_wait"]

logger = logging.getLogger(__name__)


class Suspended(Exception):
    """Internal: the walk stopped at a step that waits."""


class _StepEnded(Exception):
    """Internal: the step ended early (recorded as failed with on_error: continue)."""


class RunFailed(Exception):
    """Internal: a step failed with ``on_error: fail``; the run fails."""

    def __init__(self, message: str, step_path: str) -> None:
        super().__init__(message)
        self.step_path = step_path


def _describe(exc: ValidationError) -> str:
    """The first problem of a rendered ``with``, as ``with.field: message``.

    When every alternative of a union failed (``over: str | list``), pydantic
    names each alternative as a path element; they are folded into one line
    (``with.over: expected a valid string or a valid list, got int``).
    """
    errors = exc.errors(include_url=False)
    first = errors[0]
    loc = [str(part) for part in first["loc"]]
    alternatives = [
        e
        for e in errors
        if len(e["loc"]) == len(loc) and [str(p) for p in e["loc"][:-1]] == loc[:-1]
    ]
    if len(loc) > 1 and len(alternatives) > 1:
        wanted = " or ".join(
            dict.fromkeys(e["msg"].removeprefix("Input should be ") for e in alternatives)
        )
        got = type(first["input"]).__name__
        return f"with.{'.'.join(loc[:-1])}: expected {wanted}, got {got}"
    where = "with" + "".join(f".{part}" for part in loc)
    return f"{where}: {first['msg']}"


def retry_wait(policy: RetryPolicy, attempt: int) -> timedelta:
    """The backoff after failed attempt number ``attempt``: doubling, capped, jittered."""
    wait: timedelta = min(policy.backoff * (2 ** (attempt - 1)), policy.max_backoff)
    if policy.jitter:
        wait = wait * random.uniform(0.5, 1.0)
    return wait


@dataclass
class Walk:
    """One drive of one run, from its stored state to its next wait or its end."""

    engine: Engine
    run: RunRow
    states: dict[str, StepRow]
    vars: dict[str, Any] = field(default_factory=dict)
    steps: dict[str, Any] = field(default_factory=dict)

    current: str | None = None
    """The path of the step being walked (the one a crash is blamed on)."""

    def __post_init__(self) -> None:
        self.vars = dict(self.run.vars)
        self._seq = len(self.states)

    # -- context -------------------------------------------------------------

    def context(self, scope: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "inputs": self.run.inputs,
            "vars": self.vars,
            "steps": self.steps,
            "entity": self.engine.entity_context(self.run.entity),
            "run": {
                "id": self.run.id,
                "sop_id": self.run.sop_id,
                "entity": self.run.entity,
                "started_by": self.run.started_by,
                "dry_run": self.run.dry_run,
                "parent_run_id": self.run.parent_run_id,
            },
            **scope,
        }

    # -- the walk ------------------------------------------------------------

    def block(self, steps: Sequence[StepSpec], prefix: str, scope: Mapping[str, Any]) -> None:
        for step in steps:
            self.step(step, f"{prefix}{step.id}", scope)

    def step(self, step: StepSpec, path: str, scope: Mapping[str, Any]) -> None:
        self.current = path
        row = self.states.get(path)
        if row is not None and row.status in ("succeeded", "skipped", "failed"):
            self._expose(step.id, row.result)
            return
        handler = self.engine.handlers.get(step.type)
        try:
            if row is None and not self._wanted(step, path, scope):
                return
            call = self._call(step, path, scope, handler, row)
        except _StepEnded:
            return
        if row is None and handler.effects and not self.run.dry_run:
            self._save(path, step, new=True, status="running", rendered=call.params, attempt=1)
            row = self.states[path]
        self.engine.hook("on_step_start", run_id=self.run.id, path=path, step=step)
        outcome = self._attempts(step, call, handler, row)
        self._finish(step, path, call, handler, outcome, scope, row)

    def _wanted(self, step: StepSpec, path: str, scope: Mapping[str, Any]) -> bool:
        if step.when is None:
            return True
        try:
            wanted = render_value(step.when, self.context(scope))
        except ExpressionError as exc:
            self._fail_step(step, path, f"`when`: {exc.message}", None, new=True)
            raise _StepEnded(path) from None
        if truthy(wanted):
            return True
        self._save(path, step, new=True, status="skipped", result={"skipped": True}, finished=True)
        self.steps[step.id] = {"skipped": True}
        return False

    def _call(
        self,
        step: StepSpec,
        path: str,
        scope: Mapping[str, Any],
        handler: StepHandler,
        row: StepRow | None,
    ) -> StepCall:
        raw = row.rendered if row is not None else self._render(step, path, scope, handler)
        try:
            params = handler.Params.model_validate(raw)
        except ValidationError as exc:
            self._fail_step(step, path, _describe(exc), raw, new=row is None)
            raise _StepEnded(path) from None
        memo = row.result if row is not None and row.status == "waiting" else {}
        return StepCall(
            run=self.run,
            path=path,
            step=step,
            params=params,
            attempt=row.attempt if row is not None else 1,
            started_at=row.started_at if row is not None else utcnow(),
            services=self.engine,
            memo=dict(memo or {}),
        )

    def _render(
        self, step: StepSpec, path: str, scope: Mapping[str, Any], handler: StepHandler
    ) -> Any:
        skip = frozenset(nested_step_fields(handler.Params))
        try:
            return jsonable(render_value(step.with_, self.context(scope), skip=skip))
        except ExpressionError as exc:
            self._fail_step(step, path, exc.message, None, new=True)
            raise _StepEnded(path) from None

    def _attempts(
        self, step: StepSpec, call: StepCall, handler: StepHandler, row: StepRow | None
    ) -> Outcome | SopbenchError:
        """One attempt of the step; a failure with tries left waits durably for the next.

        Only sopbench's own errors fail a step. Anything else a handler raises
        is a bug or an unknown outcome: it propagates, and the engine records
        the run as crashed (see :mod:`sopbench.engine.crashes`).
        """
        policy = step.retry or RetryPolicy(max_attempts=1)
        waiting = row is not None and row.status == "waiting"
        try:
            if self.run.dry_run:
                return handler.simulate(call)
            if waiting:
                return handler.resume(call)
            if handler.effects:
                with self.engine.lease_kept(self.run.id):
                    return handler.run(call)
            return handler.run(call)
        except SopbenchError as exc:
            error: SopbenchError = exc
        if call.attempt >= policy.max_attempts:
            return error
        return self._retry_later(step, call, policy, error, row)

    def _retry_later(
        self,
        step: StepSpec,
        call: StepCall,
        policy: RetryPolicy,
        error: SopbenchError,
        row: StepRow | None,
    ) -> SopbenchError:
        """Park the run until the next attempt is due (raises Suspended), or fail the step
        when the service asks for a longer wait than the policy allows."""
        wait = retry_wait(policy, call.attempt)
        # A service that said how long to wait (429/503 Retry-After) is obeyed
        # within max_backoff: retrying sooner only gets refused again.
        asked = getattr(error, "retry_after", None)
        if isinstance(asked, int | float) and asked > 0:
            if timedelta(seconds=asked) > policy.max_backoff:
                asked_for = format_duration(timedelta(seconds=round(asked)))
                return StepFailed(
                    f"{error} (the service asked to wait {asked_for} by Retry-After, longer "
                    f"than the step's retry.max_backoff of {format_duration(policy.max_backoff)};"
                    " not retried)",
                    hint="raise retry.max_backoff (at most 24h) or run the SOP again later",
                )
            wait = max(wait, timedelta(seconds=asked))
        new = row is None and call.path not in self.states
        if new:
            self._seq += 1
        call.attempt += 1
        logger.info(
            "run %s: step %s failed (%s); attempt %d in %.1f s",
            self.run.id,
            call.path,
            self.engine.redact(str(error)),
            call.attempt,
            wait.total_seconds(),
            extra={"run_id": self.run.id, "step_id": step.id},
        )
        self.engine.wait_for_retry(
            self,
            call.path,
            step,
            new=new,
            seq=self._seq,
            attempt=call.attempt,
            rendered=call.params,
            error=str(error),
            wait=wait,
        )
        raise Suspended(call.path)

    def _finish(
        self,
        step: StepSpec,
        path: str,
        call: StepCall,
        handler: StepHandler,
        outcome: Outcome | SopbenchError,
        scope: Mapping[str, Any],
        row: StepRow | None,
    ) -> None:
        new = row is None
        if isinstance(outcome, SopbenchError):
            message = self.engine.redact(str(outcome))
            # the stored text stays what the step said; the error learns where it happened
            outcome.run_id = outcome.run_id or self.run.id
            outcome.step_id = outcome.step_id or step.id
            outcome.sop_id = outcome.sop_id or self.run.sop_id
            logger.warning(
                "run %s: step %s failed: %s",
                self.run.id,
                path,
                message,
                extra={"run_id": self.run.id, "step_id": step.id, "sop_id": self.run.sop_id},
            )
            self._fail_step(step, path, message, call.params, new=new, attempt=call.attempt)
            return
        if isinstance(outcome, Wait) and outcome.kind not in HANDLER_WAIT_KINDS:
            self._fail_step(
                step,
                path,
                f"step type {step.type!r} asked to wait for {outcome.kind!r}, which is not "
                f"a wait sopbench knows (one of: {', '.join(HANDLER_WAIT_KINDS)})",
                call.params,
                new=new,
                attempt=call.attempt,
            )
            return
        if isinstance(outcome, Wait):
            self._save(
                path,
                step,
                new=new,
                status="waiting",
                rendered=call.params,
                result=dict(outcome.detail),
                attempt=call.attempt,
            )
            self.engine.mark_waiting(self, path, outcome)
            raise Suspended(path)
        if isinstance(outcome, Blocks):
            if new:
                self._save(
                    path,
                    step,
                    new=True,
                    status="running",
                    rendered=call.params,
                    attempt=call.attempt,
                )
            results = []
            try:
                for block in outcome.blocks:
                    self.block(block.steps, f"{path}{block.label}.", {**scope, **block.scope})
                    results.append({s.id: self.steps.get(s.id) for s in block.steps})
            except RunFailed as failure:
                # A nested step failed: so did this step (and its own on_error decides).
                self._save(
                    path,
                    step,
                    new=False,
                    status="failed",
                    result={"error": str(failure), "failed": True},
                    error=str(failure),
                    attempt=call.attempt,
                    finished=True,
                )
                self.steps[step.id] = {"error": str(failure), "failed": True}
                if step.on_error == "fail":
                    raise
                return
            self._finish(
                step, path, call, handler, handler.collect(call, results), scope, self.states[path]
            )
            return
        self._succeed(step, path, call, outcome, new=new)

    def _succeed(
        self, step: StepSpec, path: str, call: StepCall, outcome: Done, *, new: bool
    ) -> None:
        # Later steps see what the database keeps (secrets masked), never more:
        # a secret echoed back by a service must not flow into the next message.
        result = self.engine.clean(dict(outcome.result))
        if outcome.vars:
            self.vars.update(self.engine.clean(dict(outcome.vars)))
        self._save(
            path,
            step,
            new=new,
            status="succeeded",
            rendered=call.params,
            result=result,
            attempt=call.attempt,
            finished=True,
            vars_changed=bool(outcome.vars),
        )
        self._expose(step.id, result)

    def _expose(self, step_id: str, result: Any) -> None:
        """Make a step's result readable by later templates as ``steps.<id>``.

        A dry-run knows no real responses: its results read leniently (see
        :mod:`sopbench.simulated`) so later templates render placeholders.
        """
        self.steps[step_id] = lenient(result, f"steps.{step_id}") if self.run.dry_run else result

    def _fail_step(
        self, step: StepSpec, path: str, message: str, params: Any, *, new: bool, attempt: int = 1
    ) -> None:
        self._save(
            path,
            step,
            new=new,
            status="failed",
            rendered=params,
            result={"error": message, "failed": True},
            error=message,
            attempt=attempt,
            finished=True,
        )
        self.steps[step.id] = {"error": message, "failed": True}
        if step.on_error == "fail":
            raise RunFailed(f"step '{step.id}' failed: {message}", path)

    def _save(self, path: str, step: StepSpec, *, new: bool, status: str, **values: Any) -> None:
        self._write(path, step, new=new, status=status, **values)
        if status in ("succeeded", "failed", "skipped"):
            self.engine.hook("on_step_end", run_id=self.run.id, path=path, step=step, status=status)

    def _write(self, path: str, step: StepSpec, *, new: bool, status: str, **values: Any) -> None:
        if new:
            self._seq += 1
        self.states[path] = self.engine.save_step(
            self,
            path,
            step,
            new=new and path not in self.states,
            status=status,
            seq=self._seq,
            **values,
        )
