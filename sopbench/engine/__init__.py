"""The durable run engine: run state machine, leases, journal, human tasks."""

from sopbench.engine.call import StepCall, idempotency_key
from sopbench.engine.crashes import CrashPolicy
from sopbench.engine.handlers import (
    Block,
    Blocks,
    Done,
    HandlerRegistry,
    Outcome,
    StepHandler,
    Wait,
)
from sopbench.engine.runner import Engine, LeaseLost
from sopbench.store.run_rows import RunRow, StepRow
from sopbench.store.runs import RunStore
from sopbench.store.tasks import Decision, TaskStore

__all__ = [
    "Block",
    "Blocks",
    "CrashPolicy",
    "Decision",
    "Done",
    "Engine",
    "HandlerRegistry",
    "LeaseLost",
    "Outcome",
    "RunRow",
    "RunStore",
    "StepCall",
    "StepHandler",
    "StepRow",
    "TaskStore",
    "Wait",
    "idempotency_key",
]
