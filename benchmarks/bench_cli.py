"""What a user feels at the command line, on the bundled workspace (SQLite).

* ``dry-run --all``: wall time of ``sopbench dry-run --all`` (every SOP, every example);
* run latency: from starting ``sopbench run`` to the first step committed
  (validate + load + database + engine start), read from the journal.

    python benchmarks/bench_cli.py
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ONE_STEP = """\
sop_id: bench_first_step
entity: saas
name: First-step latency probe
steps:
  - id: first
    type: transform
    with: {set: {started: true}}
"""


def _sopbench(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sopbench", "--home", str(home), *args],
        check=True,
        capture_output=True,
        text=True,
    )


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "ws"
        _sopbench(home, "init")
        (home / "sops" / "saas" / "bench_first_step.yaml").write_text(ONE_STEP)
        _sopbench(home, "validate")  # warm the load cache, as any earlier command would
        dry = []
        for _ in range(3):
            started = time.perf_counter()
            _sopbench(home, "dry-run", "--all")
            dry.append(time.perf_counter() - started)
        latency = []
        for _ in range(5):
            started_wall = datetime.now(UTC)
            out = _sopbench(home, "run", "bench_first_step", "--json")
            run_id = json.loads(out.stdout)["run_id"]
            journal = json.loads(_sopbench(home, "show", run_id, "--json").stdout)["journal"]
            first = next(e for e in journal if e["kind"] == "step.succeeded")
            committed = datetime.fromisoformat(first["ts"])
            latency.append((committed - started_wall).total_seconds())
        sops = len(json.loads(_sopbench(home, "list", "--json").stdout))
    print(
        json.dumps(
            {
                "sops": sops,
                "dry_run_all_s": statistics.median(dry),
                "run_to_first_step_s": statistics.median(latency),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
