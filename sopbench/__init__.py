"""sopbench: durable YAML workflows for the Standard Operating Procedures of small businesses."""

from sopbench.errors import Problem, SopbenchError, WorkspaceInvalid
from sopbench.library import Workspace, load_workspace

__all__ = [
    "Problem",
    "SopbenchError",
    "Workspace",
    "WorkspaceInvalid",
    "__version__",
    "load_workspace",
]

__version__ = "0.1.0"
