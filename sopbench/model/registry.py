"""Which step types exist and what their ``with`` looks like.

Built-in types come from :data:`~sopbench.model.steps.BUILTIN_PARAMS`.
Third-party packages add types through the ``sopbench.steps`` entry-point
group; each entry point names a handler object with a ``Params`` attribute
(a :class:`~sopbench.model.steps.StepParams` subclass). Entry points are read
on first use, never at import time.
"""

from __future__ import annotations

from functools import lru_cache
from importlib.metadata import entry_points

from sopbench.errors import ConfigError
from sopbench.model.steps import BUILTIN_PARAMS, StepParams

__all__ = ["ENTRY_POINT_GROUP", "step_param_models"]

ENTRY_POINT_GROUP = "sopbench.steps"


@lru_cache(maxsize=1)
def step_param_models() -> dict[str, type[StepParams]]:
    """Every known step type's ``with`` model, built-ins first."""
    models: dict[str, type[StepParams]] = dict(BUILTIN_PARAMS)
    for point in entry_points(group=ENTRY_POINT_GROUP):
        if point.name in models:
            raise ConfigError(
                f"step type {point.name!r} from {point.value} clashes with an existing type",
                hint="rename the third-party step type",
            )
        handler = point.load()
        params = getattr(handler, "Params", None)
        if not (isinstance(params, type) and issubclass(params, StepParams)):
            raise ConfigError(
                f"step type {point.name!r} ({point.value}) has no `Params` model",
                hint="give the handler a `Params` class derived from sopbench StepParams",
            )
        models[point.name] = params
    return models
