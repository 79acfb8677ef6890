"""sopbench.debug: step, inspect, change, re-run, run to a step."""

from __future__ import annotations

from pathlib import Path

import pytest

from sopbench.debug import DebugSession
from tests.engine import conftest as engine_fixtures
from tests.engine.support import Bench

HERE = Path(__file__).parent
# The engine's test bench (home, settings, RunService on SQLite and PostgreSQL)
# over the scheduler tests' SOPs.
bench = engine_fixtures.bench
recorder = engine_fixtures.recorder


@pytest.fixture
def sop_sources() -> list[Path]:
    return [HERE / "scheduler" / "sops"]


def _session(bench: Bench, **inputs: object) -> DebugSession:
    return DebugSession.start(
        bench.home, "dbg_steps", inputs, settings=bench.settings, database=bench.db
    )


def test_step_inspect_change_and_rerun(bench: Bench) -> None:
    session = _session(bench, count=3)
    assert session.status == "pending"
    assert session.next_step() == "prep"
    assert session.rendered() == {"set": {"total": 6}}

    assert session.step() == "running"
    assert [s["step"] for s in session.table()] == ["prep"]
    assert session.context()["vars"] == {"total": 6}
    assert session.rendered("label") == {"set": {"label": "total is 6"}}

    assert session.step() == "running"
    assert session.last_step == "label"
    assert session.context()["vars"]["label"] == "total is 6"

    # The validation fails with total 6; change vars and re-run it.
    assert session.step() == "failed"
    assert session.last_step == "check"
    assert "total 6 is too small" in str(session.row.error)
    session.set_vars(total=12)
    assert session.rerun_last() == "running"
    assert session.states()[-1].status == "succeeded"
    assert session.run() == "succeeded"
    kinds = [e["kind"] for e in session.journal()]
    assert "debug.changed" in kinds and "debug.rerun" in kinds
    # Completed steps never ran twice: prep and label have one state each.
    assert [s.path for s in session.states()] == ["prep", "label", "check", "say"]
    session.close()


def test_run_to_and_change_inputs(bench: Bench) -> None:
    session = _session(bench, count=1)
    session.set_inputs(count=8)
    assert session.run_to("label") == "running"
    assert session.last_step == "label"
    assert session.context()["vars"] == {"total": 16, "label": "total is 16"}
    assert session.run() == "succeeded"
    assert session.row.dry_run
    with pytest.raises(Exception, match="succeeded"):
        session.step()
    with pytest.raises(Exception, match="no step"):
        session.run_to("nope")
    session.close()


def test_debug_notebook_runs_headless(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    import papermill

    root = HERE.parent
    home = tmp_path / "home"
    shutil.copytree(root / "sops", home / "sops")
    monkeypatch.setenv("SOPBENCH_DB_URL", f"sqlite:///{tmp_path / 'debug.db'}")
    out = tmp_path / "debug_sop.out.ipynb"
    papermill.execute_notebook(
        str(root / "notebooks" / "debug_sop.ipynb"),
        str(out),
        parameters={"home": str(home)},
        kernel_name="python3",
        progress_bar=False,
        shutdown_kernel="immediate",
        cwd=str(tmp_path),
    )
    text = out.read_text()
    assert "debug.rerun" in text and "staff_note" in text
