"""The one table of step types: name → ``with`` model + handler factory.

Validation needs each type's ``with`` model; the engine needs its handler.
Both read this table, so a type cannot be known to one and not the other.
The table sits at the model layer and names each built-in handler by a
reference (``"sopbench.steps.flow:Loop"``) that only the engine resolves
(:mod:`sopbench.engine.handlers`), so validating a workspace never imports
a step handler.

Third-party packages add types through the ``sopbench.steps`` entry-point
group; each entry point names a handler class (or instance) with a
``Params`` attribute, a :class:`~sopbench.model.steps.StepParams` subclass::

    [project.entry-points."sopbench.steps"]
    stock_check = "acme_sopbench.steps:StockCheck"

Entry points are read once per table, on first use, never at import time.
A name declared twice (a plugin clashing with a built-in or with another
plugin) is refused with the same :class:`~sopbench.errors.ConfigError`
wherever the table is consulted: validation, the schema, the engine.

:func:`step_types` is the process's table. It is kept per ``sys.path``, the
only input of entry-point discovery, so a test that puts a ``*.dist-info``
folder on the path (``monkeypatch.syspath_prepend``) sees its plugins and
the table goes back to the plain one when the path is restored, with no
cache to clear.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from importlib.metadata import EntryPoint, entry_points

from sopbench.errors import ConfigError
from sopbench.model.steps import (
    ApiCallParams,
    ApprovalParams,
    ConditionParams,
    ContentGenerateParams,
    CreateRecordParams,
    CreateTaskParams,
    CrossEntityTriggerParams,
    DelayParams,
    FieldUpdateParams,
    LoopParams,
    ManualParams,
    MediaRequestParams,
    NotebookParams,
    NotificationParams,
    SocialPostParams,
    StepParams,
    TransformParams,
    ValidationParams,
    WebhookParams,
)

__all__ = [
    "BUILTIN_SOURCE",
    "BUILTIN_STEP_TYPES",
    "ENTRY_POINT_GROUP",
    "StepType",
    "StepTypes",
    "step_param_models",
    "step_types",
]

logger = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "sopbench.steps"
BUILTIN_SOURCE = "sopbench (built-in)"


@dataclass(frozen=True)
class StepType:
    """One step type: its ``with`` model, its handler and who declared it."""

    name: str
    params: type[StepParams]
    handler: object
    """A ``"module:attribute"`` reference (built-ins, resolved by the engine on
    first use), or the handler class or instance an entry point loaded."""
    source: str
    """Who declared the type, for error messages: ``sopbench (built-in)`` or
    ``entry point 'name = pkg.mod:Obj' of dist 1.2``."""


def _builtin(name: str, params: type[StepParams], handler: str) -> StepType:
    return StepType(name, params, f"sopbench.steps.{handler}", BUILTIN_SOURCE)


BUILTIN_STEP_TYPES: tuple[StepType, ...] = (
    _builtin("manual", ManualParams, "human:Manual"),
    _builtin("approval", ApprovalParams, "human:Approval"),
    _builtin("notification", NotificationParams, "notify:Notification"),
    _builtin("validation", ValidationParams, "flow:Validation"),
    _builtin("create_task", CreateTaskParams, "crm:CreateTask"),
    _builtin("create_record", CreateRecordParams, "crm:CreateRecord"),
    _builtin("field_update", FieldUpdateParams, "crm:FieldUpdate"),
    _builtin("api_call", ApiCallParams, "http:ApiCall"),
    _builtin("webhook", WebhookParams, "http:Webhook"),
    _builtin("condition", ConditionParams, "flow:Condition"),
    _builtin("loop", LoopParams, "flow:Loop"),
    _builtin("delay", DelayParams, "flow:Delay"),
    _builtin("transform", TransformParams, "flow:Transform"),
    _builtin("content_generate", ContentGenerateParams, "content:ContentGenerate"),
    _builtin("social_post", SocialPostParams, "content:SocialPost"),
    _builtin("media_request", MediaRequestParams, "media:MediaRequest"),
    _builtin("cross_entity_trigger", CrossEntityTriggerParams, "children:CrossEntityTrigger"),
    _builtin("notebook", NotebookParams, "notebook:Notebook"),
)
"""The built-in step types, in the order the docs list them."""


def _describe(point: EntryPoint) -> str:
    dist = point.dist
    owner = f" of {dist.name} {dist.version}" if dist is not None else ""
    return f"entry point '{point.name} = {point.value}'{owner}"


def _from_entry_point(point: EntryPoint) -> StepType:
    """The step type an entry point declares, or a ConfigError saying what is wrong."""
    source = _describe(point)
    try:
        handler = point.load()
    except Exception as exc:  # any import failure of a plugin is a configuration problem
        raise ConfigError(
            f"step type {point.name!r} from {source} cannot be loaded: {type(exc).__name__}: {exc}",
            hint="fix or uninstall the package that declares it",
        ) from exc
    params = getattr(handler, "Params", None)
    if not (isinstance(params, type) and issubclass(params, StepParams)):
        raise ConfigError(
            f"step type {point.name!r} from {source} has no `Params` model",
            hint="give the handler a `Params` class derived from sopbench's StepParams",
        )
    return StepType(point.name, params, handler, source)


def _add(table: dict[str, StepType], kind: StepType) -> None:
    known = table.get(kind.name)
    if known is not None:
        raise ConfigError(
            f"step type {kind.name!r} is declared twice: by {known.source} and by {kind.source}",
            hint="rename the third-party step type, or uninstall one of the two packages",
        )
    table[kind.name] = kind


class StepTypes:
    """A table of step types: the built-ins, then the entry points (read on first use).

    ``entry_points=False`` gives the built-ins alone (tests, docs).
    """

    def __init__(
        self,
        builtins: Iterable[StepType] = BUILTIN_STEP_TYPES,
        *,
        entry_points: bool = True,
        group: str = ENTRY_POINT_GROUP,
    ) -> None:
        self._types: dict[str, StepType] = {}
        for kind in builtins:
            _add(self._types, kind)
        self._group = group
        self._pending = entry_points
        self._lock = threading.Lock()
        self._params: dict[str, type[StepParams]] | None = None

    def _loaded(self) -> dict[str, StepType]:
        if self._pending:
            with self._lock:
                if self._pending:
                    self._load_entry_points()
        return self._types

    def _load_entry_points(self) -> None:
        # Built into a copy: a refused plugin leaves the table unread, so every
        # later lookup raises the same error instead of half a table.
        found = dict(self._types)
        seen: set[tuple[str, str]] = set()
        for point in entry_points(group=self._group):
            # The same distribution reached twice on sys.path declares nothing new.
            if (point.name, point.value) in seen:
                continue
            seen.add((point.name, point.value))
            kind = _from_entry_point(point)
            _add(found, kind)
            logger.debug("step type %r from %s", kind.name, kind.source)
        self._types = found
        self._pending = False

    def get(self, name: str) -> StepType | None:
        return self._loaded().get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._loaded()

    def __iter__(self) -> Iterator[StepType]:
        return iter(list(self._loaded().values()))

    def names(self) -> list[str]:
        """Every type name, built-ins first in table order, then plugins."""
        return list(self._loaded())

    def params_models(self) -> dict[str, type[StepParams]]:
        """Name → ``with`` model (one dict, built once; do not change it)."""
        if self._params is None:
            self._params = {name: kind.params for name, kind in self._loaded().items()}
        return self._params


@lru_cache(maxsize=8)
def _table_for(path: tuple[str, ...]) -> StepTypes:
    # ``path`` is only the cache key: entry points are found on sys.path.
    return StepTypes()


def step_types() -> StepTypes:
    """The table of this process (built-ins + installed plugins), per ``sys.path``."""
    return _table_for(tuple(sys.path))


def step_param_models() -> dict[str, type[StepParams]]:
    """Every known step type's ``with`` model, built-ins first."""
    return step_types().params_models()
