"""Run every benchmark and print their JSON results (``make bench``).

Each benchmark is its own script (see its docstring); this only runs them in
turn so one command reproduces the table in benchmarks/README.md.
"""

from __future__ import annotations

import platform
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = [
    ["bench_validate.py"],
    ["bench_cli.py"],
    ["engine_vs_dbos.py", "--runs", "200"],
    ["bench_clients.py"],
    ["bench_tick.py"],
    ["bench_llm.py"],
]


def main() -> int:
    print(
        f"# {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.node()}, "
        f"{platform.machine()}, Python {platform.python_version()}"
    )
    for script in SCRIPTS:
        print(f"\n## {' '.join(script)}", flush=True)
        subprocess.run([sys.executable, str(HERE / script[0]), *script[1:]], check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
