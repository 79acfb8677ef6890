"""``notebook``: run a notebook with papermill as a step; the executed copy is kept.

The notebook runs in-process through papermill (no CLI start-up per step)
with ``shutdown_kernel="immediate"``. Values the notebook glues with
scrapbook-style ``glue`` (``sopbench.glue(name, value)`` writes a
``application/x-sopbench-glue+json`` output) become the step's result.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sopbench.engine.call import StepCall
from sopbench.engine.handlers import Done, Outcome
from sopbench.errors import ConfigError, StepFailed
from sopbench.model.steps import NotebookParams
from sopbench.steps._base import BaseHandler

__all__ = ["GLUE_MIME", "Notebook", "glue", "glued_values"]

GLUE_MIME = "application/x-sopbench-glue+json"


def glue(name: str, value: Any) -> None:
    """In a notebook run by a ``notebook`` step: make ``value`` the step's result ``name``.

    ``value`` must be JSON data. Call it in a cell of the notebook::

        from sopbench.steps.notebook import glue
        glue("total", 42)          # later steps read steps.<id>.total
    """
    from IPython.display import display

    display({GLUE_MIME: {"name": name, "value": value}}, raw=True)  # type: ignore[no-untyped-call]


def glued_values(notebook: dict[str, Any]) -> dict[str, Any]:
    """Every ``{name: value}`` glued in an executed notebook, later cells winning."""
    values: dict[str, Any] = {}
    for cell in notebook.get("cells", []):
        for output in cell.get("outputs", []):
            data = output.get("data", {}).get(GLUE_MIME)
            if isinstance(data, dict) and "name" in data:
                values[str(data["name"])] = data.get("value")
    return values


def _shown(path: Path, call: StepCall) -> str:
    """``path`` relative to the workspace when it is inside it."""
    try:
        return str(path.relative_to(call.services.settings.home))
    except ValueError:
        return str(path)


class Notebook(BaseHandler):
    Params = NotebookParams
    effects = True

    def _paths(self, call: StepCall) -> tuple[Path, Path]:
        params = call.typed(NotebookParams)
        home = call.services.settings.home
        source = (home / params.path).resolve()
        if not source.is_file():
            raise ConfigError(f"notebook {params.path} not found in {home}")
        day = call.started_at.strftime("%Y/%m/%d")
        out = (
            call.services.settings.reports_dir
            / day
            / call.run.entity
            / (f"{call.run.sop_id}--{call.run.id}--{call.path}.ipynb")
        )
        return source, out

    def run(self, call: StepCall) -> Outcome:
        params = call.typed(NotebookParams)
        source, out = self._paths(call)
        try:
            import papermill
        except ImportError:
            raise ConfigError(
                "papermill is not installed", hint="pip install papermill ipykernel"
            ) from None
        out.parent.mkdir(parents=True, exist_ok=True)
        timeout = int(call.timeout.total_seconds()) if call.timeout else None
        try:
            papermill.execute_notebook(
                str(source),
                str(out),
                parameters=dict(params.parameters),
                kernel_name=params.kernel,
                progress_bar=False,
                log_output=False,
                execution_timeout=timeout,
                shutdown_kernel="immediate",
            )
        except papermill.PapermillExecutionError as exc:
            raise StepFailed(
                f"notebook {params.path} failed in cell {exc.cell_index}: "
                f"{exc.ename}: {exc.evalue} (output kept at {_shown(out, call)})"
            ) from None
        executed = json.loads(out.read_text(encoding="utf-8"))
        return Done({"output_path": _shown(out, call), **glued_values(executed)})

    def simulate(self, call: StepCall) -> Outcome:
        source, _ = self._paths(call)
        return Done({"output_path": None, "notebook": source.name, "simulated": True})
