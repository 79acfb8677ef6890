"""notification: `log` is real; unknown channels fail; dry-run sends nothing."""

from __future__ import annotations

import logging

import pytest
from engine.support import Bench

from sopbench.engine import idempotency_key


def test_log_notifications_are_logged(bench: Bench, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="sopbench.notifications")
    view = bench.start("notify_log", {"name": "Ann"})
    assert view.run.status == "succeeded"
    logged = [
        (r.levelname, r.getMessage()) for r in caplog.records if r.name == "sopbench.notifications"
    ]
    assert logged == [
        ("WARNING", "[shop/notify_log] Hello Ann from Corner Shop"),
        ("INFO", "[shop/notify_log] plain log line"),
    ]
    hello = bench.steps(view.run.id)["hello"]
    assert hello.result == {
        "delivered": True,
        "message_id": "log-" + idempotency_key(view.run.id, "hello")[3:15],
        "channel": "ops",
    }
    assert hello.rendered["message"] == "Hello Ann from Corner Shop"
    assert bench.steps(view.run.id)["plain"].result["channel"] == "log"


def test_notification_to_an_unknown_channel_fails(bench: Bench) -> None:
    view = bench.start("notify_dynamic", {"channel": "nowhere"})
    assert view.run.status == "failed"
    assert bench.steps(view.run.id)["tell"].error == (
        "entity 'shop' has no channel 'nowhere' "
        "(declare it under the entity's channels in sops/entities.yaml)"
    )


def test_notification_to_a_log_channel_by_name(bench: Bench) -> None:
    view = bench.start("notify_dynamic", {"channel": "ops"})
    assert view.run.status == "succeeded"
    assert bench.steps(view.run.id)["tell"].result["delivered"] is True


def test_notification_dry_run_sends_nothing(bench: Bench, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="sopbench.notifications")
    view = bench.dry("notify_log", {"name": "Bo"})
    assert view.run.status == "succeeded"
    assert [r for r in caplog.records if r.name == "sopbench.notifications"] == []
    hello = bench.steps(view.run.id)["hello"].result
    assert hello == {
        "delivered": False,
        "message_id": None,
        "simulated": True,
        "channel": "ops",
        "message": "Hello Bo from Corner Shop",
    }
    # an unknown channel is found by a dry-run too
    assert bench.dry("notify_dynamic", {"channel": "nowhere"}).run.status == "failed"
