"""A throwaway PostgreSQL server for tests and benchmarks.

sopbench promises the same behaviour on SQLite and PostgreSQL, so its tests
run against a real PostgreSQL, started here from the ordinary server
binaries (Debian's ``postgresql`` package) in a temporary folder::

    with PostgresServer() as pg:
        url = pg.create_database("demo")      # postgresql+psycopg://postgres@127.0.0.1:PORT/demo

The server is tuned for speed, not safety (``fsync=off``, files in
``/dev/shm`` when available): never keep data in it. PostgreSQL refuses to
run as root, so under root the binaries run as the ``postgres`` user via
``runuser``. Missing binaries raise
:class:`PostgresUnavailable` telling how to install them; the test suite
fails on it rather than skipping, so "works on PostgreSQL" is never assumed.

Set ``SOPBENCH_TEST_PG_URL`` (e.g. ``postgresql+psycopg://me@db-host:5432/postgres``,
a role allowed to CREATE DATABASE) to use an existing server instead:
:meth:`PostgresServer.from_env` then attaches to it, creates its databases
there and drops them again on exit, and starts or stops nothing.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from sqlalchemy.engine import URL, make_url

from sopbench.errors import SopbenchError

if TYPE_CHECKING:
    from psycopg.sql import SQL, Composed

__all__ = ["ENV_URL", "PostgresServer", "PostgresUnavailable", "default_base_dir", "find_binary"]

ENV_URL = "SOPBENCH_TEST_PG_URL"
PREFIX = "sopbench-pg-"
OWNER_FILE = "owner.pid"
SERVER_OPTIONS = (
    "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
)


class PostgresUnavailable(SopbenchError):
    """PostgreSQL could not be started for the tests."""

    default_hint = "install the server with `apt-get install -y postgresql`"


def find_binary(name: str) -> str:
    """Path of PostgreSQL's ``name`` program: on PATH, else the newest Debian install."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(
        glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
        key=lambda path: int(Path(path).parts[-3]) if Path(path).parts[-3].isdigit() else 0,
    )
    if candidates:
        return candidates[-1]
    raise PostgresUnavailable(
        f"PostgreSQL's {name} program was not found on PATH or under /usr/lib/postgresql/*/bin"
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class PostgresServer:
    """A private PostgreSQL cluster on 127.0.0.1 (or an existing server, see ``url``)."""

    def __init__(self, url: str | None = None, *, base_dir: str | Path | None = None) -> None:
        self._external: URL | None = make_url(url) if url else None
        self._base_dir = str(base_dir) if base_dir else default_base_dir()
        self._version = 0
        self._tmp: Path | None = None
        self._data: Path | None = None
        self._runas: list[str] = []
        self._owner: tuple[int, int] | None = None
        self._created: list[str] = []
        self.host = "127.0.0.1"
        self.port = 0

    @classmethod
    def from_env(cls) -> PostgresServer:
        """Attach to ``$SOPBENCH_TEST_PG_URL`` when set, else start a private server."""
        return cls(os.environ.get(ENV_URL) or None)

    @property
    def external(self) -> bool:
        return self._external is not None

    def __enter__(self) -> PostgresServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def url(self, dbname: str = "postgres") -> str:
        """SQLAlchemy URL of database ``dbname`` on this server."""
        if self._external is not None:
            return self._external.set(database=dbname).render_as_string(hide_password=False)
        if not self.port:
            raise PostgresUnavailable("the PostgreSQL server is not running")
        return f"postgresql+psycopg://postgres@{self.host}:{self.port}/{dbname}"

    def create_database(self, name: str | None = None, template: str | None = None) -> str:
        """Create database ``name`` (random when omitted), optionally as a copy of
        ``template``; returns its URL. Copies use ``STRATEGY FILE_COPY`` where
        available: for small databases it is several times faster than WAL logging."""
        from psycopg import sql

        name = name or f"sopbench_{uuid.uuid4().hex[:12]}"
        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template:
            statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
            if self.server_version() >= 150000:
                statement += sql.SQL(" STRATEGY FILE_COPY")
        self._admin(statement)
        self._created.append(name)
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop ``name``, disconnecting anyone still using it."""
        from psycopg import sql

        self._admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        if name in self._created:
            self._created.remove(name)

    def server_version(self) -> int:
        """``server_version_num``, e.g. 150018 for 15.18."""
        if not self._version:
            from psycopg import sql

            self._version = int(str(self._admin(sql.SQL("SHOW server_version_num"))))
        return self._version

    def start(self) -> None:
        """Check an external server, or initdb + start a private one and wait for it."""
        if self._external is not None:
            self.server_version()
            return
        if self._tmp is not None:
            return
        initdb, pg_ctl = find_binary("initdb"), find_binary("pg_ctl")
        find_binary("postgres")
        if os.geteuid() == 0:
            try:
                user = pwd.getpwnam("postgres")
            except KeyError:
                raise PostgresUnavailable(
                    "running as root but there is no `postgres` user"
                ) from None
            self._runas = ["runuser", "-u", "postgres", "--"]
            self._owner = (user.pw_uid, user.pw_gid)
        reap_orphans(self._base_dir)
        self._tmp = Path(tempfile.mkdtemp(prefix=PREFIX, dir=self._base_dir))
        try:
            self._tmp.chmod(0o755)  # the postgres user must traverse it
            (self._tmp / OWNER_FILE).write_text(str(os.getpid()))
            self._data = self._tmp / "data"
            for folder in (self._data, self._tmp / "run"):
                folder.mkdir(mode=0o700)
                if self._owner:
                    os.chown(folder, *self._owner)
            self._run(
                [
                    initdb,
                    "-D",
                    str(self._data),
                    "-U",
                    "postgres",
                    "-A",
                    "trust",
                    "-E",
                    "UTF8",
                    "--locale=C",
                    "--no-sync",
                ]
            )
            self._start_server(pg_ctl)
        except BaseException:
            self.stop()
            raise

    def _start_server(self, pg_ctl: str) -> None:
        assert self._tmp is not None and self._data is not None
        log = self._tmp / "run" / "postgres.log"
        for _attempt in range(3):  # a free port can be taken between probe and bind
            port = free_port()
            options = (
                f"-c listen_addresses={self.host} -p {port} -k {self._tmp / 'run'} {SERVER_OPTIONS}"
            )
            result = subprocess.run(
                [
                    *self._runas,
                    pg_ctl,
                    "start",
                    "-D",
                    str(self._data),
                    "-l",
                    str(log),
                    "-w",
                    "-t",
                    "60",
                    "-o",
                    options,
                ],
                capture_output=True,
                text=True,
                check=False,
                cwd=self._tmp,
            )
            if result.returncode == 0:
                self.port = port
                return
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else result.stderr
        raise PostgresUnavailable(f"PostgreSQL did not start: {tail.strip()}")

    def restart(self) -> None:
        """Restart a private server on the same port (``pg_ctl restart -m fast``).

        Every open connection is cut, as when an operator restarts the
        database under running workers.
        """
        if self._external is not None or self._data is None or not self.port:
            raise PostgresUnavailable("only a private, running server can be restarted")
        options = (
            f"-c listen_addresses={self.host} -p {self.port} -k {self._data.parent / 'run'} "
            f"{SERVER_OPTIONS}"
        )
        self._run(
            [
                find_binary("pg_ctl"),
                "restart",
                "-D",
                str(self._data),
                "-m",
                "fast",
                "-w",
                "-t",
                "60",
                "-l",
                str(self._data.parent / "run" / "postgres.log"),
                "-o",
                options,
            ]
        )

    def stop(self) -> None:
        """Stop a private server at once and delete its files; drop databases on an external one."""
        if self._external is not None:
            for name in list(self._created):
                self.drop_database(name)
            return
        if self._tmp is None:
            return
        if self.port and self._data is not None:
            subprocess.run(
                [
                    *self._runas,
                    find_binary("pg_ctl"),
                    "stop",
                    "-D",
                    str(self._data),
                    "-m",
                    "immediate",
                    "-w",
                ],
                capture_output=True,
                check=False,
                cwd=self._tmp,
            )
        self.port = 0
        shutil.rmtree(self._tmp, ignore_errors=True)
        self._tmp = self._data = None
        self._created.clear()

    def _run(self, command: list[str]) -> None:
        result = subprocess.run(
            [*self._runas, *command], capture_output=True, text=True, check=False, cwd=self._tmp
        )
        if result.returncode != 0:
            raise PostgresUnavailable(
                f"{Path(command[0]).name} failed ({result.returncode}): "
                f"{(result.stderr or result.stdout).strip()[-2000:]}"
            )

    def _admin(self, statement: SQL | Composed) -> object:
        """Run one statement on the ``postgres`` database in autocommit mode;
        returns the first column of its first row, if any."""
        import psycopg

        url = make_url(self.url("postgres"))
        deadline = time.monotonic() + 10
        while True:
            try:
                with psycopg.connect(
                    host=url.host,
                    port=url.port,
                    user=url.username,
                    password=url.password,
                    dbname=url.database,
                    autocommit=True,
                    connect_timeout=10,
                ) as conn:
                    cursor = conn.execute(statement)
                    row = cursor.fetchone() if cursor.description else None
                    return row[0] if row else None
            except psycopg.OperationalError as exc:
                # Right after start the server may still refuse connections briefly.
                if time.monotonic() > deadline or "starting up" not in str(exc):
                    raise PostgresUnavailable(
                        f"PostgreSQL at {url.render_as_string(hide_password=True)} refused "
                        f"{statement.as_string()[:60]!r}: {str(exc).strip()}",
                        hint=f"check {ENV_URL}" if self.external else None,
                    ) from exc
                time.sleep(0.05)


def default_base_dir() -> str | None:
    """Where private servers keep their files: RAM (``/dev/shm``) when there is one.

    The data is throwaway, and on a real disk ``CREATE DATABASE`` spends
    most of its time creating files (~300 ms vs ~20 ms measured).
    """
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK | os.X_OK):
        return str(shm)
    return None


def reap_orphans(base_dir: str | None) -> None:
    """Stop and delete private servers whose owning process died without cleaning up.

    A test run killed with SIGKILL leaves its server running and its files in
    RAM; only folders carrying our owner file, whose owner is gone, are touched.
    """
    base = Path(base_dir or tempfile.gettempdir())
    for folder in base.glob(f"{PREFIX}*"):
        try:
            owner = int((folder / OWNER_FILE).read_text())
        except (OSError, ValueError):
            continue
        if _alive(owner):
            continue
        data = folder / "data"
        if (data / "postmaster.pid").exists():
            runas = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
            subprocess.run(
                [*runas, find_binary("pg_ctl"), "stop", "-D", str(data), "-m", "immediate", "-w"],
                capture_output=True,
                check=False,
                cwd=folder,
            )
        shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a killed process stays a zombie until its parent reaps it
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"
