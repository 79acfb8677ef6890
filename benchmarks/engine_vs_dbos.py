"""Per-step overhead of sopbench's engine vs DBOS Transact, on SQLite and PostgreSQL.

Both run the same workload in the same benchmark run: N durable workflows of
10 trivial steps (sopbench: a SOP of 10 ``transform`` steps; DBOS: a
``@DBOS.workflow`` calling a ``@DBOS.step`` 10 times). Each side runs in its
own subprocess (DBOS keeps process-global state) against its own fresh
database; PostgreSQL is one throwaway server started here.

    python benchmarks/engine_vs_dbos.py [--runs 200]

Prints one JSON line per (engine, database) and a summary table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
STEPS = 10

SOP = """\
sop_id: bench_transform
entity: bench
name: Ten transforms
inputs:
  start: {type: integer, default: 0}
steps:
""" + "".join(
    f"  - id: s{i}\n    type: transform\n"
    f'    with: {{set: {{v{i}: "{{{{ inputs.start + {i} }}}}"}}}}\n'
    for i in range(STEPS)
)

ENTITIES = "entities:\n  bench: {name: Bench, timezone: UTC}\n"
PEOPLE = "people:\n  ops: {name: Ops, roles: [owner]}\n"


def _workspace(root: Path) -> Path:
    (root / "sops" / "bench").mkdir(parents=True, exist_ok=True)
    (root / "sops" / "entities.yaml").write_text(ENTITIES)
    (root / "sops" / "people.yaml").write_text(PEOPLE)
    (root / "sops" / "bench" / "bench_transform.yaml").write_text(SOP)
    return root


def run_sopbench(db_url: str, runs: int) -> dict[str, float]:
    from sopbench.config import load_settings
    from sopbench.services.runs import RunService

    with tempfile.TemporaryDirectory() as tmp:
        home = _workspace(Path(tmp))
        settings = load_settings(home, environ={"SOPBENCH_DB_URL": db_url})
        service = RunService(settings)
        sop = service.workspace.sop("bench_transform")
        engine = service.engine
        engine.drive(engine.start_run(sop, {"start": 1}))  # warm caches and connections
        started = time.perf_counter()
        for index in range(runs):
            run_id = engine.start_run(sop, {"start": index})
            if engine.drive(run_id) != "succeeded":
                raise SystemExit(f"run {run_id} did not succeed")
        elapsed = time.perf_counter() - started
        service.close()
    return {"seconds": elapsed, "runs": runs}


def run_dbos(db_url: str, runs: int) -> dict[str, float]:
    from dbos import DBOS, DBOSConfig

    config: DBOSConfig = {"name": "bench", "system_database_url": db_url, "log_level": "ERROR"}
    DBOS(config=config)

    @DBOS.step()
    def add(value: int, delta: int) -> int:
        return value + delta

    @DBOS.workflow()
    def ten(start: int) -> int:
        value = start
        for i in range(STEPS):
            value = add(value, i)
        return value

    DBOS.launch()
    ten(1)
    started = time.perf_counter()
    for index in range(runs):
        ten(index)
    elapsed = time.perf_counter() - started
    DBOS.destroy()
    return {"seconds": elapsed, "runs": runs}


def _child(kind: str, db_url: str, runs: int) -> None:
    result = run_sopbench(db_url, runs) if kind == "sopbench" else run_dbos(db_url, runs)
    print(json.dumps(result))


def _measure(kind: str, db_url: str, runs: int) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind, "--db", db_url, "--runs", str(runs)],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    result["ms_per_step"] = result["seconds"] * 1000 / (result["runs"] * STEPS)
    result["runs_per_s"] = result["runs"] / result["seconds"]
    return result


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--child", choices=["sopbench", "dbos"])
    parser.add_argument("--db")
    args = parser.parse_args()
    if args.child:
        _child(args.child, args.db, args.runs)
        return 0
    sys.path.insert(0, str(HERE.parent))
    from sopbench.testing.postgres import PostgresServer

    rows = []
    with tempfile.TemporaryDirectory() as tmp, PostgresServer() as pg:
        for db in ("sqlite", "postgresql"):
            for kind in ("sopbench", "dbos"):
                if db == "sqlite":
                    url = f"sqlite:///{tmp}/{kind}.db"
                else:
                    pg.create_database(f"bench_{kind}")
                    url = pg.url(f"bench_{kind}")
                    if kind == "dbos":
                        url = url.replace("postgresql+psycopg://", "postgresql://")
                result = _measure(kind, url, args.runs)
                rows.append({"engine": kind, "db": db, **result})
                print(json.dumps(rows[-1]), flush=True)
    print(
        "\n| database | sopbench ms/step | DBOS ms/step | ratio (sopbench/DBOS) "
        "| sopbench runs/s | DBOS runs/s |"
    )
    print("|---|---|---|---|---|---|")
    for db in ("sqlite", "postgresql"):
        ours = next(r for r in rows if r["db"] == db and r["engine"] == "sopbench")
        theirs = next(r for r in rows if r["db"] == db and r["engine"] == "dbos")
        print(
            f"| {db} | {ours['ms_per_step']:.3f} | {theirs['ms_per_step']:.3f} | "
            f"{ours['ms_per_step'] / theirs['ms_per_step']:.2f}x | {ours['runs_per_s']:.1f} | "
            f"{theirs['runs_per_s']:.1f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
