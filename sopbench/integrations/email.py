"""Email over SMTP: STARTTLS (or implicit TLS) and AUTH, the password a named secret.

:class:`SmtpClient` sends one message per call through :mod:`smtplib`;
:class:`EmailNotifier` is the ``email`` adapter the ``notification`` step
calls (``send(channel=..., message=..., subject=..., idempotency_key=...)``).

Where the server is, in order:

* the channel's ``connection`` (a ``type: smtp`` connection)::

      connections:
        mail:
          type: smtp
          base_url: smtp://ops@summit.example@mail.example.com:587
          secret: SMTP_PASSWORD
          options: {from: "Summit Ops <ops@summit.example>"}

* else ``SOPBENCH_SMTP_URL`` (same URL form).

URL schemes: ``smtp://`` sends STARTTLS and refuses a server that does not
offer it; ``smtps://`` is TLS from the first byte (port 465);
``smtp+plain://`` sends in clear text (local relays only; AUTH is then
refused by well-behaved servers). The user name may be given in the URL or
as ``options.username``; the password is the channel's ``secret`` (else the
connection's). Options: ``from``, ``username``, ``ca_file`` (a CA bundle
to trust, e.g. the sandbox's), ``verify`` (default true), ``starttls``
(``false`` = ``smtp+plain://``), ``retries``, ``backoff``.

Retries: only replies that prove the message was *not* accepted are
retried (a 4xx transient reply, a refused connection); a connection lost
after the message data was sent is not retried, so a message is never
sent twice by this client. The ``Message-ID`` is derived from the
idempotency key, so a repeated send after a crash can be recognised by
the receiving side.
"""

from __future__ import annotations

import hashlib
import smtplib
import ssl
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from email.message import EmailMessage
from email.utils import formatdate, getaddresses
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qs, unquote, urlsplit

from sopbench.errors import ConfigError, ConnectionNotConfigured, IntegrationError

if TYPE_CHECKING:
    from sopbench.config import Secrets, Settings
    from sopbench.model.workspace import Connection

__all__ = [
    "EmailNotifier",
    "SmtpClient",
    "SmtpConfig",
    "email_factory",
    "message_id_for",
]

Security = Literal["starttls", "ssl", "none"]
_SCHEMES: dict[str, Security] = {"smtp": "starttls", "smtps": "ssl", "smtp+plain": "none"}
_DEFAULT_PORTS: dict[Security, int] = {"starttls": 587, "ssl": 465, "none": 25}
SERVICE = "smtp"


def message_id_for(idempotency_key: str, domain: str = "sopbench.local") -> str:
    """A stable ``Message-ID`` for one idempotency key."""
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]
    return f"<{digest}@{domain}>"


@dataclass(frozen=True)
class SmtpConfig:
    """Where and how to reach the mail server; the password only by secret name."""

    host: str
    port: int
    security: Security = "starttls"
    username: str | None = None
    password_secret: str | None = None
    sender: str = "sopbench@localhost"
    timeout: float = 30.0
    ca_file: str | None = None
    verify: bool = True
    attempts: int = 3
    backoff: float = 0.5

    @classmethod
    def from_url(cls, url: str, **overrides: Any) -> SmtpConfig:
        """From ``smtp[s|+plain]://[user@]host[:port][?from=addr]``."""
        parts = urlsplit(url)
        security = _SCHEMES.get(parts.scheme.lower())
        if security is None or not parts.hostname:
            raise ConfigError(
                f"not an SMTP URL: {parts.scheme}://{parts.hostname or ''}",
                hint="use smtp://user@host:587, smtps://user@host:465 or smtp+plain://host:25",
            )
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        fields: dict[str, Any] = {
            "host": parts.hostname,
            "port": parts.port or _DEFAULT_PORTS[security],
            "security": security,
            "username": unquote(parts.username) if parts.username else None,
        }
        if "from" in query:
            fields["sender"] = query["from"]
        fields.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**fields)

    @classmethod
    def from_connection(cls, connection: Connection) -> SmtpConfig:
        if connection.type != "smtp":
            raise ConfigError(
                f"an email channel needs a connection of type smtp, not {connection.type}"
            )
        if not connection.base_url:
            raise ConnectionNotConfigured(
                "the smtp connection has no base_url",
                hint="set base_url: smtp://user@host:587 in sops/connections.yaml",
            )
        opts = connection.options
        security: Security | None = None
        if opts.get("starttls") is False and connection.base_url.startswith("smtp://"):
            security = "none"  # `starttls: false`: a local relay without TLS
        return cls.from_url(
            connection.base_url,
            security=security,
            password_secret=connection.secret,
            username=opts.get("username"),
            sender=opts.get("from"),
            timeout=connection.timeout,
            ca_file=opts.get("ca_file"),
            verify=opts.get("verify"),
            attempts=None if "retries" not in opts else 1 + int(opts["retries"]),
            backoff=None if "backoff" not in opts else float(opts["backoff"]),
        )


