"""The secret corpus: odd secret values, what the services echo, and every place to look.

Each secret carries an ASCII marker (``Mark1`` ...) that survives every way
text gets escaped on its way to storage or a page (JSON ``\\u00e4`` and
``\\"``, percent-encoding, HTML entities): a marker found anywhere means
some spelling of that secret got through. The numeric secret has no letters
to mark, and the digits ``20270314`` are also a legitimate *number* in the
corpus; it counts as leaked when the digits appear where a number cannot
(inside quotes, after ``=`` or a letter), or as part of any string value in
the structured views.
"""

from __future__ import annotations

import base64
import html
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import Text, cast, select

from sopbench.config import PageRequest
from sopbench.reports import ReportWriter
from sopbench.store import Database
from sopbench.store.tables import metadata
from sopbench.testing.widgets import walk
from sopbench.ui import PageContext, page_class

from .support import Bench

__all__ = [
    "CONNECTIONS",
    "HERE",
    "HOOK_TOKEN",
    "MARKERS",
    "NUMERIC",
    "SECRETS",
    "dashboard",
    "database_files",
    "leaks",
    "profile_body",
    "profile_headers",
    "reports",
    "show_json",
    "stored_rows",
    "string_leaks",
]

HERE = Path(__file__).parent / "corpus"

NUMERIC = "20270314"
"""A secret of digits only: the digits of the date 2027-03-14, and a number the corpus holds."""

HOOK_TOKEN = 'hoök"to\\ken-Mark5'
"""The token part of the Discord webhook URL (the whole URL is the secret)."""

SECRETS: dict[str, str] = {
    "CORPUS_QUOTE": 'qu"ote-Mark1-secret',
    "CORPUS_BACKSLASH": "back\\slash-Mark2-secret",
    "CORPUS_TAB": "tab\tMark3-secret",
    "CORPUS_UNICODE": "pässwörd-Mark4-sëcret",
    "CORPUS_NUMERIC": NUMERIC,
}
MARKERS = {"CORPUS_QUOTE": "Mark1", "CORPUS_BACKSLASH": "Mark2", "CORPUS_TAB": "Mark3"}
MARKERS |= {"CORPUS_UNICODE": "Mark4", "DISCORD_WEBHOOK_SHOP": "Mark5"}

CONNECTIONS = "".join(
    f"  {name}:\n    type: http\n    base_url: '{{recorder}}'\n    secret: {secret}\n{auth}"
    for name, secret, auth in [
        ("c_quote", "CORPUS_QUOTE", "    auth: bearer\n"),
        ("c_backslash", "CORPUS_BACKSLASH", "    auth: header\n    header: X-Api-Key\n"),
        ("c_tab", "CORPUS_TAB", "    auth: bearer\n"),
        ("c_unicode", "CORPUS_UNICODE", "    auth: bearer\n"),
        ("c_numeric", "CORPUS_NUMERIC", "    auth: header\n    header: X-Pin\n"),
    ]
)
"""One connection per secret, on the recorder (appended to the base connections.yaml)."""

# Where the digits of NUMERIC cannot be a number: after a quote, letter, = or %
# or a backslash, or before a quote, letter, & or backslash.
_NUMERIC_IN_TEXT = re.compile(rf"(?<=[\"'A-Za-z=%\\#@/]){NUMERIC}|{NUMERIC}(?=[\"'A-Za-z&\\#@/])")


def profile_body(webhook_url: str) -> dict[str, Any]:
    """What ``/profile`` answers: every secret in every shape, next to dates and numbers."""
    shapes = {
        name: {
            "raw": secret,
            "header": f"Authorization: Bearer {secret}",
            "query": f"https://api.example/cb?token={quote(secret, safe='')}&day=2027-03-14",
            "query_raw": f"https://api.example/cb?token={secret}",
            "userinfo": f"https://svc:{quote(secret, safe='')}@api.example/hook",
            "json_text": json.dumps({"token": secret, "n": 42}),
            "error": f"invalid api key '{secret}' (code 42)",
            "basic": "Basic " + base64.b64encode(secret.encode()).decode(),
            "nested": [{"deep": [secret, 20270314, "2027-03-14"]}],
        }
        for name, secret in SECRETS.items()
    }
    shapes["CORPUS_NUMERIC"]["pin"] = f"pin={NUMERIC}"
    return {
        "date": "2027-03-14",
        "when": "2027-03-14T09:30:00+00:00",
        "amount": 20270314,
        "ratio": 20270314.5,
        "ok": True,
        "nothing": None,
        "digits": NUMERIC,
        "webhook": webhook_url,
        "secrets": shapes,
    }


