"""No spelling of any secret is kept or shown anywhere, and the data around them is intact.

Real SOPs call a real recording server on 127.0.0.1 through connections
whose secrets hold quotes, backslashes, tabs, non-ASCII letters and only
digits; the server echoes them back in bodies, headers, URLs (query and
user info), JSON text and errors, and a Discord channel whose webhook URL
is a secret fails with the token in its message. Then every place a run
lives is searched: the database (SQLite file + WAL bytes, every row as
text on both backends), the journal, ``sopbench show --json``, the report
notebook and HTML, and the History page. The last test plants the
secrets unmasked and checks that each of those searches finds them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import update

from sopbench.config import load_settings
from sopbench.library import load_workspace
from sopbench.services.runs import RunService
from sopbench.store import Database
from sopbench.store.tables import runs as runs_table
from sopbench.testing.recorder import Recorder

from .secret_corpus import (
    CONNECTIONS,
    HERE,
    HOOK_TOKEN,
    SECRETS,
    dashboard,
    database_files,
    leaks,
    profile_body,
    profile_headers,
    reports,
    show_json,
    stored_rows,
    string_leaks,
)
from .support import Bench, build_home, environ


@pytest.fixture
def hooks() -> Iterator[Recorder]:
    """The "Discord" of the corpus: refuses every webhook, quoting the token."""
    with Recorder() as server:
        message = f"401: Unauthorized (token {HOOK_TOKEN} is not valid)"
        server.fail("*", 401, times=None, json={"message": message, "code": 0})
        yield server


@pytest.fixture
def secrets(hooks: Recorder) -> dict[str, str]:
    return {**SECRETS, "DISCORD_WEBHOOK_SHOP": f"{hooks.url}/api/webhooks/4242/{HOOK_TOKEN}"}


@pytest.fixture
def corpus(
    tmp_path: Path,
    database: Database,
    db_url: str,
    recorder: Recorder,
    secrets: dict[str, str],
) -> Bench:
    home = build_home(tmp_path, [HERE], recorder.url)
    connections = home / "sops" / "connections.yaml"
    connections.write_text(
        connections.read_text(encoding="utf-8") + CONNECTIONS.replace("{recorder}", recorder.url),
        encoding="utf-8",
    )
    settings = load_settings(home, environ={**environ(db_url), **secrets})
    workspace = load_workspace(home)
    assert workspace.problems == [], "\n".join(map(str, workspace.problems))
    service = RunService(settings, workspace=workspace, database=database)
    body = profile_body(secrets["DISCORD_WEBHOOK_SHOP"])
    recorder.respond("/profile", json=body, headers=profile_headers())
    denied = {"error": f"bad key {SECRETS['CORPUS_BACKSLASH']}"}
    recorder.fail("/denied", 401, times=None, json=denied)
    return Bench(home, settings, service, database, recorder)


def _run_corpus(bench: Bench) -> tuple[str, str]:
    note = f"pasted by mistake: {SECRETS['CORPUS_QUOTE']}"
    ok = bench.start("eng_corpus", {"note": note, "due": "2027-03-14"}, started_by="ann")
    assert ok.run.status == "succeeded", ok.run.error
    failed = bench.through_retries(bench.start("eng_corpus_fail", started_by="ann").run.id)
    assert failed.run.status == "failed"
    return ok.run.id, failed.run.id


def _places(bench: Bench, db_url: str, run_ids: list[str]) -> dict[str, str | bytes]:
    """Every place a run is kept or shown, as text (or bytes)."""
    places: dict[str, str | bytes] = {"every row": stored_rows(bench.db)}
    if db_url.startswith("sqlite"):
        places["database file and WAL"] = database_files(db_url)
    for run_id in run_ids:
        journal = bench.journal(run_id)
        places[f"journal {run_id}"] = json.dumps(journal, default=str, ensure_ascii=False)
        places[f"show --json {run_id}"] = show_json(bench, run_id)
        places[f"History ?run={run_id}"] = dashboard(bench, run_id)
    places["History"] = dashboard(bench, None)
    places.update(reports(bench, run_ids))
    return places


def _sent(recorder: Recorder) -> str:
    return "\n".join(" ".join(r.headers.values()) for r in recorder.requests)


def test_no_secret_is_kept_or_shown_anywhere(
    corpus: Bench,
    hooks: Recorder,
    secrets: dict[str, str],
    db_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    for name in ("sopbench", "httpx", "httpcore"):
        caplog.set_level(logging.DEBUG, logger=name)
    ok_id, failed_id = _run_corpus(corpus)

    # The secrets did go out (so the echoes carried them back) ...
    sent = _sent(corpus.recorder)
    for name in ("CORPUS_QUOTE", "CORPUS_BACKSLASH", "CORPUS_TAB", "CORPUS_NUMERIC"):
        assert SECRETS[name] in sent, name
    # httpx percent-encodes the quote and the umlaut of the webhook token but not its backslash
    assert hooks.requests[0].path.endswith("/4242/ho%C3%B6k%22to\\ken-Mark5")

    # ... and nowhere they could have been kept or shown has any spelling of one.
    places = _places(corpus, db_url, [ok_id, failed_id])
    ours = ("sopbench", "httpx", "httpcore")  # (the kernel client's logs repeat the report)
    places["logs"] = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith(ours))
    found = {place: leaks(text, secrets) for place, text in places.items()}
    assert {place: names for place, names in found.items() if names} == {}
    for run_id in (ok_id, failed_id):
        assert string_leaks(json.loads(places[f"show --json {run_id}"]), secrets) == set()
        assert string_leaks(corpus.journal(run_id), secrets) == set()


def test_dates_numbers_and_text_around_secrets_are_intact(corpus: Bench) -> None:
    ok_id, failed_id = _run_corpus(corpus)
    run = corpus.view(ok_id).run
    assert run.inputs == {"note": "pasted by mistake: ***", "due": "2027-03-14", "count": 20270314}
    assert run.vars == {
        "query": "https://api.example/cb?token=***&day=2027-03-14",
        "amount": 20270314,
        "date": "2027-03-14",
        "digits": "***",
        "denied": run.vars["denied"],
    }
    assert "answered 401" in run.vars["denied"]
    out = run.outputs
    assert (out["due"], out["count"]) == ("2027-03-14", 20270314)
    assert out["quote_headers"]["authorization"] == "Bearer ***"
    assert out["backslash_headers"]["x-api-key"] == "***"
    assert out["tab_headers"]["authorization"] == "Bearer ***"
    assert out["numeric_headers"]["x-pin"] == "***"
    assert "cannot be sent" in out["unicode_error"]  # a non-ASCII token cannot be a header
    assert "ordinal not in range" in out["unicode_error"]
    assert "answered 401" in out["told"] and "Unauthorized (token *** is not valid)" in out["told"]
    echoed = ("x-echo-quote", "x-echo-unicode", "x-echo-pin")  # response headers
    assert {k: out["profile_headers"][k] for k in echoed} == dict.fromkeys(echoed, "***")

    profile = out["profile"]
    assert {k: v for k, v in profile.items() if k not in ("secrets", "webhook")} == {
        "date": "2027-03-14",
        "when": "2027-03-14T09:30:00+00:00",
        "amount": 20270314,
        "ratio": 20270314.5,
        "ok": True,
        "nothing": None,
        "digits": "***",
    }
    assert type(profile["amount"]) is int and type(profile["ratio"]) is float
    assert profile["webhook"] == "***"
    for name, shapes in profile["secrets"].items():
        assert shapes["raw"] == "***", name
        assert shapes["header"] == "Authorization: Bearer ***", name
        assert shapes["query"] == "https://api.example/cb?token=***&day=2027-03-14", name
        assert shapes["query_raw"] == "https://api.example/cb?token=***", name
        assert shapes["userinfo"] == "https://svc:***@api.example/hook", name
        assert json.loads(shapes["json_text"]) == {"token": "***", "n": 42}, name
        assert shapes["error"] == "invalid api key '***' (code 42)", name
        assert shapes["basic"] == "Basic ***", name
        assert shapes["nested"] == [{"deep": ["***", 20270314, "2027-03-14"]}], name
    assert profile["secrets"]["CORPUS_NUMERIC"]["pin"] == "pin=***"

    failed = corpus.view(failed_id).run
    assert failed.error is not None
    assert "answered 401" in failed.error and "/api/webhooks/4242/***" in failed.error
    shown = json.loads(show_json(corpus, ok_id))
    assert shown["outputs"]["profile"]["amount"] == 20270314
    assert shown["outputs"]["profile"]["date"] == "2027-03-14"


def test_the_searches_find_a_secret_that_was_not_masked(
    corpus: Bench, secrets: dict[str, str], db_url: str
) -> None:
    """Plant every secret, unmasked, where runs are kept: each search must see all of them."""
    _, run_id = _run_corpus(corpus)
    planted = {name: f"pin={value}" for name, value in secrets.items()}
    with corpus.db.write() as conn:
        conn.execute(
            update(runs_table)
            .where(runs_table.c.id == run_id)
            .values(outputs=planted, error="leaked " + planted["CORPUS_QUOTE"])
        )
        for name, value in planted.items():
            corpus.service.engine.runs.journal(
                conn, "test.planted", run_id=run_id, actor="test", data={name: value}
            )
    places = _places(corpus, db_url, [run_id])
    del places["History"]  # the list shows no outputs
    everything = set(secrets)
    missed = {place: everything - leaks(text, secrets) for place, text in places.items()}
    assert {place: names for place, names in missed.items() if names} == {}
    assert string_leaks(json.loads(places[f"show --json {run_id}"]), secrets) == everything
    assert string_leaks(corpus.journal(run_id), secrets) == everything
    # ... and a number equal to the numeric secret alone is not taken for a leak
    assert leaks(json.dumps({"amount": 20270314, "date": "2027-03-14"}), secrets) == set()
    assert string_leaks({"amount": 20270314}, secrets) == set()
