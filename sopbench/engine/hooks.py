"""Lifecycle hooks: small callbacks with keyword-only arguments.

A hook object implements any of these methods; the engine calls the ones
present, after the matching state is committed (so a hook that observes,
logs or even kills the process sees durable state)::

    on_run_start(*, run_id, sop_id)
    on_step_start(*, run_id, path, step)
    on_step_end(*, run_id, path, step, status)
    on_run_end(*, run_id, status)

Pass hooks to :class:`~sopbench.engine.Engine` (``hooks=[...]``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["HookCaller"]

HOOK_NAMES = frozenset({"on_run_start", "on_step_start", "on_step_end", "on_run_end"})


class HookCaller:
    """Calls every registered hook that implements an event."""

    def __init__(self, hooks: Sequence[object] = ()) -> None:
        self._hooks = list(hooks)

    def __call__(self, event: str, **kwargs: Any) -> None:
        if event not in HOOK_NAMES:  # pragma: no cover - programming error
            raise ValueError(f"unknown hook event {event!r}")
        for hook in self._hooks:
            method = getattr(hook, event, None)
            if method is not None:
                method(**kwargs)
