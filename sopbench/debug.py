"""Step-by-step debugging of a SOP run, for JupyterLab (``notebooks/debug_sop.ipynb``).

A :class:`DebugSession` is the ordinary engine with one lifecycle hook: after
a step ends (its state committed), the hook may pause the drive. Pausing
leaves the run ``running`` under the session's lease, exactly as a crash
would, and the next :meth:`~DebugSession.step` drives it on from its stored
state, so completed steps never run again. The session's lease lasts
:data:`LEASE` (renewed at every step), so workers and ``tick`` leave the run
alone while it is debugged; :meth:`~DebugSession.close` hands it back.

Nested steps (inside ``condition`` and ``loop``) count as steps too, so
:meth:`~DebugSession.step` goes into them.

The session builds the same engine as the application services
(:func:`sopbench.wiring.standard_engine`) but not through them: the debugger
sits below the service layer (DESIGN.md, "Dependency direction"). Every
change it makes to a run goes through :class:`~sopbench.engine.RunStore`, so
it bumps the run's ``version`` like any other writer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from sopbench.config import Settings, load_settings
from sopbench.engine import Engine
from sopbench.errors import NotFound, UsageError
from sopbench.expressions import render_value
from sopbench.library import Workspace, load_workspace
from sopbench.model.sop import SopFile, StepSpec
from sopbench.model.steps import nested_step_fields
from sopbench.store import Database, open_database
from sopbench.store.run_rows import FINAL, RunRow, StepRow, jsonable
from sopbench.wiring import standard_engine

__all__ = ["LEASE", "DebugSession"]

LEASE = timedelta(hours=12)


class _Pause(BaseException):
    """Stops the drive after a step; a BaseException so no handler mistakes it for a bug."""


class _Breaker:
    """The engine hook: pause after a step that ``stop`` chooses."""

    def __init__(self) -> None:
        self.stop: Callable[[str, str], bool] | None = None
        self.last: str | None = None

    def on_step_end(self, *, run_id: str, path: str, step: StepSpec, status: str) -> None:
        self.last = path
        if status == "failed" and step.on_error == "fail":
            return  # the engine fails the run now; pausing here would step over the failure
        if self.stop is not None and self.stop(path, step.id):
            raise _Pause(path)


class DebugSession:
    """One run of one SOP, driven a step at a time."""

    def __init__(
        self, engine: Engine, breaker: _Breaker, run_id: str, *, owns_database: bool = False
    ) -> None:
        """Prefer :meth:`start`; ``engine`` must call ``breaker`` as a lifecycle hook."""
        self.engine = engine
        self._breaker = breaker
        self.run_id = run_id
        self.last_step: str | None = None
        self._owns_database = owns_database

    @classmethod
    def start(
        cls,
        home: str | Path,
        sop_id: str,
        inputs: Mapping[str, Any] | None = None,
        *,
        dry: bool = True,
        settings: Settings | None = None,
        database: Database | None = None,
        started_by: str = "debugger",
    ) -> DebugSession:
        """Record a new run (dry by default) and stop before its first step.

        A ``database`` passed in stays open on :meth:`close`; one opened here is disposed.
        """
        settings = settings or load_settings(home)
        workspace = load_workspace(settings.home)
        db = database or open_database(settings)
        breaker = _Breaker()
        try:
            engine = standard_engine(db, workspace, settings, hooks=[breaker], lease_ttl=LEASE)
            sop = workspace.sop(sop_id)
            run_id = engine.start_run(sop, dict(inputs or {}), started_by=started_by, dry_run=dry)
        except BaseException:
            if database is None:
                db.dispose()
            raise
        return cls(engine, breaker, run_id, owns_database=database is None)

    # -- moving --------------------------------------------------------------------

    def _drive(self, stop: Callable[[str, str], bool] | None) -> str:
        if self.status in FINAL:
            raise UsageError(f"run {self.run_id} is {self.status}; start a new session")
        self._breaker.stop = stop
        self._breaker.last = None
        try:
            self.engine.drive(self.run_id)
        except _Pause:
            pass
        finally:
            self._breaker.stop = None
            self.last_step = self._breaker.last or self.last_step
        return self.status

    def step(self) -> str:
        """Run the next step (nested ones included), then pause; the run's status."""
        return self._drive(lambda _path, _id: True)

    def run_to(self, step_id: str) -> str:
        """Run until the step ``step_id`` (an id or a path) has run, then pause."""
        if not any(p == step_id or s.id == step_id for p, s in self.sop.walk()):
            raise NotFound(f"SOP {self.sop.sop_id} has no step '{step_id}'")
        return self._drive(lambda path, sid: step_id in (path, sid))

    def run(self) -> str:
        """Run until the run waits or ends."""
        return self._drive(None)

    def rerun_last(self) -> str:
        """Forget the last step's result and run it again (with current inputs and vars)."""
        path = self.last_step
        if path is None:
            raise UsageError("no step has run in this session yet")
        store = self.engine.runs
        with self.engine.db.write() as conn:
            store.forget_step(conn, self.run_id, path)
            store.update_run(
                conn, self.run_id, status="running", error=None, finished_at=None, wait_kind=None
            )
            store.journal(conn, "debug.rerun", run_id=self.run_id, actor="debugger", step_path=path)
        return self._drive(lambda p, _id: p == path)

    # -- changing ------------------------------------------------------------------

    def set_inputs(self, **values: Any) -> dict[str, Any]:
        inputs = {**self.row.inputs, **jsonable(values)}
        self._update(inputs=inputs)
        return inputs

    def set_vars(self, **values: Any) -> dict[str, Any]:
        current = {**self.row.vars, **jsonable(values)}
        self._update(vars=current)
        return current

    def _update(self, **values: Any) -> None:
        store = self.engine.runs
        with self.engine.db.write() as conn:
            store.update_run(conn, self.run_id, **values)
            store.journal(
                conn,
                "debug.changed",
                run_id=self.run_id,
                actor="debugger",
                data=self.engine.clean(values),
            )

    # -- looking -------------------------------------------------------------------

    @property
    def row(self) -> RunRow:
        """The run as stored now."""
        return self.engine.runs.get_run(self.run_id)

    @property
    def status(self) -> str:
        return str(self.row.status)

    @property
    def workspace(self) -> Workspace:
        return self.engine.workspace

    @property
    def sop(self) -> SopFile:
        return self.workspace.sop(self.row.sop_id)

    def states(self) -> list[StepRow]:
        rows = self.engine.runs.steps_of(self.run_id).values()
        return sorted(rows, key=lambda s: s.seq)

    def context(self) -> dict[str, Any]:
        """``inputs``, ``steps`` (results by step id) and ``vars`` as the next step sees them."""
        run = self.row
        return {
            "inputs": run.inputs,
            "steps": {s.step_id: s.result for s in self.states()},
            "vars": run.vars,
        }

    def next_step(self) -> str | None:
        """The path of the next step to run (top level), or None when all have run."""
        done = {s.path for s in self.states() if s.status in FINAL | {"skipped", "succeeded"}}
        for step in self.sop.steps:
            if step.id not in done:
                return step.id
        return None

    def rendered(self, step_id: str | None = None) -> Any:
        """The rendered ``with`` of a step: as it ran, or as it would run now."""
        target = step_id or self.next_step()
        if target is None:
            return None
        for state in self.states():
            if target in (state.path, state.step_id):
                return state.rendered
        for path, spec in self.sop.walk():
            if target in (path, spec.id):
                handler = self.engine.handlers.get(spec.type)
                skip = frozenset(nested_step_fields(handler.Params))
                context = {
                    **self.context(),
                    "entity": self.engine.entity_context(self.row.entity),
                    "run": {"id": self.run_id, "sop_id": self.row.sop_id},
                }
                return jsonable(render_value(spec.with_, context, skip=skip))
        raise NotFound(f"SOP {self.sop.sop_id} has no step '{target}'")

    def journal(self) -> list[dict[str, Any]]:
        return self.engine.runs.journal_of(self.run_id)

    def table(self) -> list[dict[str, Any]]:
        """The steps so far, one dict each (JupyterLab shows a list of dicts readably)."""
        return [
            {
                "step": s.path,
                "type": s.type,
                "status": s.status,
                "with": s.rendered,
                "result": s.result,
                "error": s.error,
            }
            for s in self.states()
        ]

    def close(self) -> None:
        """Give the run's lease back (a worker may then drive it on); dispose of the
        database if the session opened it."""
        with self.engine.db.write() as conn:
            self.engine.runs.release(conn, self.run_id, self.engine.owner)
        if self._owns_database:
            self.engine.db.dispose()

    def __repr__(self) -> str:
        return f"<DebugSession {self.run_id} {self.status} last={self.last_step}>"