class SmtpClient:
    """Sends email through one SMTP server; the password is read per send."""

    def __init__(
        self,
        config: SmtpConfig,
        secrets: Secrets,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        self._secrets = secrets
        self._sleep = sleep

    def __repr__(self) -> str:
        c = self.config
        return f"<SmtpClient {c.security} {c.host}:{c.port} user={c.username}>"

    def _tls_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=self.config.ca_file)
        if not self.config.verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    def _error(
        self, message: str, *, status: int | None = None, hint: str | None = None
    ) -> IntegrationError:
        text = f"smtp {self.config.host}:{self.config.port}: {message}"
        return IntegrationError(
            self._secrets.redact(text), service=SERVICE, status=status, hint=hint
        )

    def send(
        self,
        *,
        to: Sequence[str],
        subject: str,
        body: str,
        message_id: str | None = None,
        sender: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> str:
        """Send one plain-text message; returns its ``Message-ID``."""
        recipients = [addr for _, addr in getaddresses(list(to)) if addr]
        if not recipients:
            raise ConfigError("an email needs at least one recipient")
        msg = EmailMessage()
        msg["From"] = sender or self.config.sender
        msg["To"] = ", ".join(to)
        msg["Subject"] = subject
        msg["Date"] = formatdate(localtime=False, usegmt=True)
        msg["Message-ID"] = message_id or message_id_for(f"{time.time_ns()}:{subject}")
        for name, value in (headers or {}).items():
            msg[name] = value
        msg.set_content(body)
        attempt = 0
        while True:
            attempt += 1
            try:
                self._deliver(msg, recipients)
                return str(msg["Message-ID"])
            except _Transient as exc:
                if attempt >= self.config.attempts:
                    raise self._error(
                        f"the server deferred the message {attempt} time(s): {exc.reason}",
                        status=exc.code,
                        hint="the mail server is busy; the step can be retried later",
                    ) from None
                self._sleep(self.config.backoff * 2 ** (attempt - 1))

    def _deliver(self, msg: EmailMessage, recipients: list[str]) -> None:
        c = self.config
        data_sent = False
        try:
            smtp: smtplib.SMTP
            if c.security == "ssl":
                smtp = smtplib.SMTP_SSL(
                    c.host, c.port, timeout=c.timeout, context=self._tls_context()
                )
            else:
                smtp = smtplib.SMTP(c.host, c.port, timeout=c.timeout)
            with smtp:
                smtp.ehlo()
                if c.security == "starttls":
                    if not smtp.has_extn("starttls"):
                        raise self._error(
                            "the server does not offer STARTTLS",
                            hint="use smtps:// for TLS on connect, or smtp+plain:// "
                            "for a local relay without TLS",
                        )
                    smtp.starttls(context=self._tls_context())
                    smtp.ehlo()
                if c.username:
                    password = self._secrets.get(c.password_secret) if c.password_secret else ""
                    if not password:
                        raise ConfigError(
                            f"smtp user {c.username} has no password secret",
                            hint="name the password secret on the email channel or connection",
                        )
                    smtp.login(c.username, password)
                data_sent = True
                refused = smtp.send_message(msg, to_addrs=recipients)
                if refused:
                    codes = ", ".join(f"{addr} ({code})" for addr, (code, _) in refused.items())
                    raise self._error(f"some recipients were refused: {codes}")
        except smtplib.SMTPAuthenticationError as exc:
            raise self._error(
                f"login as {c.username} refused: {exc.smtp_code} {_text(exc.smtp_error)}",
                status=exc.smtp_code,
                hint=f"check secret {c.password_secret}",
            ) from None
        except smtplib.SMTPServerDisconnected as exc:
            if "timed out" in str(exc):  # smtplib turns a read timeout into a disconnect
                raise self._error(
                    f"no answer within {c.timeout:g}s",
                    hint="the mail server is slow or down; raise the connection's timeout",
                ) from None
            raise self._error(f"the server closed the connection: {exc}") from None
        except smtplib.SMTPNotSupportedError as exc:
            raise self._error(f"the server refused a command: {exc}") from None
        except smtplib.SMTPRecipientsRefused as exc:
            codes = ", ".join(f"{a} ({code} {_text(r)})" for a, (code, r) in exc.recipients.items())
            transient = all(400 <= code < 500 for code, _ in exc.recipients.values())
            if transient:
                raise _Transient(next(iter(exc.recipients.values()))[0], codes) from None
            raise self._error(f"all recipients refused: {codes}") from None
        except smtplib.SMTPResponseException as exc:
            if 400 <= exc.smtp_code < 500:
                raise _Transient(exc.smtp_code, _text(exc.smtp_error)) from None
            raise self._error(
                f"the server answered {exc.smtp_code} {_text(exc.smtp_error)}",
                status=exc.smtp_code,
            ) from None
        except TimeoutError:
            raise self._error(
                f"no answer within {c.timeout:g}s",
                hint="the mail server is slow or down; raise the connection's timeout",
            ) from None
        except ssl.SSLError as exc:
            raise self._error(
                f"TLS failed: {exc.reason or exc}",
                hint="set options.ca_file to the server's CA, or check the host name",
            ) from None
        except ConnectionRefusedError:
            if data_sent:  # pragma: no cover - refusal happens on connect
                raise
            raise _Transient(None, "connection refused") from None
        except (smtplib.SMTPException, OSError) as exc:
            raise self._error(f"{type(exc).__name__}: {exc}") from None


class _Transient(Exception):
    def __init__(self, code: int | None, reason: str) -> None:
        self.code = code
        self.reason = reason
        super().__init__(reason)


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


class EmailNotifier:
    """The ``email`` notification adapter: a channel's recipients, one SMTP server."""

    def __init__(self, config: SmtpConfig, secrets: Secrets) -> None:
        self.config = config
        self._secrets = secrets

    def client_for(self, channel: Mapping[str, Any]) -> SmtpClient:
        secret = channel.get("secret")
        config = replace(self.config, password_secret=secret) if secret else self.config
        return SmtpClient(config, self._secrets)

    def send(
        self,
        *,
        channel: Mapping[str, Any],
        message: str,
        subject: str | None,
        idempotency_key: str,
    ) -> dict[str, Any]:
        to = [str(addr) for addr in channel.get("to") or []]
        if not to:
            raise ConfigError(
                "the email channel has no recipients",
                hint="list them under the channel's `to` in sops/entities.yaml",
            )
        first_line = next((line.strip() for line in message.splitlines() if line.strip()), "")
        title = subject or (first_line[:77] + "..." if len(first_line) > 80 else first_line)
        message_id = message_id_for(idempotency_key)
        self.client_for(channel).send(
            to=to,
            subject=title or "sopbench notification",
            body=message,
            message_id=message_id,
            headers={"X-Sopbench-Key": hashlib.sha256(idempotency_key.encode()).hexdigest()[:16]},
        )
        return {"message_id": message_id, "to": to}


def email_factory(connection: Connection | None, settings: Settings) -> EmailNotifier:
    """The registry factory for ``email``: the channel's connection, else ``SOPBENCH_SMTP_URL``."""
    if connection is not None:
        config = SmtpConfig.from_connection(connection)
    elif settings.sandbox is not None and settings.sandbox.connection_of_type("smtp"):
        fields = settings.sandbox.connection_of_type("smtp") or {}
        opts = dict(fields.get("options") or {})
        config = SmtpConfig.from_url(
            str(fields["base_url"]),
            password_secret=fields.get("secret"),
            username=opts.get("username"),
            sender=opts.get("from"),
            ca_file=opts.get("ca_file"),
        )
    elif settings.smtp_url:
        config = SmtpConfig.from_url(settings.smtp_url)
    else:
        raise ConnectionNotConfigured(
            "no mail server is configured for email channels",
            hint="set SOPBENCH_SMTP_URL=smtp://user@host:587 or give the channel a "
            "`connection` of type smtp (or run `sopbench sandbox`)",
        )
    return EmailNotifier(config, settings.secrets)
