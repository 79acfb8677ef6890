"""sopbench: durable YAML workflows for the Standard Operating Procedures of small businesses.

The top-level names are loaded on first use, so importing a submodule (the
store, the CLI) does not pay for the rest of the package.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sopbench._version import __version__

if TYPE_CHECKING:
    from sopbench.errors import Problem, SopbenchError, WorkspaceInvalid
    from sopbench.library import Workspace, load_workspace
    from sopbench.steps.notebook import glue

__all__ = [
    "Problem",
    "SopbenchError",
    "Workspace",
    "WorkspaceInvalid",
    "__version__",
    "glue",
    "load_workspace",
]

_LAZY = {
    "Problem": "sopbench.errors",
    "SopbenchError": "sopbench.errors",
    "WorkspaceInvalid": "sopbench.errors",
    "Workspace": "sopbench.library",
    "load_workspace": "sopbench.library",
    "glue": "sopbench.steps.notebook",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'sopbench' has no attribute {name!r}")
