"""The built-in step handlers, one module per family.

Which type each handler serves is said once, in the table of
:mod:`sopbench.model.registry` (``"manual"`` → ``sopbench.steps.human:Manual``
...); nothing here is registered at import time, and a step module is
imported only when a run first needs its handler.
"""

from __future__ import annotations

from sopbench.engine.handlers import HandlerRegistry

__all__ = ["builtin_handlers"]


def builtin_handlers() -> HandlerRegistry:
    """A registry over the process's table of step types (built-ins + entry points)."""
    return HandlerRegistry()
