"""Validate + load a generated workspace of 1,000 SOPs.

The workspace is initialised (it has its ``.sopbench/`` state folder, so the
per-file load cache is used), as after ``sopbench init``.

* cold: a fresh ``python -m sopbench validate`` process with no load cache
  (imports included), median of N;
* warm cache: a fresh process whose load cache is warm (nothing changed), median of N;
* in-process: ``load_workspace`` again in a process that has loaded it once.

    python benchmarks/bench_validate.py [--sops 1000] [--repeat 5]
    python benchmarks/bench_validate.py --bundled     # the reference workspace, sops/
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from workspace_gen import generate  # noqa: E402


def _timed(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sops", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--bundled", action="store_true", help="the reference sops/ instead")
    args = parser.parse_args()
    from sopbench.library import load_workspace

    with tempfile.TemporaryDirectory() as tmp:
        if args.bundled:
            home = Path(tmp)
            shutil.copytree(HERE.parent / "sops", home / "sops")
        else:
            home = generate(Path(tmp), args.sops)
        (home / ".sopbench").mkdir()
        command = [sys.executable, "-m", "sopbench", "--home", str(home), "validate"]
        cold = []
        for _ in range(args.repeat):
            shutil.rmtree(home / ".sopbench" / "cache", ignore_errors=True)
            cold.append(_timed(command))
        warm_cache = [_timed(command) for _ in range(args.repeat)]
        workspace = load_workspace(home)
        assert workspace.valid, workspace.problems[:3]
        count = len(workspace.sops)
        reload = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            load_workspace(home)
            reload.append(time.perf_counter() - started)
    print(
        json.dumps(
            {
                "sops": count,
                "cold_process_s": round(statistics.median(cold), 3),
                "warm_cache_process_s": round(statistics.median(warm_cache), 3),
                "in_process_reload_s": round(statistics.median(reload), 3),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
