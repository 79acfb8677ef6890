"""A real SMTP server on 127.0.0.1 (aiosmtpd): STARTTLS, AUTH, recorded messages.

:class:`SmtpDouble` runs :class:`aiosmtpd.controller.Controller` in a
background thread with a throwaway self-signed certificate (so STARTTLS is
real TLS; clients trust it through :attr:`SmtpDouble.ca_file`) and AUTH
PLAIN/LOGIN checked against ``users``. Every accepted message is recorded
as a :class:`ReceivedMail`; failures are injected per message::

    with SmtpDouble(users={"ops": "pw"}) as smtp:
        smtp.defer(times=1)              # next DATA gets "451", then normal
        ...send...
        assert smtp.messages[0].message["Subject"] == "hello"

Needs the ``aiosmtpd`` package (``pip install sopbench[test]``).
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from types import TracebackType
from typing import Any

__all__ = ["ReceivedMail", "SmtpDouble", "make_self_signed"]


@dataclass(frozen=True)
class ReceivedMail:
    """One message the double accepted."""

    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    user: str | None
    tls: bool
    at: float

    @property
    def message(self) -> EmailMessage:
        parsed = email.message_from_bytes(self.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class _Plan:
    code: int
    text: str
    times: int


@dataclass
class _State:
    messages: list[ReceivedMail] = field(default_factory=list)
    attempts: list[tuple[float, str]] = field(default_factory=list)
    plans: list[_Plan] = field(default_factory=list)
    delay: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)


def make_self_signed(folder: Path, host: str = "127.0.0.1") -> tuple[Path, Path]:
    """A throwaway certificate + key for ``host`` (and localhost) in ``folder``."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    try:
        _with_cryptography(cert, key, host)
    except ImportError:
        openssl = shutil.which("openssl")
        if openssl is None:
            raise RuntimeError("TLS for the SMTP double needs `cryptography` or openssl") from None
        subprocess.run(
            [
                openssl,
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-subj",
                f"/CN={host}",
                "-addext",
                f"subjectAltName=IP:{host},DNS:localhost",
                "-keyout",
                str(key),
                "-out",
                str(cert),
            ],
            check=True,
            capture_output=True,
        )
    return cert, key


def _with_cryptography(cert_path: Path, key_path: Path, host: str) -> None:
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address(host)), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


class _Handler:
    def __init__(self, state: _State) -> None:
        self.state = state

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        state = self.state
        user = session.auth_data.login.decode() if session.authenticated else None
        with state.lock:
            state.attempts.append((time.time(), str(envelope.mail_from)))
            plan = next((p for p in state.plans if p.times > 0), None)
            if plan is not None:
                plan.times -= 1
            delay = state.delay
        if delay:
            await asyncio.sleep(delay)
        if plan is not None:
            return f"{plan.code} {plan.text}"
        received = ReceivedMail(
            mail_from=str(envelope.mail_from),
            rcpt_tos=[str(r) for r in envelope.rcpt_tos],
            content=bytes(envelope.original_content or envelope.content),
            user=user,
            tls=session.ssl is not None,
            at=time.time(),
        )
        with state.lock:
            state.messages.append(received)
        return "250 Message accepted for delivery"


class SmtpDouble:
    """A local SMTP server: STARTTLS (optional), AUTH, recording, injected failures."""

    def __init__(
        self,
        *,
        users: Mapping[str, str] | None = None,
        tls: bool = True,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.users = dict(users if users is not None else {"sandbox": "sandbox-smtp-password"})
        self.tls = tls
        self.host = host
        self.port = port or _free_port(host)
        self._state = _State()
        self._controller: Any = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self.ca_file: str | None = None

    # -- lifecycle
    def start(self) -> SmtpDouble:
        import ssl

        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult, LoginPassword

        users = self.users

        def authenticator(
            server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
        ) -> Any:
            if not isinstance(auth_data, LoginPassword):
                return AuthResult(success=False, handled=False)
            login = auth_data.login.decode()
            ok = users.get(login) == auth_data.password.decode()
            return AuthResult(success=ok, handled=False, auth_data=auth_data)

        kwargs: dict[str, Any] = {
            "authenticator": authenticator,
            "auth_required": bool(users),
            "auth_require_tls": self.tls,
        }
        if self.tls:
            self._tmp = tempfile.TemporaryDirectory(prefix="sopbench-smtp-")
            cert, key = make_self_signed(Path(self._tmp.name), self.host)
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(cert, key)
            kwargs["tls_context"] = context
            kwargs["require_starttls"] = True
            self.ca_file = str(cert)
        self._controller = Controller(
            _Handler(self._state), hostname=self.host, port=self.port, **kwargs
        )
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> SmtpDouble:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- addresses
    @property
    def url(self) -> str:
        """``smtp://<user>@host:port`` (STARTTLS) or ``smtp+plain://`` without TLS."""
        scheme = "smtp" if self.tls else "smtp+plain"
        user = next(iter(self.users), None)
        at = f"{user}@" if user else ""
        return f"{scheme}://{at}{self.host}:{self.port}"

    # -- behaviour
    def defer(self, code: int = 451, *, times: int = 1, text: str = "Try again later") -> None:
        """Answer the next ``times`` messages with a transient ``code`` (4xx)."""
        with self._state.lock:
            self._state.plans.append(_Plan(code, text, times))

    def reject(self, code: int = 550, *, times: int = 1, text: str = "Rejected") -> None:
        """Answer the next ``times`` messages with a permanent ``code`` (5xx)."""
        with self._state.lock:
            self._state.plans.append(_Plan(code, text, times))

    def slow(self, seconds: float) -> None:
        """Wait ``seconds`` before answering each message (0 to stop)."""
        with self._state.lock:
            self._state.delay = seconds

    def reset(self) -> None:
        with self._state.lock:
            self._state.messages.clear()
            self._state.attempts.clear()
            self._state.plans.clear()
            self._state.delay = 0.0

    # -- records
    @property
    def messages(self) -> list[ReceivedMail]:
        with self._state.lock:
            return list(self._state.messages)

    @property
    def attempts(self) -> list[tuple[float, str]]:
        """``(time, mail_from)`` of every DATA received, refused ones included."""
        with self._state.lock:
            return list(self._state.attempts)
