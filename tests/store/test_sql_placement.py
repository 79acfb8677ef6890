"""Stores own their tables: only the store modules build or run SQL.

An AST scan of every module of ``sopbench/`` outside :data:`STORES` fails on

* ``import sqlalchemy`` (any alias) or a name imported from SQLAlchemy other
  than the few that carry no SQL (:data:`HARMLESS`: the ``Connection`` a
  caller passes its transaction in, URL parsing, the exception classes);
* a table object imported from :mod:`sopbench.store.tables` (its status
  tuples may be read anywhere), or the tables module itself;
* ``<connection>.execute(...)`` / ``exec_driver_sql(...)`` (raw SQL through a
  connection that was handed over);
* a comparison with a backend's name (``dialect == ...``) outside the
  per-dialect hooks (:data:`DIALECT_HOOKS`).

The checker is exercised on deliberate violations too, so a rule that has
quietly stopped matching fails here.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from sqlalchemy import Table

from sopbench.store import tables

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "sopbench"

STORES = frozenset(
    {
        # the database itself: engines, transactions, migrations, column types, the schema
        "sopbench/store/db.py",
        "sopbench/store/_db_dialects.py",
        "sopbench/store/types.py",
        "sopbench/store/tables.py",
        # runs, step_states, events
        "sopbench/store/runs.py",
        "sopbench/store/run_queries.py",
        "sopbench/store/_run_dialects.py",
        # human_tasks, task_votes
        "sopbench/store/tasks.py",
        "sopbench/store/task_queries.py",
        "sopbench/store/_task_dialects.py",
        # effects
        "sopbench/store/effects.py",
        # schedules, fire_records
        "sopbench/store/schedules.py",
        # run_reports
        "sopbench/store/run_reports.py",
        # people, reviewer_sessions
        "sopbench/store/people.py",
        # media_requests
        "sopbench/store/media_requests.py",
        # drafts, draft_revisions, draft_comments (in content: its rows are Drafts)
        "sopbench/content/draft_store.py",
    }
)
"""The modules that may issue SQL: one group of modules per table group."""

MIGRATIONS = "sopbench/store/migrations/"
"""Alembic revisions: DDL and data migrations are SQL by nature."""

SERVER_ADMIN = frozenset({"sopbench/testing/postgres.py"})
"""The private PostgreSQL of the tests: ``CREATE``/``DROP DATABASE`` through psycopg
on the server's ``postgres`` database, never a sopbench table."""

DIALECT_HOOKS = frozenset(
    {
        "sopbench/store/_db_dialects.py",
        "sopbench/store/_run_dialects.py",
        "sopbench/store/_task_dialects.py",
        # SQLAlchemy's own per-dialect hook: TypeDecorator.load_dialect_impl & co.
        "sopbench/store/types.py",
    }
)
"""Where a backend's name may be compared: one class per backend each."""

HARMLESS = {
    "sqlalchemy": frozenset({"Connection"}),
    "sqlalchemy.engine": frozenset({"Connection", "URL", "make_url"}),
}
"""Names that carry no SQL: the transaction a store method is handed, URL parsing."""

TABLES = frozenset(name for name in tables.__all__ if isinstance(getattr(tables, name), Table))


