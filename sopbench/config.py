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

Secrets are referenced by name in SOP files and resolved here, at call
time, never copied into settings objects that get logged or stored.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sopbench.errors import ConfigError, SecretMissing

__all__ = ["Secrets", "Settings", "load_settings", "parse_dotenv"]

STATE_DIR = ".sopbench"


def parse_dotenv(text: str, *, path: str = ".env") -> dict[str, str]:
    """Parse ``KEY=VALUE`` lines (``#`` comments, optional ``export``, quotes)."""
    values: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export ") :].lstrip()
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not key.replace("_", "").isalnum():
            raise ConfigError(
                "expected KEY=VALUE",
                path=path,
                line=number,
                column=1,
                hint="each line of .env is NAME=value; lines starting with # are comments",
            )
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        values[key] = value
    return values


class Secrets:
    """Resolves secrets by name and remembers their values for redaction."""

    def __init__(self, sources: list[Mapping[str, str]]) -> None:
        self._sources = sources
        self._seen: set[str] = set()

    def get(self, name: str) -> str:
        """The secret's value; raises :class:`SecretMissing` when unset or empty."""
        for source in self._sources:
            value = source.get(name)
            if value:
                self._seen.add(value)
                return value
        raise SecretMissing(name)

    def has(self, name: str) -> bool:
        return any(source.get(name) for source in self._sources)

    def redact(self, text: str) -> str:
        """Replace every secret value resolved so far by ``***``."""
        for value in sorted(self._seen, key=len, reverse=True):
            if len(value) >= 4:
                text = text.replace(value, "***")
        return text


@dataclass(frozen=True)
class Settings:
    """Where the workspace is and which services it talks to."""

    home: Path
    db_url: str
    llm_url: str | None = None
    llm_model: str | None = None
    secrets: Secrets = field(default_factory=lambda: Secrets([]), compare=False, repr=False)

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

    def setting(name: str) -> str | None:
        return env.get(name) or dotenv.get(name) or None

    default_db = f"sqlite:///{home_path / STATE_DIR / 'sopbench.db'}"
    return Settings(
        home=home_path,
        db_url=setting("SOPBENCH_DB_URL") or default_db,
        llm_url=setting("SOPBENCH_LLM_URL"),
        llm_model=setting("SOPBENCH_LLM_MODEL"),
        secrets=Secrets([env, dotenv]),
    )