def profile_headers() -> dict[str, str]:
    """Response headers that carry secrets (latin-1 only: HTTP/1.1 headers)."""
    return {
        "X-Echo-Quote": SECRETS["CORPUS_QUOTE"],
        "X-Echo-Unicode": SECRETS["CORPUS_UNICODE"],
        "X-Echo-Pin": NUMERIC,
    }


# -- finding secrets --------------------------------------------------------------------


def leaks(text: str | bytes, secrets: dict[str, str]) -> set[str]:
    """Names of the secrets some spelling of which is in ``text``."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace") + "\n" + text.decode("latin-1")
    found = {name for name, mark in MARKERS.items() if mark in text}
    for name, secret in secrets.items():
        forms = {secret, base64.b64encode(secret.encode()).decode(), html.escape(secret)}
        if name != "CORPUS_NUMERIC" and any(form in text for form in forms):
            found.add(name)
    if _NUMERIC_IN_TEXT.search(text):
        found.add("CORPUS_NUMERIC")
    return found


def string_leaks(value: Any, secrets: dict[str, str]) -> set[str]:
    """Names of the secrets inside any *string* of ``value`` (numbers do not count)."""
    found: set[str] = set()
    for text in _strings(value):
        found |= leaks(text, secrets)
        if NUMERIC in text:
            found.add("CORPUS_NUMERIC")
    return found


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


# -- every place a run is kept or shown ----------------------------------------------------


def stored_rows(db: Database) -> str:
    """Every column of every row of every table, as the database renders it as text."""
    parts = []
    with db.read() as conn:
        for table in metadata.sorted_tables:
            columns = [cast(column, Text) for column in table.columns]
            for row in conn.execute(select(*columns)):
                parts.append(f"{table.name}: " + " | ".join(str(v) for v in row))
    return "\n".join(parts)


def database_files(db_url: str) -> bytes:
    """The SQLite database file and its write-ahead log, as bytes."""
    path = Path(db_url.removeprefix("sqlite:///"))
    files = [path, path.with_name(path.name + "-wal")]
    return b"".join(f.read_bytes() for f in files if f.exists())


def show_json(bench: Bench, run_id: str) -> str:
    """``sopbench show --json RUN_ID`` in another process."""
    done = bench.cli("show", "--json", run_id)
    assert done.returncode == 0, done.stderr
    return done.stdout


def reports(bench: Bench, run_ids: list[str]) -> dict[str, str]:
    """The report notebook and HTML of each run, written by :class:`ReportWriter`."""
    writer = ReportWriter(bench.settings, bench.service)
    texts: dict[str, str] = {}
    with writer.kernel() as kernel:
        for run_id in run_ids:
            notebook = writer.write(run_id, kernel=kernel)
            # the cells' text, decoded from the notebook's JSON (its "\\n" would look like a letter)
            cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
            texts[str(notebook)] = "\n".join(_strings(cells))
            page = notebook.with_suffix(".html")
            texts[str(page)] = page.read_text(encoding="utf-8")
    return texts


def dashboard(bench: Bench, run_id: str | None) -> str:
    """Everything the History page (one run, or the list) puts in its widgets."""
    query = {"run": run_id} if run_id else {}
    ctx = PageContext(bench.settings, request=PageRequest(query=query))
    try:
        page = page_class("history")(ctx)
        parts = []
        for widget in walk(page):
            for attr in ("value", "description", "placeholder", "tooltip"):
                text = getattr(widget, attr, None)
                if isinstance(text, str) and text:
                    parts += [text, html.unescape(text)]
            shown = getattr(widget, "shown", None)
            if isinstance(shown, list):
                parts.append(json.dumps(shown, default=str, ensure_ascii=False))
        return "\n".join(parts)
    finally:
        ctx.close()
