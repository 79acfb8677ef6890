"""``sopbench sandbox``: the doubles start, the workspace points at them, a run goes through."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sopbench.config import load_settings
from sopbench.content.media_adapter import media_factory
from sopbench.integrations.canva import canva_factory
from sopbench.integrations.embedded_llm import llm_factory
from sopbench.integrations.registry import default_clients
from sopbench.integrations.video import video_factory
from sopbench.library import load_workspace
from sopbench.model.workspace import Connection
from sopbench.services.runs import RunService
from sopbench.testing.sandbox import SandboxRunner

REPO = Path(__file__).resolve().parents[2]

ENTITIES = """
entities:
  shop:
    name: Corner Shop
    timezone: America/Denver
    channels:
      staff: {type: discord, secret: DISCORD_WEBHOOK_SHOP}
      customers: {type: email, to: [hello@shop.example], secret: SMTP_PASSWORD}
    crm:
      connection: zoho
      modules: {deal: Deals, task: Tasks}
"""
SOP = """
sop_id: sandbox_check
entity: shop
name: Sandbox check
steps:
  - id: tell_staff
    type: notification
    with: {channel: staff, message: "Stock count done"}
  - id: mail_customers
    type: notification
    with: {channel: customers, subject: "We are open", message: "Open until 9 tonight."}
  - id: follow_up
    type: create_task
    with: {subject: "Call the supplier", priority: High}
"""
CONNECTIONS = """
connections:
  zoho:
    type: zoho
    base_url: https://www.zohoapis.com/crm/v8
    secret: ZOHO_REFRESH_TOKEN
  canva:
    type: canva
    secret: CANVA_ACCESS_TOKEN
  sora:
    type: video
    base_url: https://api.openai.com/v1
    secret: OPENAI_API_KEY
