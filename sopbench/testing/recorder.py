"""A recording HTTP server on 127.0.0.1: the "outside world" of engine tests.

:class:`Recorder` runs a real :class:`http.server.ThreadingHTTPServer` in a
background thread. Every request is recorded (method, path, query, headers,
JSON body, arrival time, the status answered). Requests carrying an
``Idempotency-Key`` header are deduplicated the way payment APIs do it: the
first *completed* answer for a key (any status except 429 and 5xx) is
stored, and a later request with the same key gets that answer again and is
recorded with ``replay=True``. A request whose key is still being answered
waits for that answer (so a retry racing a slow first try is still a
replay). Errors (429, 5xx) are not stored: retrying after them is a fresh try.

Behaviour is set per path (exact path, or ``"*"`` for every path):

* :meth:`Recorder.respond` — the normal answer (default: 200 with a JSON
  echo ``{"ok", "method", "path", "seq", "json", "headers"}``, where ``seq``
  counts the answers made so far, replays excluded);
* :meth:`Recorder.fail` — answer ``status`` (4xx/5xx) the next ``times``
  requests, then behave normally again;
* :meth:`Recorder.throttle` — answer 429 with ``Retry-After`` ``times`` times;
* :meth:`Recorder.slow` — sleep ``seconds`` before answering (``times``
  requests, or all of them when ``times`` is None).

Example::

    from sopbench.testing.recorder import Recorder

    with Recorder() as rec:
        rec.fail("/hook", 503, times=2)           # two 503s, then 200
        rec.slow("/slow", 5.0)                    # every request there takes 5 s
        httpx.post(rec.url + "/hook", json={"a": 1}, headers={"Idempotency-Key": "k1"})
        ...
        assert [r.status for r in rec.requests_to("/hook")] == [503, 503, 200]
        assert rec.completed() == {"k1": 1}       # key -> first answers that succeeded

In pytest use the ``recorder`` fixture of ``tests/engine/conftest.py``.
The server is safe to use from several processes at once (it lives in the
test process; workers in subprocesses just call ``rec.url``).
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = ["Answer", "Recorded", "Recorder"]

_KEY_HEADER = "idempotency-key"


@dataclass(frozen=True)
class Answer:
    """A canned response: status, JSON body (None: the default echo) and headers."""

    status: int = 200
    json: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Recorded:
    """One request as the server saw it, and what it answered."""

    seq: int
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    """Header names lower-cased."""
    body: Any
    """The JSON body, parsed (None when there was none or it was not JSON)."""
    raw: bytes
    at: float
    """Arrival time, ``time.time()``."""
    status: int
    replay: bool
    """True when the answer was the stored answer of an earlier request with the same key."""

    @property
    def key(self) -> str | None:
        """The ``Idempotency-Key`` header, if any."""
        return self.headers.get(_KEY_HEADER)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass
class _Rule:
    answer: Answer
    remaining: int | None  # None: forever


@dataclass
class _Slow:
    seconds: float
    remaining: int | None


class Recorder:
    """A threaded HTTP server on 127.0.0.1 that records and deduplicates requests."""

    def __init__(self, *, dedupe: bool = True, port: int = 0) -> None:
        self.dedupe = dedupe
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._records: list[Recorded] = []
        self._defaults: dict[str, Answer] = {}
        self._rules: dict[str, list[_Rule]] = {}
        self._slow: dict[str, list[_Slow]] = {}
        self._stored: dict[str, tuple[int, bytes, dict[str, str]]] = {}
        self._inflight: dict[str, threading.Event] = {}
        self._answered = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler_class())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (no trailing slash)."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Recorder:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"recorder-{self.port}",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; slow answers still sleeping are cut short."""
        self._stopping.set()
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> Recorder:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- behaviour -----------------------------------------------------------------

    def respond(
        self,
        path: str,
        status: int = 200,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """The normal answer at ``path`` (``json=None``: the default echo body)."""
        with self._lock:
            self._defaults[path] = Answer(status, json, dict(headers or {}))

    def fail(
        self,
        path: str,
        status: int = 500,
        *,
        times: int | None = 1,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Answer ``status`` to the next ``times`` requests at ``path`` (None: always)."""
        body = json if json is not None else {"error": f"failing on purpose ({status})"}
        with self._lock:
            self._rules.setdefault(path, []).append(
                _Rule(Answer(status, body, dict(headers or {})), times)
            )

    def throttle(self, path: str, *, retry_after: int = 1, times: int | None = 1) -> None:
        """Answer 429 with ``Retry-After: retry_after`` to the next ``times`` requests."""
        self.fail(
            path,
            429,
            times=times,
            json={"error": "rate limited"},
            headers={"Retry-After": str(retry_after)},
        )

    def slow(self, path: str, seconds: float, *, times: int | None = None) -> None:
        """Sleep ``seconds`` before answering the next ``times`` requests (None: all)."""
        with self._lock:
            self._slow.setdefault(path, []).append(_Slow(seconds, times))

    def reset(self) -> None:
        """Forget every request, stored answer and behaviour."""
        with self._lock:
            self._records.clear()
            self._defaults.clear()
            self._rules.clear()
            self._slow.clear()
            self._stored.clear()

    # -- what was seen ----------------------------------------------------------------

    @property
    def requests(self) -> list[Recorded]:
        """Every request so far, in arrival order."""
        with self._lock:
            return list(self._records)

    def requests_to(self, path: str, method: str | None = None) -> list[Recorded]:
        return [
            r
            for r in self.requests
            if r.path == path and (method is None or r.method == method.upper())
        ]

    def completed(self) -> Counter[str]:
        """Idempotency key -> how many requests with it were *first* answered with success.

        With deduplication on this is at most 1 per key; a value above 1 means
        the same effect was performed twice.
        """
        return Counter(
            r.key for r in self.requests if r.key and not r.replay and 200 <= r.status < 300
        )

    def replays(self) -> list[Recorded]:
        return [r for r in self.requests if r.replay]

    def wait_for(self, count: int, *, path: str | None = None, timeout: float = 10.0) -> None:
        """Block until at least ``count`` requests (at ``path``) were recorded."""
        deadline = time.monotonic() + timeout
        while True:
            seen = len(self.requests if path is None else self.requests_to(path))
            if seen >= count:
                return
            if time.monotonic() >= deadline:
                raise TimeoutError(f"saw {seen} request(s), expected {count}")
            time.sleep(0.01)

    # -- serving -----------------------------------------------------------------------

    def _pick(self, path: str) -> tuple[float, Answer | None]:
        """(seconds to sleep, the rule's answer or None for the normal one)."""
        with self._lock:
            delay = 0.0
            for slow in self._slow.get(path, []) + self._slow.get("*", []):
                if slow.remaining is None or slow.remaining > 0:
                    delay = slow.seconds
                    if slow.remaining is not None:
                        slow.remaining -= 1
                    break
            for rule in self._rules.get(path, []) + self._rules.get("*", []):
                if rule.remaining is None or rule.remaining > 0:
                    if rule.remaining is not None:
                        rule.remaining -= 1
                    return delay, rule.answer
            return delay, None

    def _answer(
        self, method: str, path: str, body: Any, headers: dict[str, str]
    ) -> tuple[int, bytes, dict[str, str]]:
        delay, answer = self._pick(path)
        if delay:
            self._stopping.wait(delay)
        with self._lock:
            self._answered += 1
            seq = self._answered
            if answer is None:
                answer = self._defaults.get(path) or self._defaults.get("*") or Answer()
        payload = answer.json
        if payload is None:
            payload = {
                "ok": 200 <= answer.status < 300,
                "method": method,
                "path": path,
                "seq": seq,
                "json": body,
                "headers": headers,
            }
        data = json.dumps(payload).encode()
        out = {"Content-Type": "application/json", **answer.headers}
        return answer.status, data, out

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        split = urlsplit(request.path)
        length = int(request.headers.get("Content-Length") or 0)
        raw = request.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        headers = {k.lower(): v for k, v in request.headers.items()}
        at = time.time()
        key = headers.get(_KEY_HEADER) if self.dedupe else None
        replay = False
        answer: tuple[int, bytes, dict[str, str]] | None = None
        owner = False
        while key is not None:
            with self._lock:
                if key in self._stored:
                    answer, replay = self._stored[key], True
                    break
                waiting = self._inflight.get(key)
                if waiting is None:
                    self._inflight[key] = threading.Event()
                    owner = True
                    break
            waiting.wait(timeout=60)
        try:
            if answer is None:
                answer = self._answer(request.command, split.path, body, headers)
                status = answer[0]
                if key is not None and status != 429 and status < 500:
                    with self._lock:
                        self._stored[key] = answer
        finally:
            if owner and key is not None:
                with self._lock:
                    self._inflight.pop(key).set()
        status, data, out = answer
        with self._lock:
            self._records.append(
                Recorded(
                    seq=len(self._records) + 1,
                    method=request.command,
                    path=split.path,
                    query=parse_qs(split.query),
                    headers=headers,
                    body=body,
                    raw=raw,
                    at=at,
                    status=status,
                    replay=replay,
                )
            )
        try:
            request.send_response(status)
            for name, value in out.items():
                request.send_header(name, value)
            request.send_header("Content-Length", str(len(data)))
            request.end_headers()
            if request.command != "HEAD":
                request.wfile.write(data)
        except OSError:
            pass  # the client gave up (timeout): the request is recorded all the same

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _any(self) -> None:
                recorder._handle(self)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _any

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler
