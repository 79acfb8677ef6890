"""Step handlers: the interface, the outcomes they return, and the registry.

A handler turns one step's rendered, validated ``with`` into an outcome. The
engine never names a step type: it looks the handler up by type name and
acts on the outcome alone.

* :class:`Done` — the step finished; ``result`` becomes ``steps.<id>``.
* :class:`Wait` — the run must pause (a person, a delay, a child run...);
  the engine persists the wait and calls :meth:`StepHandler.resume` later.
* :class:`Blocks` — nested steps to run (a branch, loop iterations); when
  they are done the engine calls :meth:`StepHandler.collect`.

Handlers are registered with :meth:`HandlerRegistry.register`; third-party
step types come from the ``sopbench.steps`` entry-point group, read on first
use (never at import).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from sopbench.errors import ConfigError, NotFound
from sopbench.model.registry import ENTRY_POINT_GROUP
from sopbench.model.sop import StepSpec
from sopbench.model.steps import StepParams

if TYPE_CHECKING:
    from sopbench.engine.call import StepCall

__all__ = [
    "Block",
    "Blocks",
    "Done",
    "HandlerRegistry",
    "Outcome",
    "StepHandler",
    "Wait",
]


@dataclass(frozen=True)
class Done:
    """The step finished with ``result``; ``vars`` are merged into the run's vars."""

    result: Mapping[str, Any] = field(default_factory=dict)
    vars: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Wait:
    """The run pauses; ``kind`` is approval, manual, delay, child, review or media."""

    kind: str
    wake_at: datetime | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Block:
    """Nested steps to run, under ``label`` (``""`` or ``"[3]"``) with extra names."""

    label: str
    steps: Sequence[StepSpec]
    scope: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Blocks:
    """Run these blocks in order, then call the handler's ``collect``."""

    blocks: Sequence[Block]


Outcome = Done | Wait | Blocks


@runtime_checkable
class StepHandler(Protocol):
    """What every step type implements."""

    Params: ClassVar[type[StepParams]]
    effects: ClassVar[bool]
    """True when the step changes something outside sopbench (and so its start
    is committed before it runs, and dry-run simulates it)."""

    def run(self, call: StepCall) -> Outcome: ...

    def resume(self, call: StepCall) -> Outcome: ...

    def collect(self, call: StepCall, results: Sequence[Mapping[str, Any]]) -> Outcome: ...

    def simulate(self, call: StepCall) -> Outcome: ...


class HandlerRegistry:
    """Step type name → handler; entry points are loaded on first lookup."""

    def __init__(self) -> None:
        self._handlers: dict[str, StepHandler] = {}
        self._entry_points_loaded = False

    def register(self, name: str, handler: StepHandler) -> None:
        if name in self._handlers:
            raise ConfigError(f"step type {name!r} is registered twice")
        self._handlers[name] = handler

    def _load_entry_points(self) -> None:
        self._entry_points_loaded = True
        for point in entry_points(group=ENTRY_POINT_GROUP):
            if point.name not in self._handlers:
                handler = point.load()
                self.register(point.name, handler() if isinstance(handler, type) else handler)

    def get(self, name: str) -> StepHandler:
        if name not in self._handlers and not self._entry_points_loaded:
            self._load_entry_points()
        try:
            return self._handlers[name]
        except KeyError:
            raise NotFound(f"no handler for step type {name!r}") from None

    def names(self) -> list[str]:
        if not self._entry_points_loaded:
            self._load_entry_points()
        return sorted(self._handlers)
