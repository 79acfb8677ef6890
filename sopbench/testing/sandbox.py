"""``sopbench sandbox``: every local double started, and the workspace pointed at them.

:class:`SandboxRunner` starts one double per outside service (Mixpost,
Zoho CRM, Discord, SMTP, Canva, the Videos API, an OpenAI-compatible LLM,
and a recording server for plain ``type: http`` connections), then writes
the overlay :func:`sopbench.config.load_settings` reads
(``<home>/.sopbench/sandbox.json`` or ``$SOPBENCH_SANDBOX_FILE``):

* ``connections`` — one per connection name the workspace uses (from
  ``sops/connections.yaml``, the entities' CRM connections and the
  defaults ``zoho``, ``mixpost``, ``canva``, ``video``, ``smtp``, ``llm``),
  keeping each one's secret *name* but with the double's URL;
* ``secrets`` — fake values for those names and for every channel secret
  in ``entities.yaml`` (Discord channels get a webhook URL of the Discord
  double each, email channels the SMTP double's password). Real secret
  values are never read;
* ``settings`` — ``SOPBENCH_LLM_URL`` / ``SOPBENCH_LLM_MODEL``.

While the overlay's process lives, every ``sopbench`` command on that
workspace (and the engine's connection lookup) uses the doubles; the file
is removed when the sandbox stops.
"""

from __future__ import annotations

import json
import os
import secrets as secretslib
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sopbench.config import Settings, sandbox_path
from sopbench.errors import ConfigError
from sopbench.library import Workspace
from sopbench.model.workspace import Connection
from sopbench.testing.recorder import Recorder
from sopbench.testing.servers import DiscordServer, MixpostServer, ZohoServer
from sopbench.testing.servers.canva import CanvaServer
from sopbench.testing.servers.llm import LlmServer
from sopbench.testing.servers.video import VideoServer
from sopbench.testing.servers.zoho import DEFAULT_MODULES, ModuleSpec

__all__ = ["SandboxRunner", "Started"]

DEFAULT_SECRETS = {
    "zoho": "ZOHO_REFRESH_TOKEN",
    "mixpost": "MIXPOST_TOKEN",
    "canva": "CANVA_TOKEN",
    "video": "OPENAI_API_KEY",
    "smtp": "SMTP_PASSWORD",
}


@dataclass
class Started:
    """One double the sandbox runs."""

    name: str
    url: str
    note: str = ""
    server: Any = field(default=None, repr=False)


def _fake(kind: str) -> str:
    return f"sandbox-{kind}-{secretslib.token_hex(8)}"


