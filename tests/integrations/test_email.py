"""The SMTP client and the ``email`` notification adapter against a real aiosmtpd server."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from sopbench.config import Secrets, Settings
from sopbench.errors import ConfigError, ConnectionNotConfigured, IntegrationError
from sopbench.integrations.email import (
    EmailNotifier,
    SmtpClient,
    SmtpConfig,
    email_factory,
    message_id_for,
)
from sopbench.model.workspace import Connection
from sopbench.testing.servers.smtp import SmtpDouble

PASSWORD = "s3cret-smtp-passw0rd"


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpDouble]:
    with SmtpDouble(users={"ops": PASSWORD}) as server:
        yield server


@pytest.fixture(autouse=True)
def _fresh(smtp: SmtpDouble) -> None:
    smtp.reset()


def secrets(**values: str) -> Secrets:
    return Secrets([{"SMTP_PASSWORD": PASSWORD, **values}])


def config(smtp: SmtpDouble, **fields: Any) -> SmtpConfig:
    base = SmtpConfig.from_url(
        smtp.url.replace("sandbox@", "ops@"),
        password_secret="SMTP_PASSWORD",
        ca_file=smtp.ca_file,
        sender="Summit Ops <ops@summit.example>",
        backoff=0.05,
    )
    return replace(base, **fields)


def test_sends_over_starttls_with_auth(smtp: SmtpDouble) -> None:
    client = SmtpClient(config(smtp), secrets())
    mid = client.send(to=["a@x.example", "B <b@x.example>"], subject="Hello", body="Line 1\nÄ 2")
    [mail] = smtp.messages
    assert mail.tls and mail.user == "ops"
    assert mail.rcpt_tos == ["a@x.example", "b@x.example"]
    msg = mail.message
    assert msg["Subject"] == "Hello"
    assert msg["Message-ID"] == mid
    assert msg["From"] == "Summit Ops <ops@summit.example>"
    assert msg.get_content().strip().splitlines() == ["Line 1", "Ä 2"]


def test_wrong_password_is_an_auth_error_without_the_secret(smtp: SmtpDouble) -> None:
    client = SmtpClient(config(smtp), Secrets([{"SMTP_PASSWORD": "wrong-password-123"}]))
    with pytest.raises(IntegrationError) as info:
        client.send(to=["a@x.example"], subject="s", body="b")
    err = info.value
    assert err.service == "smtp" and err.status == 535
    assert "login as ops refused" in str(err)
    assert "SMTP_PASSWORD" in str(err)  # names the secret to fix ...
    assert "wrong-password-123" not in str(err)  # ... never its value
    assert smtp.messages == []


def test_missing_secret_says_which(smtp: SmtpDouble) -> None:
    client = SmtpClient(config(smtp), Secrets([{}]))
    with pytest.raises(ConfigError, match="SMTP_PASSWORD"):
        client.send(to=["a@x.example"], subject="s", body="b")


def test_untrusted_certificate_fails_clearly(smtp: SmtpDouble) -> None:
    client = SmtpClient(config(smtp, ca_file=None), secrets())
    with pytest.raises(IntegrationError, match="TLS failed") as info:
        client.send(to=["a@x.example"], subject="s", body="b")
    assert "ca_file" in str(info.value)


def test_transient_451_is_retried_then_delivered(smtp: SmtpDouble) -> None:
    smtp.defer(451, times=2)
    client = SmtpClient(config(smtp, attempts=3), secrets())
    client.send(to=["a@x.example"], subject="retry", body="b")
    assert len(smtp.attempts) == 3
    assert [m.message["Subject"] for m in smtp.messages] == ["retry"]
    gaps = [b[0] - a[0] for a, b in zip(smtp.attempts, smtp.attempts[1:], strict=False)]
    assert gaps[0] >= 0.04 and gaps[1] >= 0.09  # backoff 0.05, then 0.1


def test_transient_failures_give_up(smtp: SmtpDouble) -> None:
    smtp.defer(421, times=5)
    client = SmtpClient(config(smtp, attempts=2), secrets())
    with pytest.raises(IntegrationError, match="deferred the message 2 time") as info:
        client.send(to=["a@x.example"], subject="s", body="b")
    assert info.value.status == 421
    assert len(smtp.attempts) == 2


def test_permanent_rejection_is_not_retried(smtp: SmtpDouble) -> None:
    smtp.reject(554, times=3, text="Spam detected")
    client = SmtpClient(config(smtp), secrets())
    with pytest.raises(IntegrationError, match="554 Spam detected") as info:
        client.send(to=["a@x.example"], subject="s", body="b")
    assert info.value.status == 554
    assert len(smtp.attempts) == 1


def test_timeout(smtp: SmtpDouble) -> None:
    smtp.slow(1.0)
    client = SmtpClient(config(smtp, timeout=0.3), secrets())
    started = time.monotonic()
    with pytest.raises(IntegrationError, match=r"no answer within 0.3s"):
        client.send(to=["a@x.example"], subject="s", body="b")
    assert time.monotonic() - started < 0.9
    time.sleep(0.8)  # let the server finish the slow answer before the next test


def test_refused_connection_is_retried_then_reported(tmp_path: Path) -> None:
    with SmtpDouble(tls=False, users={}) as gone:
        url = gone.url
    client = SmtpClient(SmtpConfig.from_url(url, backoff=0.01, attempts=2), Secrets([]))
    with pytest.raises(IntegrationError, match="connection refused"):
        client.send(to=["a@x.example"], subject="s", body="b")


def test_server_without_starttls_is_refused_for_smtp_scheme() -> None:
    with SmtpDouble(tls=False, users={}) as plain:
        url = plain.url.replace("smtp+plain://", "smtp://")
        client = SmtpClient(SmtpConfig.from_url(url), Secrets([]))
        with pytest.raises(IntegrationError, match="does not offer STARTTLS"):
            client.send(to=["a@x.example"], subject="s", body="b")
        # and a plain local relay works when asked for explicitly
        SmtpClient(SmtpConfig.from_url(plain.url), Secrets([])).send(
            to=["a@x.example"], subject="relay", body="b"
        )
        relay = Connection(type="smtp", base_url=url, options={"starttls": False})
        assert SmtpConfig.from_connection(relay).security == "none"
        assert [m.tls for m in plain.messages] == [False]


def test_notifier_sends_to_channel_recipients_with_stable_message_id(smtp: SmtpDouble) -> None:
    notifier = EmailNotifier(config(smtp, password_secret=None), secrets())
    channel = {"type": "email", "to": ["ops@x.example"], "secret": "SMTP_PASSWORD"}
    sent = notifier.send(
        channel=channel,
        message="Contract won\n\nDetails follow.",
        subject=None,
        idempotency_key="k1",
    )
    assert sent["message_id"] == message_id_for("k1")
    [mail] = smtp.messages
    assert mail.message["Subject"] == "Contract won"
    assert mail.message["Message-ID"] == message_id_for("k1")
    with pytest.raises(ConfigError, match="no recipients"):
        notifier.send(channel={"type": "email"}, message="m", subject="s", idempotency_key="k2")


def test_factory_from_connection_setting_and_nothing(smtp: SmtpDouble, tmp_path: Path) -> None:
    conn = Connection(
        type="smtp",
        base_url=smtp.url.replace("sandbox@", "ops@"),
        secret="SMTP_PASSWORD",
        options={"ca_file": smtp.ca_file, "from": "bot@x.example"},
    )
    settings = Settings(home=tmp_path, db_url="sqlite://", secrets=secrets())
    notifier = email_factory(conn, settings)
    notifier.send(
        channel={"type": "email", "to": ["z@x.example"]},
        message="m",
        subject="s",
        idempotency_key="k",
    )
    assert smtp.messages[0].message["From"] == "bot@x.example"

    from_url = email_factory(None, Settings(home=tmp_path, db_url="sqlite://", smtp_url=smtp.url))
    assert from_url.config.port == smtp.port and from_url.config.security == "starttls"
    with pytest.raises(ConnectionNotConfigured, match="SOPBENCH_SMTP_URL"):
        email_factory(None, Settings(home=tmp_path, db_url="sqlite://"))
    with pytest.raises(ConfigError, match="type smtp"):
        email_factory(Connection(type="canva", base_url="http://x"), settings)
    with pytest.raises(ConfigError, match="not an SMTP URL"):
        SmtpConfig.from_url("http://example.com")
