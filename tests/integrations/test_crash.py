"""A worker killed in the middle of a Zoho or Mixpost call, then recovered, creates
nothing twice.

The worker is a real OS process (``_worker.py``) driving an ordinary
RunService; the double holds its call (``before`` the service acts on it,
or ``after`` it did, so the answer never reaches the worker), the test
SIGKILLs the worker, lets the double go on, and recovers the run in this
process once the dead worker's lease (0.5 s) has expired. Runs on SQLite
and PostgreSQL (the ``db_url`` fixture).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from sopbench.config import load_settings
from sopbench.engine import idempotency_key
from sopbench.integrations.registry import default_clients
from sopbench.services.runs import RunService
from sopbench.testing.servers import DiscordServer, MixpostServer, ZohoServer

from ._support import environ_for, write_workspace

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
WORKER = HERE / "_worker.py"


def child_env(values: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPBENCH_")}
    env.update(values)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


def spawn(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(WORKER), *args],
        cwd=REPO,
        env=child_env(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def kill(proc: subprocess.Popen[str]) -> None:
    proc.kill()
    proc.communicate(timeout=30)
    assert proc.returncode == -9, "the worker ended before it was killed"


def recover(service: RunService, run_id: str, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        moved = dict(service.recover())
        if run_id in moved:
            return moved[run_id]
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} was never recovered")


@pytest.mark.parametrize(
    ("when", "server_knows_keys"),
    [("before", True), ("after", True), ("after", False)],
    ids=["held-before", "held-after", "held-after-key-ignored"],
)
def test_worker_killed_during_zoho_task_insert(
    tmp_path: Path,
    db_url: str,
    zoho_server: ZohoServer,
    discord_server: DiscordServer,
    when: str,
    server_knows_keys: bool,
) -> None:
    zoho_server.honour_idempotency_key = server_knows_keys
    options = None if server_knows_keys else {"idempotency_field": "Sopbench_Key"}
    home = write_workspace(tmp_path / "home", zoho_url=zoho_server.url, zoho_options=options)
    environ = environ_for(db_url, zoho_server, discord_server)
    hold = zoho_server.hold(when, method="POST", path="/crm/v8/Tasks")  # type: ignore[arg-type]

    worker = spawn(
        [
            "run",
            "lead_intake",
            "--home",
            str(home),
            "--input",
            "name=Ada",
            "--input",
            "email=ada@example.com",
        ],
        environ,
    )
    try:
        assert hold.wait(60), worker.stderr.read() if worker.poll() is not None else "no call"
        kill(worker)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.communicate()
        hold.release()  # the double goes on with the dead worker's request

    service = RunService(load_settings(home, environ=environ), lease_ttl=timedelta(seconds=0.5))
    try:
        runs = service.list_runs()
        assert len(runs) == 1
        run_id = runs[0].id
        assert recover(service, run_id) == "succeeded"
        view = service.view(run_id)
    finally:
        service.close()

    tasks = zoho_server.records("Tasks")
    assert len(tasks) == 1, tasks  # never a second record
    steps = {s.path: s for s in view.steps}
    assert steps["follow_up"].result["record_id"] == tasks[0]["id"]
    assert len(zoho_server.records("Leads")) == 1
    assert len(discord_server.messages) == 1

    key = idempotency_key(run_id, "follow_up", "crm")
    posts = zoho_server.matching("POST", "/crm/v8/Tasks")
    assert {r.headers["idempotency-key"] for r in posts} == {key}  # the same key after the crash
    if server_knows_keys:
        assert len(posts) == 2  # repeated once, recognised by its key
    else:
        assert len(posts) == 1  # the adapter found the task by its key field first
        assert tasks[0]["Sopbench_Key"] == key


@pytest.mark.parametrize("server_knows_keys", [True, False], ids=["keyed", "key-ignored"])
def test_worker_killed_during_mixpost_post(
    tmp_path: Path,
    mixpost_server: MixpostServer,
    zoho_server: ZohoServer,
    discord_server: DiscordServer,
    server_knows_keys: bool,
) -> None:
    mixpost_server.honour_idempotency_key = server_knows_keys
    home = write_workspace(
        tmp_path / "home", zoho_url=zoho_server.url, mixpost_url=mixpost_server.api_url
    )
    environ = environ_for("sqlite://", zoho_server, discord_server, mixpost_server)
    hold = mixpost_server.hold("after", method="POST", path="/posts")
    key = "sb-0123456789abcdef0123456789abcdef"
    args = ["publish", "--home", str(home), "--key", key, "--body", "LAN night!"]
    worker = spawn([*args, "--account", "9", "--account", "11"], environ)
    try:
        assert hold.wait(60)
        kill(worker)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.communicate()
        hold.release()

    # recovery repeats the unfinished call with the same key
    settings = load_settings(home, environ=environ)
    from sopbench.library import load_workspace

    workspace = load_workspace(home)
    assert workspace.connections is not None
    adapter = default_clients()["mixpost"](workspace.connections.connections["mixpost"], settings)
    again = adapter.publish(accounts=[9, 11], body="LAN night!", idempotency_key=key)
    assert len(mixpost_server.posts) == 1
    assert again["post_id"] == mixpost_server.posts[0]["uuid"]
    assert {r.headers.get("idempotency-key") for r in mixpost_server.matching("POST")} == {key}
