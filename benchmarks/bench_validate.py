"""Validate + load a generated workspace of 1,000 SOPs.

* cold: a fresh ``python -m sopbench validate`` process (imports included), median of 5;
* warm: ``load_workspace`` again inside one process that has loaded it once
  (imports done, files in the OS cache), median of 5.

    python benchmarks/bench_validate.py [--sops 1000]
"""

from __future__ import annotations

import argparse
import json
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


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sops", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    from sopbench.library import load_workspace

    with tempfile.TemporaryDirectory() as tmp:
        home = generate(Path(tmp), args.sops)
        cold = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "sopbench", "--home", str(home), "validate"],
                check=True,
                capture_output=True,
            )
            cold.append(time.perf_counter() - started)
        workspace = load_workspace(home)
        assert workspace.valid, workspace.problems[:3]
        count = len(workspace.sops)
        warm = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            load_workspace(home)
            warm.append(time.perf_counter() - started)
    result = {"sops": count, "cold_s": statistics.median(cold), "warm_s": statistics.median(warm)}
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
