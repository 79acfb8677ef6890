"""Two tick processes at once over many fire times: every fire time fires exactly once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from sopbench.scheduler import Scheduler
from sopbench.store.tables import fire_records, runs
from tests.engine.support import Bench

ROOT = Path(__file__).resolve().parents[2]
FIRE_TIMES = 240


def test_two_tick_processes_fire_each_time_once(bench: Bench, tmp_path: Path) -> None:
    now = datetime(2026, 5, 1, 12, 0, 30, tzinfo=UTC)
    start = now - timedelta(minutes=FIRE_TIMES - 1)
    scheduler = Scheduler(bench.service)
    view = scheduler.add("sch_plain", "* * * * *", catchup="all", now=start - timedelta(seconds=40))
    go = tmp_path / "go"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPBENCH_")}
    env["PYTHONPATH"] = str(ROOT)
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.scheduler._ticker",
                str(bench.home),
                bench.settings.db_url,
                now.isoformat(),
                str(go),
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    time.sleep(1.5)  # both processes imported and waiting
    go.touch()
    outs = []
    for proc in procs:
        out, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err
        outs.append(json.loads(out.strip().splitlines()[-1]))
    with bench.db.read() as conn:
        records = conn.execute(
            select(fire_records.c.fire_time, fire_records.c.run_id, fire_records.c.status).where(
                fire_records.c.schedule_id == view.id
            )
        ).all()
        run_count = conn.execute(select(func.count()).select_from(runs)).scalar_one()
        statuses = set(conn.execute(select(runs.c.status)).scalars())
    expected = {start.replace(second=0) + timedelta(minutes=i) for i in range(FIRE_TIMES)}
    assert {r.fire_time for r in records} == expected  # 0 misses
    assert len(records) == FIRE_TIMES  # 0 duplicates (and the key forbids them)
    assert len({r.run_id for r in records}) == FIRE_TIMES
    assert run_count == FIRE_TIMES
    assert statuses == {"succeeded"}
    assert sum(o["fired"] for o in outs) == FIRE_TIMES
    print("per process:", outs)
