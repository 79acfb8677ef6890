"""A small threaded HTTP server for local service doubles.

:class:`LocalServer` runs a real HTTP/1.1 server (keep-alive) on 127.0.0.1
and a free port in a background thread. Subclasses route requests in
:meth:`LocalServer.handle`; the base records every request (with a
monotonic timestamp taken when it arrived) and injects faults before the
service logic sees the request:

* :meth:`~LocalServer.fail` — the next N matching requests get a status
  (503 by default, with an optional ``Retry-After``);
* :meth:`~LocalServer.rate_limit` — N 429s with ``Retry-After`` (the body
  is the service's own 429 shape, see :meth:`LocalServer.rate_limit_reply`);
* :meth:`~LocalServer.slow` — N responses delayed by some seconds;
* :meth:`~LocalServer.malformed` — N answers with a body that is not the
  documented JSON;
* :meth:`~LocalServer.deny_auth` — N (or all) requests fail authentication
  the way the service does;
* :meth:`~LocalServer.hold` — N requests held, before or after the service
  acted on them, until :meth:`Hold.release` (for crash tests).

Use as a context manager::

    with MixpostServer() as server:
        client = MixpostClient(server.api_url, ...)
        ...
        assert server.requests[-1].path.endswith("/posts")
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, Literal
from urllib.parse import parse_qs, urlsplit

__all__ = ["Fault", "Hold", "LocalServer", "Recorded", "Reply"]


@dataclass
class Recorded:
    """One request as the server received it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    """Lower-cased header names."""
    body: bytes
    at: float
    """``time.monotonic()`` when the request had been read."""
    status: int = 0
    """The status answered (0 while it is being handled)."""
    fault: str | None = None
    """Which injected fault answered it, if any."""

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


@dataclass
class Reply:
    """What the server answers."""

    status: int = 200
    json: Any = None
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"

    def encoded(self) -> bytes:
        if self.body is not None:
            return self.body
        if self.json is None:
            return b""
        return json.dumps(self.json).encode()


@dataclass
class Fault:
    """An injected misbehaviour for the next ``times`` matching requests."""

    kind: Literal["status", "slow", "malformed", "auth", "hold"]
    times: int | None = 1
    """How many requests it applies to (``None``: until cleared)."""
    status: int = 503
    retry_after: float | str | None = None
    delay: float = 0.0
    body: bytes | None = None
    content_type: str = "text/html"
    method: str | None = None
    path: str | None = None
    """Only requests whose path contains this string."""
    hold: Hold | None = None

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method.upper() != method:
            return False
        return self.path is None or self.path in path


class Hold:
    """Requests held by the server until released (or the server stops)."""

    def __init__(self, when: Literal["before", "after"]) -> None:
        self.when = when
        self.arrived = threading.Event()
        """Set when a held request arrived (``before``) or was acted on (``after``)."""
        self._released = threading.Event()

    def wait(self, timeout: float = 10.0) -> bool:
        """Wait until a request is being held."""
        return self.arrived.wait(timeout)

    def release(self) -> None:
        self._released.set()

    def block(self, timeout: float) -> None:
        self.arrived.set()
        self._released.wait(timeout)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    _headers_buffer: list[bytes]

    def setup(self) -> None:
        super().setup()
        # One write per answer and no Nagle delay: a keep-alive client would
        # otherwise wait ~40 ms (delayed ACK) for every body.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # silence stderr
        pass

    def _serve(self) -> None:
        self.server.owner._dispatch(self)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    owner: LocalServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that drops its keep-alive connection (or is killed) is normal here.
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            return
        super().handle_error(request, client_address)


