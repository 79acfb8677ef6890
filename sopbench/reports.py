"""Run reports: one executed notebook (plus HTML) per finished run.

:class:`ReportWriter` executes ``notebooks/run_sop.ipynb`` in this process:
papermill injects the parameters (the same cell its CLI writes) and nbclient
runs every cell in one warm kernel kept for all the reports of a tick (no
process or kernel start per report); it writes
``reports/<YYYY>/<MM>/<DD>/<entity>/<sop_id>--<run_id>.ipynb`` (the date is
the run's start, UTC) plus an ``.html`` export next to it.

The notebook gets two parameters, ``run_id`` and ``home``: names, never
secret values. The workspace and database URL reach its kernel through
the kernel's own environment (``SOPBENCH_HOME``, ``SOPBENCH_DB_URL``, see
:func:`~sopbench.config.child_environ`), never through the notebook, and
this process's ``os.environ`` is never changed. Everything
the report shows comes from the database, where the engine has already
redacted secret values.

:class:`RunReport` is what the notebook calls: it loads a run and renders
its summary, steps, decisions, outputs, errors and journal as tables.
"""

from __future__ import annotations

import html
import json
import logging
import os
import socket
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from sopbench.config import Settings, child_environ, load_settings
from sopbench.errors import ConfigError
from sopbench.resources import bundled
from sopbench.store import Database, open_database
from sopbench.store.run_reports import ReportStore
from sopbench.store.run_rows import RunRow, StepRow
from sopbench.store.runs import RunStore
from sopbench.store.tasks import TaskRow, TaskStore

if TYPE_CHECKING:
    from sopbench.engine import Engine

__all__ = ["EngineHolder", "ReportWriter", "RunReport", "Table", "report_path"]

logger = logging.getLogger(__name__)

NOTEBOOK = "run_sop.ipynb"
_CELL_TEXT = 160


class EngineHolder(Protocol):
    """Whoever lends the writer its engine (the application's ``RunService``): declared
    here rather than imported, because the services build on reports, not the reverse."""

    @property
    def engine(self) -> Engine: ...


def report_path(reports_dir: Path, run: RunRow) -> Path:
    """``reports/<YYYY>/<MM>/<DD>/<entity>/<sop_id>--<run_id>.ipynb``."""
    day = run.created_at.strftime("%Y/%m/%d")
    return reports_dir / day / run.entity / f"{run.sop_id}--{run.id}.ipynb"


def _text(value: Any, limit: int = _CELL_TEXT) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        shown = value
    else:
        shown = json.dumps(value, default=str, ensure_ascii=False, sort_keys=True)
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


@dataclass(frozen=True)
class Table:
    """A small table that shows as HTML in a notebook and as text elsewhere."""

    title: str
    headers: Sequence[str]
    rows: Sequence[Sequence[Any]]

    def _cells(self) -> list[list[str]]:
        return [[_text(cell) for cell in row] for row in self.rows]

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(h)}</th>" for h in self.headers)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
            for row in self._cells()
        )
        if not self.rows:
            body = f'<tr><td colspan="{len(self.headers)}">(none)</td></tr>'
        return (
            f"<h3>{html.escape(self.title)}</h3>"
            f'<table class="sopbench-report"><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table>"
        )

    def __str__(self) -> str:
        cells = self._cells()
        if not cells:
            return f"{self.title}\n(none)"
        widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(self.headers)]
        lines = [
            self.title,
            "  ".join(h.ljust(w) for h, w in zip(self.headers, widths, strict=True)),
        ]
        lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
        return "\n".join(line.rstrip() for line in lines)

    def __repr__(self) -> str:
        return str(self)


