"""Run many ``sopbench`` CLI commands in separate processes at the same instant.

``python _racer.py --home H --out DIR -- ARGV-1 ;; ARGV-2 ;; ...``

The parent imports sopbench once, then forks one child process per command
line. Every child blocks on a shared pipe until the parent writes one byte
per child, so they all leave the starting line together (a plain
``subprocess`` per command would spread them over seconds of interpreter
start-up on a small machine). Each child then runs the real CLI entry point
(``sopbench.cli.main``: its own settings, database connections and run
service, like ``python -m sopbench``) with stdout/stderr in DIR/N.out and
DIR/N.err and exits with the CLI's exit code. The parent prints one JSON
line per child: ``{"n", "argv", "rc", "out", "err"}``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import sopbench.cli
import sopbench.cli.runs
import sopbench.cli.workspace
import sopbench.services.runs


def child(n: int, argv: list[str], out_dir: Path, go: int) -> None:
    out = os.open(out_dir / f"{n}.out", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    err = os.open(out_dir / f"{n}.err", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    os.dup2(out, 1)
    os.dup2(err, 2)
    os.read(go, 1)  # the starting gun
    try:
        rc = sopbench.cli.main(argv)
    except BaseException as exc:
        print(f"racer: {type(exc).__name__}: {exc}", file=sys.stderr)
        rc = 99
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(rc)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--home", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("commands", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    words = args.commands[1:] if args.commands[:1] == ["--"] else args.commands
    commands: list[list[str]] = [[]]
    for word in words:
        if word == ";;":
            commands.append([])
        else:
            commands[-1].append(word)
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    go_read, go_write = os.pipe()
    children: dict[int, tuple[int, list[str]]] = {}
    for n, command in enumerate(commands):
        argv = ["--home", args.home, *command]
        pid = os.fork()
        if pid == 0:
            os.close(go_write)
            child(n, argv, out_dir, go_read)
        children[pid] = (n, argv)
    os.write(go_write, b"x" * len(commands))
    results: list[dict[str, Any]] = []
    for pid, (n, argv) in children.items():
        _, status = os.waitpid(pid, 0)
        results.append(
            {
                "n": n,
                "argv": argv,
                "rc": os.waitstatus_to_exitcode(status),
                "out": (out_dir / f"{n}.out").read_text(),
                "err": (out_dir / f"{n}.err").read_text(),
            }
        )
    for result in sorted(results, key=lambda r: r["n"]):
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
