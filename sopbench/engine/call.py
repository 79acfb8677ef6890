"""What a step handler receives: :class:`StepCall`, and the services behind it."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from sopbench.model.sop import StepSpec
from sopbench.model.steps import StepParams

if TYPE_CHECKING:
    from sopbench.config import Settings
    from sopbench.library import Workspace
    from sopbench.store.run_rows import RunRow
    from sopbench.store.task_rows import TaskRow

__all__ = ["RunServices", "StepCall", "idempotency_key"]

P = TypeVar("P", bound=StepParams)


def idempotency_key(run_id: str, path: str, name: str = "") -> str:
    """The key of one outside effect: the same on every retry and after recovery."""
    digest = hashlib.sha256(f"{run_id}\x00{path}\x00{name}".encode()).hexdigest()[:32]
    return f"sb-{digest}"


class RunServices(Protocol):
    """Engine services a handler may use (implemented by the engine)."""

    workspace: Workspace
    settings: Settings

    def effect(
        self,
        call: StepCall,
        name: str,
        request: Mapping[str, Any],
        perform: Callable[[str], Mapping[str, Any]],
    ) -> dict[str, Any]: ...

    def create_task(self, call: StepCall, **fields: Any) -> str: ...

    def task(self, task_id: str) -> TaskRow: ...

    def expire_task(self, call: StepCall, task_id: str) -> bool: ...

    def start_child(self, call: StepCall, sop_id: str, inputs: Mapping[str, Any]) -> str: ...

    def run_summary(self, run_id: str) -> Mapping[str, Any]: ...

    def client(self, kind: str, connection: str | None) -> Any: ...

    def now(self) -> datetime: ...

    def entity_context(self, entity_id: str) -> dict[str, Any]: ...


@dataclass
class StepCall:
    """One execution (or resumption) of one step of one run."""

    run: RunRow
    path: str
    step: StepSpec
    params: StepParams
    attempt: int
    started_at: datetime
    services: RunServices
    memo: dict[str, Any] = field(default_factory=dict)
    """Data the handler left while waiting (task id, child run id...)."""

    @property
    def dry_run(self) -> bool:
        return self.run.dry_run

    @property
    def timeout(self) -> timedelta | None:
        return self.step.timeout

    @property
    def idempotency_key(self) -> str:
        return idempotency_key(self.run.id, self.path)

    def typed(self, model: type[P]) -> P:
        """``params`` as the handler's own model (narrows the type for mypy)."""
        if not isinstance(self.params, model):  # pragma: no cover - engine guarantees it
            raise TypeError(f"expected {model.__name__}, got {type(self.params).__name__}")
        return self.params

    def effect(
        self, name: str, request: Mapping[str, Any], perform: Callable[[str], Mapping[str, Any]]
    ) -> dict[str, Any]:
        """Run an outside effect once: intent recorded first, outcome after.

        ``perform`` receives the idempotency key to send along. After a crash
        the same key is used again; a recorded outcome is returned without
        calling out a second time.
        """
        return self.services.effect(self, name, request, perform)
