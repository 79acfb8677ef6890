"""notebook: a real notebook through papermill; output kept in reports/, glued values."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from engine.support import Bench

NOTEBOOKS = Path(__file__).parent / "notebooks"


@pytest.fixture
def nb(bench: Bench) -> Bench:
    shutil.copytree(NOTEBOOKS, bench.home / "notebooks")
    return bench


def _report(bench: Bench, run_id: str) -> Path:
    (found,) = (bench.home / "reports").rglob(f"*--{run_id}--nb.ipynb")
    return found


def test_notebook_runs_and_exposes_glued_values(nb: Bench) -> None:
    view = nb.start("notebook_ok", {"x": 5})
    assert view.run.status == "succeeded", view.run.error
    run = view.run
    step = nb.steps(run.id)["nb"]
    day = run.created_at.strftime("%Y/%m/%d")
    expected = f"reports/{day}/shop/notebook_ok--{run.id}--nb.ipynb"
    assert step.result == {
        "output_path": expected,
        "doubled": 10,
        "label": f"run {run.id}",
    }
    assert run.vars == {"doubled": 10, "label": f"run {run.id}"}
    executed = json.loads((nb.home / expected).read_text(encoding="utf-8"))
    injected = [
        c for c in executed["cells"] if "injected-parameters" in c["metadata"].get("tags", [])
    ]
    assert "x = 5" in "".join(injected[0]["source"])
    printed = "".join(
        "".join(o.get("text", "")) for c in executed["cells"] for o in c.get("outputs", [])
    )
    assert "5 doubled is 10" in printed


def test_failing_notebook_fails_the_step_with_cell_and_error(nb: Bench) -> None:
    view = nb.start("notebook_fail")
    assert view.run.status == "failed"
    kept = _report(nb, view.run.id)
    error = nb.steps(view.run.id)["nb"].error
    assert error == (
        "notebook notebooks/boom.ipynb failed in cell 1: ValueError: the numbers do not add up "
        f"(output kept at {kept.relative_to(nb.home)})"
    )
    executed = json.loads(kept.read_text(encoding="utf-8"))
    errors = [o for c in executed["cells"] for o in c.get("outputs", []) if o.get("ename")]
    assert errors[0]["evalue"] == "the numbers do not add up"


def test_missing_notebook_fails_clearly(nb: Bench) -> None:
    (nb.home / "notebooks" / "boom.ipynb").unlink()
    view = nb.start("notebook_fail")
    assert view.run.status == "failed"
    assert nb.steps(view.run.id)["nb"].error == (
        f"notebook notebooks/boom.ipynb not found in {nb.home}"
    )
    assert nb.dry("notebook_fail").run.status == "failed"


def test_notebook_dry_run_executes_nothing(nb: Bench) -> None:
    view = nb.dry("notebook_ok", {"x": 4})
    steps = nb.steps(view.run.id)
    assert steps["nb"].result == {
        "output_path": None,
        "notebook": "double.ipynb",
        "simulated": True,
    }
    assert steps["nb"].rendered["parameters"] == {"x": 4, "label": f"run {view.run.id}"}
    assert not (nb.home / "reports").exists()
    # nothing was glued: a later step reading a glued value renders a placeholder
    assert view.run.status == "succeeded", view.as_dict()
    assert view.run.vars["doubled"] == "<simulated steps.nb.doubled>"
