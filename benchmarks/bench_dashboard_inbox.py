"""Dashboard Approvals page: build time with 10,000 pending tasks vs none (SQLite).

Builds the page in-process exactly as a Voilà kernel does once the request
arrives (``PageContext`` + ``ApprovalsPage``, as ``tests/ui/conftest.py``
does), for a reviewer who may decide every one of the tasks: the inbox
counts them and shows the first page of 20. The kernel has already loaded
the workspace and opened the database before the request (preheat), so
the measured build gets both; the cold build (workspace load included) is
reported too. Median of 5 builds each. Target: full inbox < 2x the empty one.

The first 100 tasks come from real runs started through the engine (a SOP
whose only step is an approval); the rest are copies of those runs and
tasks under new ids (starting 10,000 runs one by one would take minutes
and measure the engine, not the page).

With ``--browser`` the same two workspaces are also served by a real
``sopbench serve`` (Voilà, one preheated kernel per page) and Debian chromium
measures, signed in as the reviewer, navigation start until the inbox table
shows its first row (or its empty message): what a reviewer waits for.

    python benchmarks/bench_dashboard_inbox.py [--tasks 10000] [--browser]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select

ROOT = Path(__file__).resolve().parents[1]
REAL_RUNS = 100
PERSON, STARTER = "olivia", "priya"  # owner+manager of every entity; a saas manager

SOP = """\
sop_id: bench_inbox
entity: saas
name: Inbox benchmark
inputs:
  n: {type: integer, required: true}
steps:
  - id: sign
    type: approval
    with:
      title: "Approve item {{ inputs.n }}"
      approvers: [manager]
      subject: {n: "{{ inputs.n }}"}
