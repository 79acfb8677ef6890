"""Step handlers: the interface, the outcomes they return, and the registry.

A handler turns one step's rendered, validated ``with`` into an outcome. The
engine never names a step type: it looks the handler up by type name and
acts on the outcome alone.

* :class:`Done` — the step finished; ``result`` becomes ``steps.<id>``.
* :class:`Wait` — the run must pause (a person, a delay, a child run...);
  the engine persists the wait and calls :meth:`StepHandler.resume` later.
* :class:`Blocks` — nested steps to run (a branch, loop iterations); when
  they are done the engine calls :meth:`StepHandler.collect`.

Which step types exist is said once, by the table of
:mod:`sopbench.model.registry` (built-ins plus the ``sopbench.steps`` entry
points, read on first use, never at import); :class:`HandlerRegistry` makes
each type's handler from it when a run first needs one.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from sopbench.errors import ConfigError, NotFound
from sopbench.model.registry import StepType, StepTypes, step_types
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
    "make_handler",
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
    """Step type name → handler, made on first lookup from the table of step types.

    The table (:func:`~sopbench.model.registry.step_types` unless given) says
    which types exist; this only turns a type's handler reference into one
    handler object per registry, so the engine imports a step module when a
    run first needs it and never by name.
    """

    def __init__(self, types: StepTypes | None = None) -> None:
        self._types = types
        self._handlers: dict[str, StepHandler] = {}
        self._lock = threading.Lock()

    @property
    def types(self) -> StepTypes:
        if self._types is None:
            self._types = step_types()
        return self._types

    def get(self, name: str) -> StepHandler:
        handler = self._handlers.get(name)
        if handler is not None:
            return handler
        kind = self.types.get(name)
        if kind is None:
            raise NotFound(
                f"no handler for step type {name!r}",
                hint="`sopbench schema` lists the step types; install the package declaring it",
            )
        with self._lock:
            if name not in self._handlers:
                self._handlers[name] = make_handler(kind)
            return self._handlers[name]

    def names(self) -> list[str]:
        return self.types.names()


def make_handler(kind: StepType) -> StepHandler:
    """The handler of ``kind``: its reference imported, a class instantiated."""
    target = kind.handler
    if isinstance(target, str):
        module, _, attribute = target.partition(":")
        try:
            target = getattr(importlib.import_module(module), attribute)
        except (ImportError, AttributeError) as exc:
            raise ConfigError(
                f"step type {kind.name!r} from {kind.source}: cannot import {kind.handler}",
                hint="reinstall sopbench",
            ) from exc
    handler = target() if isinstance(target, type) else target
    if not isinstance(handler, StepHandler):
        raise ConfigError(
            f"step type {kind.name!r} from {kind.source} is not a step handler",
            hint="a handler has Params, effects, run, resume, collect and simulate",
        )
    # Validation used the table's model; the engine validates with the
    # handler's: they must be one and the same.
    if handler.Params is not kind.params:
        raise ConfigError(
            f"step type {kind.name!r} from {kind.source}: the handler's Params "
            f"({handler.Params.__name__}) is not the table's ({kind.params.__name__})",
            hint="declare the model once, as the handler's Params",
        )
    return handler
