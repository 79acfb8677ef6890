"""A secret used in a connection's auth header is sent, and never written anywhere."""

from __future__ import annotations

import logging

import pytest

from engine.support import SECRET, Bench


def test_secret_is_sent_but_never_stored(bench: Bench, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    bench.recorder.fail("/keyed/denied", 401, times=None, json={"error": f"bad key {SECRET}"})
    view = bench.through_retries(bench.start("eng_secret", started_by="ann").run.id)
    assert view.run.status == "succeeded", view.run.error

    # the secret did go out, in both auth styles
    echo, denied, denied_again = bench.recorder.requests
    assert echo.header("Authorization") == f"Bearer {SECRET}"
    assert denied.header("X-Api-Key") == SECRET == denied_again.header("X-Api-Key")

    # ...and came back in the echoed response, which is stored masked
    assert view.run.vars["auth"] == "Bearer ***"
    assert view.run.outputs["echoed"]["authorization"] == "Bearer ***"
    assert "answered 401" in view.run.vars["key_error"]

    dump = bench.dump()
    assert "Bearer ***" in dump  # the masked value is what the tables hold
    assert SECRET not in dump
    assert SECRET not in caplog.text
    assert all(SECRET not in str(event) for event in bench.journal(view.run.id))


def test_secret_stays_out_of_errors(bench: Bench) -> None:
    bench.recorder.fail("/echo", 500, times=None)
    view = bench.start("eng_secret")
    assert view.run.status == "failed"
    assert view.run.error is not None and "answered 500" in view.run.error
    assert SECRET not in bench.dump()


def test_missing_secret_says_which_to_set(bench: Bench, db_url: str) -> None:
    from sopbench.config import load_settings
    from sopbench.services.runs import RunService

    settings = load_settings(bench.home, environ={"SOPBENCH_DB_URL": db_url})
    service = RunService(settings, workspace=bench.service.workspace, database=bench.db)
    view = service.start("eng_secret", {})
    assert view.run.status == "failed"
    assert view.run.error == (
        "step 'bearer' failed: secret RECORDER_TOKEN is not set "
        "(set RECORDER_TOKEN in the environment or in the workspace's .env file)"
    )
    assert bench.recorder.requests == []


def test_short_secret_is_refused_before_anything_is_sent(bench: Bench, db_url: str) -> None:
    from sopbench.config import load_settings
    from sopbench.services.runs import RunService

    environ = {"SOPBENCH_DB_URL": db_url, "RECORDER_TOKEN": "2027"}
    settings = load_settings(bench.home, environ=environ)
    service = RunService(settings, workspace=bench.service.workspace, database=bench.db)
    view = service.start("eng_secret", {})
    assert view.run.status == "failed"
    assert view.run.error is not None
    assert view.run.error.startswith(
        "step 'bearer' failed: secret RECORDER_TOKEN is 4 character(s) long; "
        "sopbench needs at least 8"
    )
    assert "give RECORDER_TOKEN a value of at least 8 characters" in view.run.error
    assert bench.recorder.requests == []
    assert "2027" not in view.run.error