class RunReport:
    """One run as readable tables (used by ``notebooks/run_sop.ipynb``)."""

    def __init__(
        self,
        run: RunRow,
        steps: list[StepRow],
        tasks: list[TaskRow],
        journal: list[dict[str, Any]],
    ) -> None:
        self.run = run
        self.steps = steps
        self.tasks = tasks
        self.journal = journal

    @classmethod
    def load(cls, home: str | Path, run_id: str, *, database: Database | None = None) -> RunReport:
        db = database or open_database(load_settings(home), upgrade=False)
        try:
            store = RunStore(db)
            run = store.get_run(run_id)
            steps = sorted(store.steps_of(run_id).values(), key=lambda s: s.seq)
            tasks = TaskStore(db).of_run(run_id)
            journal = store.journal_of(run_id)
        finally:
            if database is None:
                db.dispose()
        return cls(run, steps, tasks, journal)

    def summary(self) -> Table:
        run = self.run
        rows: list[list[Any]] = [
            ["run", run.id],
            ["SOP", run.sop_id],
            ["entity", run.entity],
            ["status", run.status + (" (dry-run)" if run.dry_run else "")],
            ["started by", run.started_by],
            ["started at (UTC)", run.created_at.isoformat()],
            ["finished at (UTC)", run.finished_at.isoformat() if run.finished_at else ""],
            ["inputs", run.inputs],
            ["error", run.error],
        ]
        return Table(f"Run {run.id}: {run.sop_id}", ["", "value"], rows)

    def steps_table(self) -> Table:
        return Table(
            "Steps",
            ["step", "type", "status", "attempt", "with", "result", "error"],
            [
                [s.path, s.type, s.status, s.attempt, s.rendered, s.result, s.error]
                for s in self.steps
            ],
        )

    def decisions_table(self) -> Table:
        rows: list[list[Any]] = [
            [t.step_path, t.kind, t.title, t.status, t.decided_by, t.comment] for t in self.tasks
        ]
        for s in self.steps:
            if s.type == "condition" and isinstance(s.result, dict):
                rows.append([s.path, "condition", "branch", s.result.get("branch"), "", ""])
            if s.status == "skipped":
                rows.append([s.path, "when", "skipped", "skipped", "", ""])
        return Table("Decisions", ["step", "kind", "what", "outcome", "by", "comment"], rows)

    def outputs_table(self) -> Table:
        rows = [["outputs", k, v] for k, v in sorted(self.run.outputs.items())]
        rows += [["vars", k, v] for k, v in sorted(self.run.vars.items())]
        return Table("Outputs and variables", ["kind", "name", "value"], rows)

    def errors_table(self) -> Table:
        rows = [[s.path, s.attempt, s.error] for s in self.steps if s.error]
        if self.run.error:
            rows.append(["(run)", "", self.run.error])
        return Table("Errors", ["step", "attempt", "error"], rows)

    def journal_table(self) -> Table:
        return Table(
            "Journal",
            ["time (UTC)", "actor", "event", "step", "data"],
            [
                [e["ts"].isoformat(), e["actor"], e["kind"], e["step_path"], e["data"]]
                for e in self.journal
            ],
        )

    def tables(self) -> list[Table]:
        return [
            self.summary(),
            self.steps_table(),
            self.decisions_table(),
            self.outputs_table(),
            self.errors_table(),
            self.journal_table(),
        ]