"""


def _home(root: Path) -> Path:
    home = root / "home"
    shutil.copytree(ROOT / "sops", home / "sops")
    (home / "sops" / "saas" / "bench_inbox.yaml").write_text(SOP)
    return home


def _fill(home: Path, count: int) -> None:
    """``count`` open approval tasks: REAL_RUNS real runs, the rest copies of them."""
    from sopbench.config import load_settings
    from sopbench.services.runs import RunService
    from sopbench.store import new_id
    from sopbench.store.tables import human_tasks, runs
    from sopbench.store.tasks import task_id_for

    service = RunService(load_settings(home, environ={"SOPBENCH_SANDBOX_FILE": "off"}))
    for n in range(min(count, REAL_RUNS)):
        service.start("bench_inbox", {"n": n}, started_by=STARTER)
    with service.db.read() as conn:
        run_rows = [dict(r) for r in conn.execute(select(runs)).mappings()]
        task_rows = {r["run_id"]: dict(r) for r in conn.execute(select(human_tasks)).mappings()}
    copies_runs, copies_tasks = [], []
    for n in range(REAL_RUNS, count):
        run = dict(run_rows[n % len(run_rows)])
        task = dict(task_rows[run["id"]])
        run["id"] = new_id("run")
        run["created_at"] = run["created_at"] + timedelta(milliseconds=n)
        task.update(
            id=task_id_for(run["id"], task["step_path"]),
            run_id=run["id"],
            title=f"Approve item {n}",
            created_at=task["created_at"] + timedelta(milliseconds=n),
        )
        copies_runs.append(run)
        copies_tasks.append(task)
    for start in range(0, len(copies_runs), 2000):
        with service.db.write() as conn:
            conn.execute(insert(runs), copies_runs[start : start + 2000])
            conn.execute(insert(human_tasks), copies_tasks[start : start + 2000])
    service.close()


def _median(build: Callable[[], Any], rounds: int = 5) -> tuple[float, float, Any]:
    """Median wall-clock and CPU seconds of ``rounds`` builds, and the last page.

    CPU time (this process) is reported beside wall time because the 2-core
    machine is shared: on a busy machine the wall time mostly measures the
    wait for a core, the CPU time still measures the work of the build.
    """
    walls, cpus, result = [], [], None
    build()  # warm-up: imports and SQLAlchemy statement caches, as a preheated kernel has
    for _ in range(rounds):
        wall, cpu = time.perf_counter(), time.process_time()
        result = build()
        cpus.append(time.process_time() - cpu)
        walls.append(time.perf_counter() - wall)
    return statistics.median(walls), statistics.median(cpus), result


def _measure(home: Path) -> dict[str, Any]:
    from sopbench.config import PageRequest, load_settings
    from sopbench.library import load_workspace
    from sopbench.store import open_database
    from sopbench.testing.widgets import find_all
    from sopbench.ui import PageContext, page_class

    settings = load_settings(home, environ={"SOPBENCH_SANDBOX_FILE": "off"})
    workspace, database = load_workspace(home), open_database(settings)
    approvals = page_class("approvals")

    def warm() -> Any:
        ctx = PageContext(settings, request=PageRequest(), workspace=workspace, database=database)
        ctx.person = PERSON
        return approvals(ctx)

    def cold() -> Any:
        ctx = PageContext(settings, request=PageRequest())
        ctx.person = PERSON
        page = approvals(ctx)
        ctx.close()
        return page

    warm_s, warm_cpu, page = _median(warm)
    cold_s, cold_cpu, _ = _median(cold)
    (table,) = find_all(page, css="sb-table-inbox")
    database.dispose()
    return {
        "build_s": warm_s,
        "build_cpu_s": warm_cpu,
        "cold_build_s": cold_s,
        "cold_build_cpu_s": cold_cpu,
        "shown": len(table.shown),
        "total": table.total,
    }


def _browser(home: Path, rounds: int = 5) -> dict[str, Any]:
    """Median ms from navigation to the inbox's first row (or empty text) in chromium."""
    from playwright.sync_api import sync_playwright

    from sopbench.config import load_settings
    from sopbench.services.dashboard import DashboardOptions, DashboardServer
    from sopbench.services.users import AccessService
    from sopbench.testing.browser import admit, launch, open_page, sign_in

    settings = load_settings(home, environ={"SOPBENCH_SANDBOX_FILE": "off"})
    access = AccessService(settings)
    access.set_code(PERSON, "bench-code-2026")
    access.close()
    times = []
    with (
        DashboardServer(settings, DashboardOptions(pool_size=1)) as server,
        sync_playwright() as pw,
    ):
        browser = launch(pw)
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        admit(context, server.base_url, server.token)
        page = context.new_page()
        open_page(page, server.url("approvals", with_token=False), timeout_ms=180_000)
        sign_in(page, PERSON, "bench-code-2026", timeout_ms=180_000)
        for _ in range(rounds):
            time.sleep(8)  # let the pool preheat the next kernel, as between reviewers' clicks
            started = time.perf_counter()
            open_page(page, server.url("approvals", with_token=False), timeout_ms=180_000)
            page.locator(".sb-table-inbox .sb-row-action, .sb-table-inbox i").first.wait_for(
                state="visible", timeout=180_000
            )
            times.append((time.perf_counter() - started) * 1000)
        browser.close()
    return {"first_row_ms": round(statistics.median(times)), "rounds_ms": [round(t) for t in times]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--browser", action="store_true", help="also measure in chromium")
    args = parser.parse_args()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, count in (("empty", 0), ("one_page", 20), ("full", args.tasks)):
            home = _home(Path(tmp) / label)
            started = time.perf_counter()
            _fill(home, count)
            results[label] = {"tasks": count, "fill_s": round(time.perf_counter() - started, 1)}
            results[label].update(_measure(home))
            assert results[label]["total"] == count
            assert results[label]["shown"] == min(20, count)
            if args.browser and label != "one_page":
                results[label]["browser"] = _browser(home)
        if args.browser:
            ratio = (
                results["full"]["browser"]["first_row_ms"]
                / results["empty"]["browser"]["first_row_ms"]
            )
            results["browser_full_vs_empty"] = round(ratio, 2)
    # full vs empty is the target; full vs one page (the same 20 rows
    # on screen) isolates what the 10,000-task backlog itself costs.
    for base in ("empty", "one_page"):
        for key in ("build_s", "build_cpu_s", "cold_build_s"):
            ratio = results["full"][key] / results[base][key]
            results[f"full_vs_{base}_{key[:-2]}"] = round(ratio, 2)
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
