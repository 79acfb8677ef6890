"""``sopbench tick``: reports cost, and exactly-once under two concurrent ticks.

* ``tick_10_reports_s``: one ``sopbench tick`` process firing 10 due SOPs
  (one schedule each), driving their runs and writing 10 report notebooks
  + HTML in-process, vs ``papermill_cli_10_s``: 10 ``papermill`` CLI calls
  of the same report notebook for the same runs. Target ratio <= 0.4.
* ``concurrent`` (SQLite) and ``concurrent_postgresql`` (a private
  PostgreSQL, or ``$SOPBENCH_TEST_PG_URL``): 2 tick processes at once over
  1,000 due fire times of one schedule (``catchup: all``): duplicates and
  misses must both be 0.

    python benchmarks/bench_tick.py                # everything
    python benchmarks/bench_tick.py --concurrent   # only the two exactly-once checks
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIRE_TIMES = 1000

SOP = """\
sop_id: {sop_id}
entity: saas
name: Tick benchmark {n}
steps:
  - id: first
    type: transform
    with: {{set: {{n: {n}}}}}
  - id: second
    type: transform
    with: {{set: {{label: "run {{{{ vars.n }}}}"}}}}
"""


def _sopbench(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sopbench", "--home", str(home), *args],
        check=True,
        capture_output=True,
        text=True,
    )


def _ticker(home: str, now_text: str, go: str) -> None:
    """One of the two concurrent tick processes (``--ticker HOME NOW GO``); the
    database is ``$SOPBENCH_DB_URL`` (default: the workspace's SQLite file)."""
    from sopbench.config import load_settings
    from sopbench.scheduler import Scheduler
    from sopbench.services.runs import RunService

    service = RunService(load_settings(home))
    scheduler = Scheduler(service, cap=100)
    now = datetime.fromisoformat(now_text)
    while not Path(go).exists():
        time.sleep(0.002)
    fired = lost = 0
    started = time.perf_counter()
    while True:
        result = scheduler.tick(now, sync=False)
        fired += len(result.fires)
        lost += result.lost
        if not result.fires and not result.lost:
            break
    print(json.dumps({"fired": fired, "lost": lost, "s": time.perf_counter() - started}))


def _write_sops(home: Path) -> None:
    for n in range(10):
        sop_id = f"bench_tick_{n:02d}"
        (home / "sops" / "saas" / f"{sop_id}.yaml").write_text(SOP.format(sop_id=sop_id, n=n))
    _sopbench(home, "validate")


def _reports(home: Path) -> dict[str, float]:
    from sopbench.config import load_settings
    from sopbench.scheduler import Scheduler
    from sopbench.services.runs import RunService

    service = RunService(load_settings(home))
    scheduler = Scheduler(service)
    past = datetime.now(UTC) - timedelta(minutes=3)
    for n in range(10):
        scheduler.add(f"bench_tick_{n:02d}", "* * * * *", catchup="latest", now=past)
    # Trigger schedules of the reference SOPs are not due within minutes; pause them
    # anyway so only the 10 benchmark schedules fire.
    scheduler.sync()
    for view in scheduler.schedules():
        if view.source == "trigger":
            scheduler.pause(view.id)
    service.close()

    started = time.perf_counter()
    out = _sopbench(home, "tick", "--json")
    tick_s = time.perf_counter() - started
    result = json.loads(out.stdout)
    run_ids = [f["run_id"] for f in result["fires"]]
    assert len(run_ids) == 10 and len(result["reports"]) == 10, result

    notebook = ROOT / "notebooks" / "run_sop.ipynb"
    started = time.perf_counter()
    for run_id in run_ids:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "papermill",
                str(notebook),
                str(home / f"cli-{run_id}.ipynb"),
                "-p",
                "run_id",
                run_id,
                "-p",
                "home",
                str(home),
                "-k",
                "python3",
                "--no-progress-bar",
            ],
            check=True,
            capture_output=True,
        )
    cli_s = time.perf_counter() - started
    return {
        "tick_10_reports_s": round(tick_s, 2),
        "papermill_cli_10_s": round(cli_s, 2),
        "ratio": round(tick_s / cli_s, 2),
    }


def _concurrent(home: Path, db_url: str | None = None) -> dict[str, object]:
    """Two tick processes over one database (``db_url``, else the workspace's SQLite)."""
    from sqlalchemy import func, select

    from sopbench.config import load_settings
    from sopbench.scheduler import Scheduler
    from sopbench.services.runs import RunService
    from sopbench.store.tables import fire_records

    env = {k: v for k, v in os.environ.items() if k != "SOPBENCH_DB_URL"}
    if db_url is not None:
        env["SOPBENCH_DB_URL"] = db_url
    service = RunService(load_settings(home, environ=env))
    scheduler = Scheduler(service)
    now = datetime(2026, 6, 1, 12, 0, 30, tzinfo=UTC)
    start = now - timedelta(minutes=FIRE_TIMES - 1)
    view = scheduler.add(
        "bench_tick_00", "* * * * *", catchup="all", now=start - timedelta(seconds=40)
    )
    go = home / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, __file__, "--ticker", str(home), now.isoformat(), str(go)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    time.sleep(2.0)
    go.touch()
    outs = [json.loads((p.communicate()[0] or "").strip().splitlines()[-1]) for p in procs]
    with service.db.read() as conn:
        rows = conn.execute(
            select(fire_records.c.fire_time, func.count())
            .where(fire_records.c.schedule_id == view.id)
            .group_by(fire_records.c.fire_time)
        ).all()
    service.close()
    expected = {start.replace(second=0) + timedelta(minutes=i) for i in range(FIRE_TIMES)}
    got = {r[0] for r in rows}
    return {
        "fire_times": FIRE_TIMES,
        "duplicates": sum(r[1] - 1 for r in rows)
        + max(0, sum(o["fired"] for o in outs) - len(got)),
        "misses": len(expected - got),
        "per_process_fired": [o["fired"] for o in outs],
        "wall_s": round(max(o["s"] for o in outs), 2),
    }


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--ticker":
        _ticker(*sys.argv[2:5])
        return 0
    from sopbench.testing.postgres import PostgresServer

    only_concurrent = sys.argv[1:] == ["--concurrent"]
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "ws"
        _sopbench(home, "init")
        _write_sops(home)
        results: dict[str, object] = {} if only_concurrent else dict(_reports(home))
        results["concurrent"] = _concurrent(home)
        with PostgresServer.from_env() as server:
            results["concurrent_postgresql"] = _concurrent(home, server.create_database())
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
