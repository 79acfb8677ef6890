"""Reports: one executed notebook + HTML per finished run, with no secret anywhere."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

import pytest

from sopbench.reports import ReportWriter, RunReport, report_path
from sopbench.scheduler import Scheduler
from tests.engine import conftest as engine_fixtures
from tests.engine.support import SECRET, Bench

HERE = Path(__file__).parent
# The engine's test bench (home, settings, RunService on SQLite and PostgreSQL)
# over the scheduler tests' SOPs.
bench = engine_fixtures.bench
recorder = engine_fixtures.recorder


@pytest.fixture
def sop_sources() -> list[Path]:
    return [HERE / "scheduler" / "sops"]


def _outputs_text(notebook: dict[str, object]) -> str:
    return json.dumps(notebook["cells"])


def test_tick_writes_one_report_per_finished_run_and_no_secret(bench: Bench) -> None:
    writer = ReportWriter(bench.settings, bench.service)
    scheduler = Scheduler(bench.service, reporter=writer.write_many)
    t0 = datetime(2026, 5, 1, 9, 30, tzinfo=UTC)
    scheduler.add("sch_secret", "0 * * * *", now=t0)
    scheduler.add("sch_plain", "0 * * * *", inputs={"who": "ops"}, now=t0)
    scheduler.add("sch_gate", "0 * * * *", now=t0)  # waits for approval: no report yet
    result = scheduler.tick(datetime(2026, 5, 1, 10, 0, 5, tzinfo=UTC), sync=False)
    statuses = sorted(str(f.run_status) for f in result.fires)
    assert statuses == ["failed", "succeeded", "waiting"]
    assert len(result.reports) == 2

    for fire in result.fires:
        assert fire.run_id is not None
        run = bench.service.view(fire.run_id).run
        path = report_path(bench.home / "reports", run)
        if run.status == "waiting":
            assert not path.exists()
            continue
        day = run.created_at.strftime("%Y/%m/%d")
        assert path == bench.home / "reports" / day / "shop" / f"{run.sop_id}--{run.id}.ipynb"
        assert str(path.relative_to(bench.home)) in result.reports
        notebook = json.loads(path.read_text())
        params = [
            c for c in notebook["cells"] if "injected-parameters" in c["metadata"].get("tags", [])
        ]
        assert len(params) == 1
        assert "".join(params[0]["source"]).count("=") == 2  # run_id and home, nothing else
        text = _outputs_text(notebook)
        for title in ("Steps", "Decisions", "Outputs and variables", "Errors", "Journal"):
            assert title in text
        html_text = path.with_suffix(".html").read_text()
        assert run.id in html_text and "Steps" in html_text
        if run.status == "failed":
            assert "check" in text and "auth header was" in text
            assert "failed" in html_text
        else:
            assert "hello ops" in text

    everything = [p for p in (bench.home / "reports").rglob("*") if p.is_file()]
    assert len(everything) == 4  # two notebooks, two HTML files
    for path in everything:
        assert SECRET not in path.read_text(), path
    assert SECRET not in bench.dump()


def test_report_tables_as_text(bench: Bench) -> None:
    view = bench.start("sch_plain", {"who": "ann"})
    report = RunReport.load(bench.home, view.run.id, database=bench.db)
    assert "hello ann" in str(report.outputs_table())
    assert "note" in str(report.steps_table())
    assert str(report.errors_table()).endswith("(none)")
    assert "<table" in report.steps_table()._repr_html_()


class _Unchangeable(dict[str, str]):
    """A stand-in for ``os.environ`` that fails the test on any change."""

    def _refuse(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AssertionError(f"os.environ was changed ({args!r})")

    __setitem__ = __delitem__ = pop = popitem = clear = update = setdefault = _refuse


def test_report_kernel_gets_its_environment_without_changing_os_environ(
    bench: Bench, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The bench's settings name a database that nothing in os.environ points at:
    # the kernel can only find the run if it is given its environment.
    for name in ("SOPBENCH_DB_URL", "SOPBENCH_HOME"):
        monkeypatch.delenv(name, raising=False)
    before = dict(os.environ)
    view = bench.start("sch_plain", {"who": "ann"})
    with monkeypatch.context() as patch:  # undone before pytest itself sets variables again
        patch.setattr(os, "environ", _Unchangeable(before))
        path = ReportWriter(bench.settings, bench.service).write(view.run.id)
        assert dict(os.environ) == before
    text = _outputs_text(json.loads(path.read_text()))
    assert "hello ann" in text and view.run.id in text
    assert "Error" not in text.replace("Errors", "")  # every cell ran against the right database
