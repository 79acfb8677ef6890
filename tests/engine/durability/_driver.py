"""A sopbench process the durability proofs start, and kill.

Run as a script (``python _driver.py MODE ...``); it builds an ordinary
:class:`~sopbench.services.runs.RunService` over the workspace in ``--home``
(database from ``SOPBENCH_DB_URL`` / ``<home>/.env``) with lifecycle hooks:

``start SOP --input base=URL [--kill-after PATH | --kill-at-start PATH]``
    start a run and drive it. ``--kill-after`` SIGKILLs this process from
    ``on_step_end`` of step PATH, i.e. right after that step's result was
    committed; ``--kill-at-start`` from ``on_step_start`` (the step is
    recorded as started, its call not yet made). Without either, the test
    kills the process itself while a server holds one of its calls.
``decide TASK --as PERSON [--kill-at-start PATH]``
    approve a task and continue its run in this process (like
    ``sopbench approve``), and maybe die while doing so.
``recover [--kill-after PATH]``
    poll ``RunService.recover`` until it moves a run (a dead holder's lease
    has to expire first), and maybe die while driving it.
``work [--max-idle S] [--poll S]``
    ``RunService.work`` (what ``sopbench worker`` does), with a short lease.

The run id is printed (``run <id>``) as soon as the run starts driving.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from datetime import timedelta
from typing import Any

from sopbench.config import load_settings
from sopbench.services.runs import RunService


class Announce:
    """Tell the test which run this process drives, as soon as it drives it."""

    def on_run_start(self, *, run_id: str, sop_id: str) -> None:
        print(f"run {run_id}", flush=True)


class KillAt:
    """SIGKILL this very process at a step boundary (the state is already committed)."""

    def __init__(self, event: str, path: str) -> None:
        self.event, self.path = event, path

    def _maybe_die(self, event: str, path: str) -> None:
        if event == self.event and path == self.path:
            print(f"killing myself at {event} {path}", flush=True)
            os.kill(os.getpid(), signal.SIGKILL)

    def on_step_start(self, *, run_id: str, path: str, step: Any) -> None:
        self._maybe_die("on_step_start", path)

    def on_step_end(self, *, run_id: str, path: str, step: Any, status: str) -> None:
        self._maybe_die("on_step_end", path)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["start", "decide", "recover", "work"])
    parser.add_argument("sop", nargs="?", help="SOP id (start) or task id (decide)")
    parser.add_argument("--as", dest="person")
    parser.add_argument("--home", required=True)
    parser.add_argument("--input", action="append", default=[])
    parser.add_argument("--kill-after")
    parser.add_argument("--kill-at-start")
    parser.add_argument("--lease", type=float, default=0.5, help="lease_ttl in seconds")
    parser.add_argument("--max-idle", type=float, default=1.0)
    parser.add_argument("--poll", type=float, default=0.05)
    args = parser.parse_args(argv)

    hooks: list[object] = [Announce()]
    if args.kill_after:
        hooks.append(KillAt("on_step_end", args.kill_after))
    if args.kill_at_start:
        hooks.append(KillAt("on_step_start", args.kill_at_start))
    service = RunService(
        load_settings(args.home), hooks=hooks, lease_ttl=timedelta(seconds=args.lease)
    )
    try:
        if args.mode == "start":
            inputs = dict(item.split("=", 1) for item in args.input)
            view = service.start(args.sop, inputs, started_by="starter")
            print(f"status {view.run.status}", flush=True)
        elif args.mode == "decide":
            result = service.decide(args.sop, person=args.person, action="approve")
            print(f"decided {result}", flush=True)
        elif args.mode == "recover":
            deadline = time.monotonic() + 30
            while not (moved := service.recover()) and time.monotonic() < deadline:
                time.sleep(0.02)
            print(f"moved {moved}", flush=True)
        else:
            driven = service.work(poll=args.poll, max_idle=args.max_idle)
            print(f"driven {driven}", flush=True)
    finally:
        service.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