class SandboxRunner:
    """Starts the doubles for one workspace and writes (then removes) its overlay."""

    def __init__(
        self,
        settings: Settings,
        workspace: Workspace | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        video_polls: int = 2,
        poll_after_ms: int = 1000,
        llm_url: str | None = None,
    ) -> None:
        """``llm_url``: a real model server to use (e.g. the embedded one) instead of
        starting the LLM double."""
        self.settings = settings
        self.llm_url = llm_url
        self.workspace = workspace
        env = dict(os.environ if environ is None else environ)
        path = sandbox_path(settings.home, env)
        if path is None:
            raise ConfigError(
                "SOPBENCH_SANDBOX_FILE is `off`: the sandbox would have nowhere to point "
                "the workspace",
                hint="unset SOPBENCH_SANDBOX_FILE or give it a file path",
            )
        self.path = path
        self.video_polls = video_polls
        self.poll_after_ms = poll_after_ms
        self.started: list[Started] = []
        self.skipped: dict[str, str] = {}
        self.connections: dict[str, dict[str, Any]] = {}
        self.secrets: dict[str, str] = {}
        self.values: dict[str, str] = {}

    # -- what the workspace uses --------------------------------------------------------
    def _workspace_connections(self) -> dict[str, Connection]:
        ws = self.workspace
        return dict(ws.connections.connections) if ws is not None and ws.connections else {}

    def _names(self, type_: str, default: str) -> list[str]:
        names = [n for n, c in self._workspace_connections().items() if c.type == type_]
        if type_ == "zoho" and self.workspace is not None and self.workspace.entities:
            for entity in self.workspace.entities.entities.values():
                if entity.crm is not None and entity.crm.connection not in names:
                    names.append(entity.crm.connection)
        return names or [default]

    def _zoho_modules(self) -> dict[str, ModuleSpec]:
        """Zoho's standard modules plus the entities' custom ones (``Hardware_Tests``...).

        A custom module's record name, ``Name``, is mandatory, as in Zoho.
        """
        modules = dict(DEFAULT_MODULES)
        if self.workspace is not None and self.workspace.entities:
            for entity in self.workspace.entities.entities.values():
                for api_name in entity.crm.modules.values() if entity.crm else ():
                    modules.setdefault(api_name, ModuleSpec(("Name",)))
        return modules

    def _channels(self, type_: str) -> list[str]:
        """Secret names of the entities' channels of ``type_``."""
        if self.workspace is None or self.workspace.entities is None:
            return []
        found: list[str] = []
        for entity in self.workspace.entities.entities.values():
            for channel in entity.channels.values():
                if channel.type == type_ and channel.secret and channel.secret not in found:
                    found.append(channel.secret)
        return found

    def _connection(self, name: str, type_: str, base_url: str, **options: Any) -> dict[str, Any]:
        """A sandbox copy of connection ``name``: same secret name and options, our URL."""
        mine = self._workspace_connections().get(name)
        fields: dict[str, Any] = {
            "type": type_,
            "base_url": base_url,
            "secret": (mine.secret if mine else None) or DEFAULT_SECRETS.get(type_),
            "options": {**(mine.options if mine else {}), **options},
        }
        if mine is not None:
            fields.update(auth=mine.auth, header=mine.header, timeout=mine.timeout)
        Connection.model_validate(fields)  # the overlay must load where it is used
        self.connections[name] = fields
        return fields

    # -- lifecycle ---------------------------------------------------------------------------
    def _run(self, name: str, server: Any, url: str, note: str = "") -> Any:
        server.start()
        self.started.append(Started(name, url, note, server))
        return server

    def start(self) -> SandboxRunner:
        try:
            self._start_all()
            self._write()
        except BaseException:
            self.stop()
            raise
        return self

    def _start_all(self) -> None:
        # Mixpost
        token = _fake("mixpost")
        mixpost = self._run("mixpost", MixpostServer(token=token), "")
        self.started[-1].url = mixpost.api_url
        for name in self._names("mixpost", "mixpost"):
            fields = self._connection(name, "mixpost", mixpost.api_url)
            self.secrets[fields["secret"]] = token
        # Zoho CRM
        zoho_secrets = (_fake("zoho-id"), _fake("zoho-secret"), _fake("zoho-refresh"))
        zoho = self._run(
            "zoho",
            ZohoServer(
                client_id=zoho_secrets[0],
                client_secret=zoho_secrets[1],
                refresh_token=zoho_secrets[2],
                modules=self._zoho_modules(),
            ),
            "",
        )
        self.started[-1].url = zoho.url
        for name in self._names("zoho", "zoho"):
            mine = self._workspace_connections().get(name)
            opts = mine.options if mine else {}
            id_name = str(opts.get("client_id_secret") or opts.get("client_id") or "ZOHO_CLIENT_ID")
            secret_name = str(
                opts.get("client_secret_secret")
                or opts.get("client_secret")
                or "ZOHO_CLIENT_SECRET"
            )
            fields = self._connection(
                name,
                "zoho",
                zoho.api_domain,
                accounts_url=zoho.accounts_url,
                client_id_secret=id_name,
                client_secret_secret=secret_name,
            )
            self.secrets[id_name] = zoho_secrets[0]
            self.secrets[secret_name] = zoho_secrets[1]
            self.secrets[fields["secret"]] = zoho_secrets[2]
        # Discord: one webhook per channel secret
        discord = self._run("discord", DiscordServer(webhooks={}), "")
        self.started[-1].url = discord.url
        hooks = self._channels("discord")
        for n, secret_name in enumerate(hooks, start=1):
            self.secrets[secret_name] = discord.add_webhook(
                f"{1180000000000000100 + n}", secretslib.token_urlsafe(24)
            )
        self.started[-1].note = f"{len(hooks)} webhook(s): " + ", ".join(hooks)
        for name in [n for n, c in self._workspace_connections().items() if c.type == "discord"]:
            self._connection(name, "discord", discord.url)
        # SMTP
        self._start_smtp()
        # Canva
        canva_token = _fake("canva")
        canva = self._run("canva", CanvaServer(tokens={canva_token}, job_polls=1), "")
        self.started[-1].url = canva.api_url
        for name in self._names("canva", "canva"):
            mine = self._workspace_connections().get(name)
            templated = mine is not None and (
                "brand_templates" in mine.options or "brand_template_id" in mine.options
            )
            # the double accepts any brand template: autofill fills the prompts' text slots
            extra = {} if templated else {"brand_template_id": "BTsandbox"}
            fields = self._connection(name, "canva", canva.api_url, poll_interval=1.0, **extra)
            self.secrets[fields["secret"]] = canva_token
        # Video (Sora 2 shape)
        video_key = _fake("video")
        video = self._run(
            "video",
            VideoServer(
                keys={video_key}, job_polls=self.video_polls, poll_after_ms=self.poll_after_ms
            ),
            "",
        )
        self.started[-1].url = video.api_url
        for name in self._names("video", "video"):
            fields = self._connection(name, "video", video.api_url)
            self.secrets[fields["secret"]] = video_key
        # LLM: a given real model server, else the double
        if self.llm_url is not None:
            llm_url, model = self.llm_url, "embedded"
        else:
            llm = self._run("llm", LlmServer(models=["sandbox-model"]), "")
            self.started[-1].url = llm_url = llm.api_url
            self.started[-1].note = "OpenAI-compatible, llama.cpp flavour"
            model = "sandbox-model"
        self.values["SOPBENCH_LLM_URL"] = llm_url
        self.values["SOPBENCH_LLM_MODEL"] = model
        for name in self._names("llm", "llm"):
            fields = self._connection(name, "llm", llm_url, model=model)
            if fields["secret"]:
                self.secrets[fields["secret"]] = _fake("llm")
        # plain HTTP connections: a recorder answering 200 with an echo
        http_names = [n for n, c in self._workspace_connections().items() if c.type == "http"]
        if http_names:
            recorder = Recorder()
            self._run(
                "http",
                recorder,
                recorder.url,
                f"echo server for {len(http_names)} http connection(s)",
            )
            for name in http_names:
                fields = self._connection(name, "http", f"{recorder.url}/{name}")
                if fields["secret"]:
                    self.secrets[fields["secret"]] = _fake(name)

    def _start_smtp(self) -> None:
        try:
            from sopbench.testing.servers.smtp import SmtpDouble
        except ImportError:  # pragma: no cover - aiosmtpd is in the test extra
            self.skipped["smtp"] = "install aiosmtpd (pip install sopbench[test])"
            return
        password = _fake("smtp")
        users = {"sandbox": password}
        for conn in self._workspace_connections().values():
            if conn.type == "smtp" and conn.options.get("username"):
                users[str(conn.options["username"])] = password
        try:
            smtp = SmtpDouble(users=users)
            smtp.start()
        except Exception as exc:
            self.skipped["smtp"] = f"{type(exc).__name__}: {exc}"
            return
        self.started.append(
            Started("smtp", smtp.url, "STARTTLS with a throwaway certificate", smtp)
        )
        url = f"smtp://{smtp.host}:{smtp.port}"
        names = [n for n, c in self._workspace_connections().items() if c.type == "smtp"]
        for name in names or ["smtp"]:
            mine = self._workspace_connections().get(name)
            username = str((mine.options.get("username") if mine else None) or "sandbox")
            fields = self._connection(
                name,
                "smtp",
                url,
                username=username,
                ca_file=smtp.ca_file,
                **{
                    "from": (mine.options.get("from") if mine else None) or "sopbench@sandbox.local"
                },
            )
            self.secrets[fields["secret"]] = password
        for secret_name in self._channels("email"):
            self.secrets[secret_name] = password

    def _write(self) -> None:
        overlay = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started_at": time.time(),
            "services": {s.name: s.url for s in self.started},
            "connections": self.connections,
            "settings": self.values,
            "secrets": self.secrets,
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_name(self.path.name + ".part")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(overlay, out, indent=2)
        partial.replace(self.path)

    def stop(self) -> None:
        """Remove the overlay (if it is still ours) and stop every double."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if data.get("pid") == os.getpid():
                self.path.unlink()
        except (OSError, ValueError):
            pass
        while self.started:
            started = self.started.pop()
            try:
                started.server.stop()
            except Exception:  # pragma: no cover - stopping is best effort
                pass

    def __enter__(self) -> SandboxRunner:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def summary(self) -> dict[str, Any]:
        """What runs, which connections point at it, which secret names are faked."""
        return {
            "overlay": str(self.path),
            "services": {s.name: {"url": s.url, "note": s.note} for s in self.started},
            "skipped": dict(self.skipped),
            "connections": sorted(self.connections),
            "secrets": sorted(self.secrets),
            "settings": dict(self.values),
        }