"""


def small_workspace(home: Path) -> Path:
    (home / "sops" / "shop").mkdir(parents=True)
    (home / "sops" / "entities.yaml").write_text(ENTITIES)
    (home / "sops" / "connections.yaml").write_text(CONNECTIONS)
    (home / "sops" / "shop" / "sandbox_check.yaml").write_text(SOP)
    workspace = load_workspace(home)
    assert not workspace.problems, workspace.problems
    return home


def clean_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPBENCH_")}
    for name in ("SMTP_PASSWORD", "OPENAI_API_KEY", "DISCORD_WEBHOOK_SHOP"):
        env.pop(name, None)
    env["SOPBENCH_HOME"] = str(home)
    return env


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[tuple[SandboxRunner, Path]]:
    home = small_workspace(tmp_path / "ws")
    settings = load_settings(home, environ={})
    with SandboxRunner(
        settings, load_workspace(home), environ={}, video_polls=1, poll_after_ms=10
    ) as runner:
        yield runner, home


def server(runner: SandboxRunner, name: str) -> Any:
    return next(s.server for s in runner.started if s.name == name)


def test_overlay_points_every_client_at_the_doubles(
    sandbox: tuple[SandboxRunner, Path],
) -> None:
    runner, home = sandbox
    settings = load_settings(home, environ={})
    assert settings.sandbox is not None and settings.sandbox.pid == os.getpid()
    assert settings.llm_url == server(runner, "llm").api_url
    assert settings.secrets.get("CANVA_ACCESS_TOKEN").startswith("sandbox-canva-")
    assert (home / ".sopbench" / "sandbox.json").stat().st_mode & 0o777 == 0o600

    clients = default_clients()
    sent = clients["email"](None, settings).send(
        channel={"type": "email", "to": ["a@shop.example"], "secret": "SMTP_PASSWORD"},
        message="hello",
        subject="hi",
        idempotency_key="k1",
    )
    [mail] = server(runner, "smtp").messages
    assert mail.tls and mail.message["Message-ID"] == sent["message_id"]

    posted = clients["discord"](None, settings).send(
        channel={"type": "discord", "secret": "DISCORD_WEBHOOK_SHOP"},
        message="hello",
        subject=None,
        idempotency_key="k2",
    )
    assert posted["message_id"]

    with _closing(canva_factory(None, settings)) as canva_client:
        assert canva_client.create_design(title="Flyer")["id"]
    with _closing(video_factory(None, settings)) as videos:
        assert videos.create("A LAN party").status == "queued"
    with _closing(llm_factory(None, settings)) as llm:
        assert llm.chat([{"role": "user", "content": "hello"}]).text.startswith("Sandbox draft")
    mixpost_conn = Connection.model_validate(dict(settings.sandbox.connection("mixpost") or {}))
    with _closing(clients["mixpost"](mixpost_conn, settings).client()) as mixpost:
        assert {a.provider for a in mixpost.accounts()} >= {"twitch", "whatnot", "discord"}


class _closing:
    def __init__(self, thing: Any) -> None:
        self.thing = thing

    def __enter__(self) -> Any:
        return self.thing

    def __exit__(self, *exc: object) -> None:
        self.thing.close()


def test_a_real_run_goes_through_the_doubles(sandbox: tuple[SandboxRunner, Path]) -> None:
    runner, home = sandbox
    service = RunService(load_settings(home, environ={}))
    try:
        view = service.start("sandbox_check", {})
    finally:
        service.close()
    assert view.run.status == "succeeded", (view.run.error, [s.error for s in view.steps])
    assert len(server(runner, "discord").messages) == 1
    assert server(runner, "smtp").messages[0].message["Subject"] == "We are open"
    tasks = [r for r in server(runner, "zoho").requests if r.path.endswith("/Tasks")]
    assert tasks and tasks[-1].status in (200, 201)


def test_media_adapter_uses_the_sandbox(sandbox: tuple[SandboxRunner, Path]) -> None:
    runner, home = sandbox
    prompts = home / "sops" / "prompts"
    (prompts / "sora").mkdir(parents=True)
    (prompts / "services.yaml").write_text(
        "services:\n  lan: {entity: shop, name: LAN, description: LAN nights, audience: gamers}\n"
    )
    (prompts / "sora" / "shop.yaml").write_text(
        "prompts:\n  - id: teaser\n    service: lan\n    title: Teaser\n    seconds: 4\n"
        "    size: 720x1280\n    shot: A slow pan across glowing gaming rigs in a dark room.\n"
        "    audio: Synth music.\n"
    )
    settings = load_settings(home, environ={})
    adapter = media_factory(None, settings)
    made = adapter.request("shop", "teaser", {}, run_id="run_x", idempotency_key="run_x:media")
    deadline = time.monotonic() + 10
    while (status := adapter.status(made["request_id"]))["asset"] is None:
        assert status["status"] == "running" and time.monotonic() < deadline, status
        time.sleep(0.02)
    assert status["asset"]["kind"] == "sora"
    assert server(runner, "video").count("POST", "/v1/videos") == 1


def test_stale_or_disabled_overlay_is_ignored(tmp_path: Path) -> None:
    home = small_workspace(tmp_path / "ws")
    overlay = home / ".sopbench" / "sandbox.json"
    overlay.parent.mkdir()
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    overlay.write_text(
        json.dumps({"pid": int(dead.stdout), "secrets": {"X_TOKEN": "fake-token-0001"}})
    )
    assert load_settings(home, environ={}).sandbox is None
    overlay.write_text(json.dumps({"pid": os.getpid(), "secrets": {"X_TOKEN": "fake-token-0001"}}))
    assert load_settings(home, environ={}).secrets.get("X_TOKEN") == "fake-token-0001"
    off = load_settings(home, environ={"SOPBENCH_SANDBOX_FILE": "off"})
    assert off.sandbox is None and not off.secrets.has("X_TOKEN")


def _port_open(url: str) -> bool:
    host, port = url.split("//")[1].split("/")[0].split("@")[-1].split(":")
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, int(port))) == 0


@pytest.mark.slow
def test_cli_runs_until_sigterm_and_cleans_up(tmp_path: Path) -> None:
    home = tmp_path / "ws"
    home.mkdir()
    shutil.copytree(REPO / "sops", home / "sops")  # the reference workspace
    env = clean_env(home)
    proc = subprocess.Popen(
        [sys.executable, "-m", "sopbench", "sandbox", "--json"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    overlay = home / ".sopbench" / "sandbox.json"
    try:
        deadline = time.monotonic() + 30
        while not overlay.exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.1)
        data = json.loads(overlay.read_text())
        assert data["pid"] == proc.pid
        assert set(data["services"]) >= {
            "mixpost",
            "zoho",
            "discord",
            "smtp",
            "canva",
            "video",
            "llm",
        }
        settings = load_settings(home, environ={})
        assert settings.sandbox is not None
        assert settings.secrets.get("DISCORD_WEBHOOK_GOV").startswith(data["services"]["discord"])
        llm_url = data["settings"]["SOPBENCH_LLM_URL"]
        assert httpx.get(f"{llm_url}/models").json()["data"][0]["id"] == "sandbox-model"
        second = subprocess.run(
            [sys.executable, "-m", "sopbench", "sandbox"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode == 1 and "already running" in second.stderr
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    summary = json.loads(out)
    assert "zoho" in summary["connections"] and "SMTP_PASSWORD" in summary["secrets"]
    assert "sandbox stopped" in err
    assert not overlay.exists()
    assert load_settings(home, environ={}).sandbox is None
    assert not any(_port_open(url) for url in data["services"].values())
