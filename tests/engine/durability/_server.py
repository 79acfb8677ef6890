"""A real HTTP server on 127.0.0.1 that records what it was asked to do.

It stands in for the outside service a SOP calls (a webhook receiver, an
API). Like a well-behaved service it deduplicates by ``Idempotency-Key``:
the first request with a key is *completed* (the effect happens, a response
is stored), a later request with the same key is *replayed* (the stored
response, nothing happens again). Every request is recorded with its
outcome, so a test can tell "the effect happened twice" from "the client
repeated an unanswered call".

Tests can *hold* the next request to a path, to kill the caller while the
call is in flight:

``before``
    the request has arrived but the server has not acted on it; a held
    request that is then ``abort()``-ed is dropped unprocessed (the effect
    never happened), as a service does when its client vanishes.
``after``
    the server has completed the effect and stored the response but not
    sent it yet; the caller never learns the outcome.
``answered``
    nothing is held; the test is told the moment the answer was written
    (to kill the caller while it records the outcome).

Requests may also be slowed down (``delay``) so that overlapping calls for
the same key, were the engine ever to make them, are caught (``overlaps``).
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["Hold", "Recorder", "Request"]


@dataclass
class Request:
    """One request as the server saw it."""

    seq: int
    method: str
    path: str
    key: str | None
    body: Any
    arrived: float
    outcome: str = "pending"  # completed | replayed | aborted | conflict
    finished: float | None = None  # when the answer was written
    hold: Hold | None = None


@dataclass
class Hold:
    """Hold the next request whose path starts with ``prefix``."""

    prefix: str
    when: str  # "before" | "after" | "answered" (not held: only signalled once answered)
    arrived: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)
    aborted: bool = False
    request: Request | None = None

    def release(self) -> None:
        """Let the held request go on (its response goes to whoever still listens)."""
        self.released.set()

    def abort(self) -> None:
        """Drop the held request; on a ``before`` hold the effect never happens."""
        self.aborted = True
        self.released.set()

    def wait(self, timeout: float = 30.0) -> Request:
        if not self.arrived.wait(timeout):
            raise TimeoutError(f"no request to {self.prefix} within {timeout}s")
        assert self.request is not None
        return self.request


class Recorder:
    """The server; use as a context manager (``with Recorder() as server``)."""

    def __init__(self, *, delay: float = 0.0) -> None:
        self.delay = delay
        self.requests: list[Request] = []
        self.overlaps: list[tuple[str, str]] = []  # (key, path) seen twice at once
        self._lock = threading.Lock()
        self._done: dict[str, dict[str, Any]] = {}
        self._inflight: set[str] = set()
        self._per_path: Counter[str] = Counter()
        self._holds: list[Hold] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # -- lifecycle -------------------------------------------------------------

    def __enter__(self) -> Recorder:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        for hold in self._holds:
            hold.abort()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    # -- test controls ---------------------------------------------------------

    def hold(self, prefix: str, when: str) -> Hold:
        assert when in ("before", "after", "answered")
        hold = Hold(prefix, when)
        with self._lock:
            self._holds.append(hold)
        return hold

    def under(self, prefix: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.path.startswith(prefix)]

    def completions(self, prefix: str = "") -> Counter[str]:
        """Idempotency key -> how many times its effect happened (must be <= 1)."""
        return Counter(
            r.key or f"<no key {r.seq}>" for r in self.under(prefix) if r.outcome == "completed"
        )

    # -- serving -------------------------------------------------------------

    def _take_hold(self, path: str) -> Hold | None:
        for hold in self._holds:
            if hold.request is None and path.startswith(hold.prefix):
                return hold
        return None

    def _serve(
        self, method: str, path: str, key: str | None, body: Any
    ) -> tuple[int, Any, Request]:
        with self._lock:
            request = Request(len(self.requests), method, path, key, body, time.time())
            self.requests.append(request)
            hold = self._take_hold(path)
            if hold is not None:
                hold.request = request
                request.hold = hold
        if hold is not None and hold.when == "before":
            hold.arrived.set()
            hold.released.wait()
            if hold.aborted:
                request.outcome, request.finished = "aborted", time.time()
                return 0, None, request
        with self._lock:
            if key is not None and key in self._done:
                request.outcome = "replayed"
                return 200, self._done[key], request
            if key is not None and key in self._inflight:
                request.outcome = "conflict"
                self.overlaps.append((key, path))
                return 409, {"error": "a request with this key is in flight"}, request
            if key is not None:
                self._inflight.add(key)
        if self.delay:
            time.sleep(self.delay)
        with self._lock:
            self._per_path[path] += 1
            response = {
                "key": key,
                "path": path,
                "path_completions": self._per_path[path],
                "body": body,
            }
            if key is not None:
                self._inflight.discard(key)
                self._done[key] = response
            request.outcome = "completed"
        if hold is not None and hold.when == "after":
            hold.arrived.set()
            hold.released.wait()
        return 200, response, request

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode(errors="replace")
                status, payload, request = recorder._serve(
                    self.command, self.path, self.headers.get("Idempotency-Key"), body
                )
                if status == 0:  # aborted: hang up without an answer
                    self.close_connection = True
                    return
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    self.wfile.flush()
                    request.finished = time.time()
                    if request.hold is not None and request.hold.when == "answered":
                        request.hold.arrived.set()
                except OSError:  # the caller died while we held its answer
                    self.close_connection = True

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _any

        return Handler