def _dotted(node: ast.AST) -> str:
    """``a.b.c`` of a Name/Attribute chain (calls and subscripts kept as ``()``/``[]``)."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    if isinstance(node, ast.Call):
        return f"{_dotted(node.func)}()"
    if isinstance(node, ast.Subscript):
        return f"{_dotted(node.value)}[]"
    return "?"


def violations(relative: str, source: str) -> list[str]:
    """What ``source`` (the module at ``relative``) does against the rules, one line each."""
    if relative.startswith(MIGRATIONS):
        return []
    store = relative in STORES or relative in SERVER_ADMIN
    hook = relative in DIALECT_HOOKS
    found: list[str] = []
    for node in ast.walk(ast.parse(source, filename=relative)):
        where = f"{relative}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Import) and not store:
            for alias in node.names:
                if alias.name == "sqlalchemy" or alias.name.startswith("sqlalchemy."):
                    found.append(f"{where}: import {alias.name}")
                if alias.name == "sopbench.store.tables":
                    found.append(f"{where}: import sopbench.store.tables")
        elif isinstance(node, ast.ImportFrom) and not store:
            module = node.module or ""
            names = {alias.name for alias in node.names}
            if module == "sqlalchemy" or module.startswith("sqlalchemy."):
                if module == "sqlalchemy.exc":
                    continue  # catching an IntegrityError issues no SQL
                allowed = HARMLESS.get(module, frozenset())
                for name in sorted(names - allowed):
                    found.append(f"{where}: from {module} import {name}")
            elif module == "sopbench.store.tables":
                for name in sorted(names & TABLES):
                    found.append(f"{where}: table {name} from sopbench.store.tables")
            elif module == "sopbench.store" and "tables" in names:
                found.append(f"{where}: from sopbench.store import tables")
        elif isinstance(node, ast.Call) and not store:
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr in ("execute", "exec_driver_sql"):
                receiver = _dotted(func.value)
                if "conn" in receiver.rsplit(".", 1)[-1].lower():
                    found.append(f"{where}: {receiver}.{func.attr}(...)")
        elif isinstance(node, ast.Compare) and not hook:
            operands = [node.left, *node.comparators]
            named = [_dotted(o) for o in operands if isinstance(o, ast.Name | ast.Attribute)]
            if any("dialect" in name for name in named) and any(
                isinstance(o, ast.Constant) and isinstance(o.value, str) for o in operands
            ):
                found.append(f"{where}: compares {' / '.join(named)} with a backend name")
    return found


def _modules() -> list[tuple[str, Path]]:
    return sorted(
        (path.relative_to(ROOT).as_posix(), path)
        for path in PACKAGE.rglob("*.py")
        if "__pycache__" not in path.parts
    )


def test_only_the_stores_issue_sql() -> None:
    found = [
        line
        for relative, path in _modules()
        for line in violations(relative, path.read_text(encoding="utf-8"))
    ]
    assert found == [], "SQL outside the stores (move it into the table's store):\n" + "\n".join(
        found
    )


def test_every_listed_store_exists() -> None:
    present = {relative for relative, _ in _modules()}
    assert sorted((STORES | SERVER_ADMIN) - present) == []
    assert sorted(DIALECT_HOOKS - present) == []


def test_the_tables_are_known() -> None:
    assert {"runs", "human_tasks", "drafts", "schedules", "people"} <= TABLES
    assert "RUN_STATUSES" not in TABLES  # constants may be read anywhere


# -- the checker catches what it should (and nothing a store does) ------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from sqlalchemy import select\n", "from sqlalchemy import select"),
        ("import sqlalchemy as sa\n", "import sqlalchemy"),
        ("from sqlalchemy import Connection, text\n", "from sqlalchemy import text"),
        ("from sqlalchemy.sql import func\n", "from sqlalchemy.sql import func"),
        ("from sopbench.store.tables import runs\n", "table runs from sopbench.store.tables"),
        ("from sopbench.store import tables\n", "from sopbench.store import tables"),
        ("import sopbench.store.tables\n", "import sopbench.store.tables"),
        ("def f(conn):\n    conn.execute('DELETE FROM runs')\n", "conn.execute(...)"),
        ("def f(self):\n    self.reads.conn.exec_driver_sql('x')\n", "exec_driver_sql(...)"),
        (
            "def f(db):\n    if db.dialect == 'postgresql':\n        pass\n",
            "compares db.dialect with a backend name",
        ),
    ],
)
def test_the_checker_catches_a_violation(source: str, expected: str) -> None:
    found = violations("sopbench/services/example.py", source)
    assert len(found) == 1 and expected in found[0], found


def test_the_checker_lets_harmless_code_pass() -> None:
    harmless = (
        "from sqlalchemy import Connection\n"
        "from sqlalchemy.exc import IntegrityError\n"
        "from sopbench.store.tables import RUN_STATUSES\n"
        "def f(hook, runner, conn: Connection):\n"
        "    hook.execute('payload')\n"  # a webhook, not a connection
        "    runner.execute()\n"  # nbclient
        "    return RUN_STATUSES\n"
    )
    assert violations("sopbench/services/example.py", harmless) == []
    sql = "from sqlalchemy import select\nfrom sopbench.store.tables import runs\n"
    assert violations("sopbench/store/runs.py", sql) == []
    branch = "def f(dialect):\n    return dialect.name == 'sqlite'\n"
    assert violations("sopbench/store/_run_dialects.py", branch) == []
    assert violations("sopbench/store/runs.py", branch) != []  # a store uses its hook