class ReportWriter:
    """Writes report notebooks and their HTML for finished runs, in this process."""

    def __init__(self, settings: Settings, service: EngineHolder | None = None) -> None:
        self.settings = settings
        self.service = service
        self._exporter: Any = None
        local = settings.notebooks_dir / NOTEBOOK
        self.notebook = local if local.is_file() else bundled("notebooks") / NOTEBOOK
        if not self.notebook.is_file():
            raise ConfigError(f"report notebook {NOTEBOOK} not found")

    def _run(self, run_id: str) -> RunRow:
        if self.service is not None:
            return self.service.engine.runs.get_run(run_id)
        db = open_database(self.settings, upgrade=False)
        try:
            return RunStore(db).get_run(run_id)
        finally:
            db.dispose()

    @contextmanager
    def kernel(self) -> Iterator[Any]:
        """One started ``python3`` kernel (and its client) for several reports."""
        from jupyter_client.manager import KernelManager

        manager = KernelManager(kernel_name="python3")
        # The kernel's own environment, never this process's: os.environ stays as it is.
        manager.start_kernel(cwd=str(self.settings.home), env=child_environ(self.settings))
        client = manager.client()
        client.start_channels()
        try:
            client.wait_for_ready(timeout=60)
            yield manager, client
        finally:
            client.stop_channels()
            manager.shutdown_kernel(now=True)
            manager.cleanup_resources()

    def write(self, run_id: str, *, kernel: Any = None) -> Path:
        """Execute the report notebook for ``run_id``; the path of the ``.ipynb``.

        With ``kernel`` (from :meth:`kernel`) the notebook runs in that warm
        kernel: parameters are injected by papermill exactly as its CLI does,
        and nbclient executes every cell, so the file is a faithful executed
        notebook without a kernel start of its own.
        """
        if kernel is None:
            with self.kernel() as started:
                return self.write(run_id, kernel=started)
        import nbformat
        from nbclient import NotebookClient
        from nbclient.exceptions import CellExecutionError
        from papermill.iorw import load_notebook_node
        from papermill.parameterize import parameterize_notebook

        run = self._run(run_id)
        out = report_path(self.settings.reports_dir, run)
        out.parent.mkdir(parents=True, exist_ok=True)
        source = load_notebook_node(str(self.notebook))  # adds the metadata papermill expects
        notebook = parameterize_notebook(
            source, {"run_id": run_id, "home": str(self.settings.home)}, kernel_name="python3"
        )
        manager, client = kernel
        runner = NotebookClient(
            notebook,
            km=manager,
            timeout=120,
            kernel_name="python3",
            resources={"metadata": {"path": str(self.settings.home)}},
        )
        runner.kc = client  # reuse the warm client: nbclient then neither starts nor stops one
        try:
            runner.execute()
        except CellExecutionError:
            pass  # the executed notebook, error output included, is still the report
        finally:
            nbformat.write(notebook, str(out))  # type: ignore[no-untyped-call]
        self._html(out)
        return out

    def _html(self, notebook: Path) -> Path:
        import nbformat
        from nbconvert import HTMLExporter

        if self._exporter is None:
            self._exporter = HTMLExporter()  # type: ignore[no-untyped-call]
        node = nbformat.read(str(notebook), as_version=4)  # type: ignore[no-untyped-call]
        body, _ = self._exporter.from_notebook_node(node)
        target = notebook.with_suffix(".html")
        target.write_text(body, encoding="utf-8")
        return target

    def write_many(self, run_ids: Sequence[str]) -> list[str]:
        """Reports for these runs, each claimed first (see :class:`ReportStore`), so a run
        another tick reports (or reported) is skipped; paths relative to the workspace home.

        The kernel starts at the first claimed run: a tick with nothing new to
        report pays no kernel start.
        """
        written: list[str] = []
        with ExitStack() as stack:
            ledger = self._ledger(stack)
            kernel: Any = None
            for run_id in run_ids:
                if not ledger.claim(run_id):
                    continue
                if kernel is None:
                    kernel = stack.enter_context(self.kernel())
                try:
                    path = self.write(run_id, kernel=kernel)
                except Exception as exc:  # one broken report must not stop the others
                    logger.exception(
                        "the report of run %s failed", run_id, extra={"run_id": run_id}
                    )
                    ledger.failed(run_id, f"{type(exc).__name__}: {exc}")
                    continue
                try:
                    shown = str(path.relative_to(self.settings.home))
                except ValueError:
                    shown = str(path)
                ledger.written(run_id, shown)
                written.append(shown)
        return written

    def _ledger(self, stack: ExitStack) -> ReportStore:
        if self.service is not None:
            return ReportStore(self.service.engine.db, self.service.engine.owner)
        db = open_database(self.settings)
        stack.callback(db.dispose)
        return ReportStore(db, f"reports:{socket.gethostname()}:{os.getpid()}")