class LocalServer:
    """Base of the service doubles: start/stop, recording, fault injection."""

    name: ClassVar[str] = "local"

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self.requests: list[Recorded] = []
        self._faults: list[Fault] = []
        self._lock = threading.RLock()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None
        self._holds: list[Hold] = []

    # -- lifecycle -------------------------------------------------------------
    def start(self) -> LocalServer:
        if self._httpd is not None:
            return self
        httpd = _Server((self.host, self.port), _Handler)
        httpd.owner = self
        self.port = httpd.server_address[1]
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"{self.name}-server",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        for hold in self._holds:
            hold.release()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (no trailing slash)."""
        return f"http://{self.host}:{self.port}"

    # -- fault injection ----------------------------------------------------------
    def add_fault(self, fault: Fault) -> Fault:
        with self._lock:
            self._faults.append(fault)
        return fault

    def fail(
        self,
        times: int | None = 1,
        status: int = 503,
        *,
        retry_after: float | str | None = None,
        body: bytes | None = None,
        method: str | None = None,
        path: str | None = None,
    ) -> Fault:
        """The next ``times`` matching requests get ``status``."""
        return self.add_fault(
            Fault(
                "status",
                times,
                status=status,
                retry_after=retry_after,
                body=body,
                method=method,
                path=path,
            )
        )

    def rate_limit(
        self,
        times: int | None = 1,
        retry_after: float | str = 1,
        *,
        method: str | None = None,
        path: str | None = None,
    ) -> Fault:
        """The next ``times`` matching requests get the service's 429."""
        return self.fail(times, 429, retry_after=retry_after, method=method, path=path)

    def slow(
        self,
        delay: float,
        times: int | None = 1,
        *,
        method: str | None = None,
        path: str | None = None,
    ) -> Fault:
        """The next ``times`` matching responses are delayed by ``delay`` seconds."""
        return self.add_fault(Fault("slow", times, delay=delay, method=method, path=path))

    def malformed(
        self,
        times: int | None = 1,
        *,
        body: bytes = b"<html><body>502 Bad Gateway</body></html>",
        status: int = 200,
        content_type: str = "text/html",
        method: str | None = None,
        path: str | None = None,
    ) -> Fault:
        """The next ``times`` matching requests get a non-JSON (or wrong) body."""
        return self.add_fault(
            Fault(
                "malformed",
                times,
                status=status,
                body=body,
                content_type=content_type,
                method=method,
                path=path,
            )
        )

    def deny_auth(
        self, times: int | None = None, *, method: str | None = None, path: str | None = None
    ) -> Fault:
        """Matching requests fail authentication as the service does (all, by default)."""
        return self.add_fault(Fault("auth", times, method=method, path=path))

    def hold(
        self,
        when: Literal["before", "after"] = "before",
        *,
        times: int | None = 1,
        method: str | None = None,
        path: str | None = None,
    ) -> Hold:
        """Hold matching requests ``before`` the service acts or ``after`` it did."""
        hold = Hold(when)
        self._holds.append(hold)
        self.add_fault(Fault("hold", times, hold=hold, method=method, path=path))
        return hold

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def reset(self) -> None:
        """Forget recorded requests and faults (the service state stays)."""
        with self._lock:
            self._faults.clear()
            self.requests.clear()

    def _take(self, method: str, path: str, kinds: tuple[str, ...]) -> list[Fault]:
        taken: list[Fault] = []
        with self._lock:
            for fault in list(self._faults):
                if fault.kind not in kinds or not fault.matches(method, path):
                    continue
                if fault.kind in ("status", "malformed", "auth") and any(
                    f.kind in ("status", "malformed", "auth") for f in taken
                ):
                    continue
                taken.append(fault)
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
        return taken

    # -- service hooks (override) -----------------------------------------------------
    def handle(self, request: Recorded) -> Reply:
        """The service's answer to one request."""
        return Reply(404, {"message": "Not Found"})

    def rate_limit_reply(self, request: Recorded, retry_after: float | str | None) -> Reply:
        """The service's 429 (default: Laravel-style ``{"message": ...}``)."""
        return Reply(429, {"message": "Too Many Attempts."})

    def error_reply(self, request: Recorded, status: int) -> Reply:
        """The service's answer for an injected error status."""
        return Reply(status, {"message": "Server Error" if status >= 500 else "Error"})

    def auth_reply(self, request: Recorded) -> Reply:
        """The service's answer when authentication fails."""
        return Reply(401, {"message": "Unauthenticated."})

    def count(self, method: str | None = None, path: str | None = None) -> int:
        """Recorded requests matching ``method`` and containing ``path``."""
        return len(self.matching(method, path))

    def matching(self, method: str | None = None, path: str | None = None) -> list[Recorded]:
        with self._lock:
            return [
                r
                for r in self.requests
                if (method is None or r.method == method.upper())
                and (path is None or path in r.path)
            ]

    # -- the request cycle ---------------------------------------------------------------
    def _dispatch(self, handler: _Handler) -> None:
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        request = Recorded(
            method=handler.command,
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in handler.headers.items()},
            body=body,
            at=time.monotonic(),
        )
        with self._lock:
            self.requests.append(request)
        faults = self._take(
            request.method, request.path, ("status", "slow", "malformed", "auth", "hold")
        )
        delay = sum(f.delay for f in faults if f.kind == "slow")
        holds = [f.hold for f in faults if f.kind == "hold" and f.hold is not None]
        for hold in holds:
            if hold.when == "before":
                hold.block(30.0)
        reply = self._answer(request, faults)
        for hold in holds:
            if hold.when == "after":
                hold.block(30.0)
        if delay:
            time.sleep(delay)
        request.status = reply.status
        self._send_reply(handler, reply)

    def _answer(self, request: Recorded, faults: list[Fault]) -> Reply:
        for fault in faults:
            if fault.kind == "auth":
                request.fault = "auth"
                return self.auth_reply(request)
            if fault.kind == "malformed":
                request.fault = "malformed"
                return Reply(fault.status, body=fault.body or b"", content_type=fault.content_type)
            if fault.kind == "status":
                request.fault = f"status {fault.status}"
                if fault.body is not None:
                    reply = Reply(fault.status, body=fault.body)
                elif fault.status == 429:
                    reply = self.rate_limit_reply(request, fault.retry_after)
                else:
                    reply = self.error_reply(request, fault.status)
                if fault.retry_after is not None and "Retry-After" not in reply.headers:
                    reply.headers["Retry-After"] = _header_value(fault.retry_after)
                return reply
        try:
            return self.handle(request)
        except Exception as exc:  # a bug in a double must show, not hang the client
            return Reply(500, {"message": f"double failed: {type(exc).__name__}: {exc}"})

    def _send_reply(self, handler: _Handler, reply: Reply) -> None:
        payload = reply.encoded()
        try:
            handler.send_response(reply.status)
            if payload or reply.status not in (204, 304):
                handler.send_header("Content-Type", reply.content_type)
            handler.send_header("Content-Length", str(len(payload)))
            for name, value in reply.headers.items():
                handler.send_header(name, value)
            handler.send_header("Connection", "keep-alive")
            # end_headers() would write the headers on their own; send them with the body.
            handler._headers_buffer.append(b"\r\n")
            if payload and handler.command != "HEAD":
                handler._headers_buffer.append(payload)
            handler.wfile.write(b"".join(handler._headers_buffer))
            handler._headers_buffer = []
            handler.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            handler.close_connection = True


def _header_value(value: float | str) -> str:
    if isinstance(value, str):
        return value
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def json_error(status: int, payload: Mapping[str, Any], **headers: str) -> Reply:
    """A JSON error reply."""
    return Reply(status, dict(payload), headers=dict(headers))


Route = Callable[[Recorded], Reply]
