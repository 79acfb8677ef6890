"""A sopbench process the crash tests start, and kill while it waits on a double.

``python _worker.py run SOP --home H [--input k=v ...]``
    start a run with an ordinary RunService (default clients, lease 0.5 s)
    and drive it.
``python _worker.py publish --home H --key K --body TEXT --account N ...``
    publish one post through the workspace's ``mixpost`` connection.
``python _worker.py recover --home H``
    drive every run that is ready (``RunService.recover``, lease 0.5 s).

Settings (database URL, secrets) come from the environment, as in production.
"""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta

from sopbench.config import load_settings
from sopbench.integrations.registry import default_clients
from sopbench.services.runs import RunService


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["run", "publish", "recover"])
    parser.add_argument("sop", nargs="?")
    parser.add_argument("--home", required=True)
    parser.add_argument("--input", action="append", default=[])
    parser.add_argument("--key")
    parser.add_argument("--body")
    parser.add_argument("--account", action="append", type=int, default=[])
    args = parser.parse_args(argv)
    settings = load_settings(args.home)
    if args.mode == "run":
        service = RunService(settings, lease_ttl=timedelta(seconds=0.5))
        try:
            view = service.start(
                args.sop, dict(item.split("=", 1) for item in args.input), started_by="worker"
            )
            print(f"status {view.run.status}", flush=True)
        finally:
            service.close()
        return 0
    if args.mode == "recover":
        service = RunService(settings, lease_ttl=timedelta(seconds=0.5))
        try:
            print(f"moved {service.recover()}", flush=True)
        finally:
            service.close()
        return 0
    connections = service_connections(settings.home)
    adapter = default_clients()["mixpost"](connections["mixpost"], settings)
    print(adapter.publish(accounts=args.account, body=args.body, idempotency_key=args.key))
    return 0


def service_connections(home: object) -> dict[str, object]:
    from sopbench.library import load_workspace

    workspace = load_workspace(home)  # type: ignore[arg-type]
    assert workspace.connections is not None
    return dict(workspace.connections.connections)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
