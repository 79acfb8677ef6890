"""A reviewer's dashboard session without a browser: the page and its widget state, over the wire.

What Voilà's frontend does when a reviewer opens a page, minus drawing it:

1. ``GET`` the page. Voilà answers when the page's notebook has run in a
   kernel (a preheated one if the pool has one), with the kernel's id and
   the root widget's model id in the HTML.
2. Open the kernel's websocket (``/api/kernels/<id>/channels``), open the
   ``jupyter.widget.control`` comm and send ``request_states``: the kernel
   replies with the state of every widget model (one ``update_states``).

:class:`HeadlessSession` times both steps and checks the page it got: the
root widget is a dashboard page (``sb-page``) and names the person the
browser cookie is bound to. ``benchmarks/bench_dashboard.py`` uses it to
put 20 reviewers on the server at once without 20 browser tabs competing
for the same cores; the browser tests cover what the browser draws.
"""

from __future__ import annotations

import asyncio
import html
import json
import re
import struct
import time
import uuid
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
from websockets.asyncio.client import ClientConnection, connect

from sopbench.errors import SopbenchError

__all__ = ["HeadlessSession", "SessionFailed", "SessionResult", "decode_frame", "run_apart"]

_KERNEL_ID = re.compile(r'"kernelId":\s*"([0-9a-f-]{36})"')
_ROOT_VIEW = re.compile(r'widget-view\+json":\s*\{"model_id":\s*"([0-9a-f]{32})"')
_SIGNED_IN = re.compile(r"signed in as <b>([^<]+)</b>")
T = TypeVar("T")
_CONTROL_TARGET = "jupyter.widget.control"
_CONTROL_VERSION = "1.0.0"  # what the JupyterLab widget manager sends; ipywidgets checks the major


class SessionFailed(SopbenchError):
    """A headless session did not get a rendered dashboard page."""


@dataclass(frozen=True)
class SessionResult:
    """One session's timings (ms from the start of the ``GET``) and what it found."""

    page: str
    html_ms: float
    """The page's HTML complete: the notebook has run in a kernel."""
    states_ms: float
    """Every widget's state received: what the browser needs to draw the page."""
    models: int
    signed_in_as: str | None
    """The name in the page header, ``None`` when the page shows the sign-in panel."""


def run_apart(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` on an event loop in a thread of its own.

    For synchronous callers whose thread already runs a loop (Playwright's
    sync API, a Jupyter kernel), where ``asyncio.run`` refuses to start.
    """
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def decode_frame(frame: str | bytes) -> dict[str, Any]:
    """A kernel websocket message: JSON text, or Jupyter's binary frame (JSON + buffers)."""
    if isinstance(frame, str):
        message: dict[str, Any] = json.loads(frame)
        return message
    count = struct.unpack("!I", frame[:4])[0]
    offsets = list(struct.unpack("!" + "I" * count, frame[4 : 4 * (count + 1)]))
    ends = [*offsets[1:], len(frame)]
    parts = [frame[start:end] for start, end in zip(offsets, ends, strict=True)]
    message = json.loads(parts[0])
    message["buffers"] = parts[1:]
    return message


@dataclass
class HeadlessSession:
    """One reviewer's browser, as the server sees it: a cookie jar and the page requests."""

    base_url: str
    cookies: dict[str, str] = field(default_factory=dict)
    timeout: float = 180.0

    @classmethod
    def admitted(cls, base_url: str, token: str, *, timeout: float = 180.0) -> HeadlessSession:
        """A new browser holding Voilà's login cookie (what ``browser.admit`` gives chromium)."""
        with httpx.Client(timeout=60.0) as client:
            reply = client.get(f"{base_url}/voila/tree?token={token}")
            cookies = dict(client.cookies.items())
        if reply.status_code != 200 or not any(name.startswith("username-") for name in cookies):
            raise SessionFailed(
                f"the dashboard at {base_url} did not accept the token (HTTP {reply.status_code})"
            )
        return cls(base_url, cookies, timeout)

    @property
    def cookie_header(self) -> str:
        return "; ".join(f"{name}={value}" for name, value in self.cookies.items())

    async def open(self, url: str, page: str) -> SessionResult:
        """Open dashboard page ``url`` and fetch its widgets' state, else :class:`SessionFailed`."""
        started = time.perf_counter()
        async with httpx.AsyncClient(cookies=self.cookies, timeout=self.timeout) as client:
            reply = await client.get(url)
        if reply.status_code != 200:
            raise SessionFailed(f"GET {url} answered HTTP {reply.status_code}")
        html_ms = (time.perf_counter() - started) * 1000
        kernel_id, root = _page_ids(reply.text, url)
        states = await asyncio.wait_for(self._widget_states(kernel_id), self.timeout)
        states_ms = (time.perf_counter() - started) * 1000
        root_state = states.get(root, {}).get("state", {})
        if "sb-page" not in root_state.get("_dom_classes", ()):
            raise SessionFailed(f"{url}: the root widget {root} is not a dashboard page")
        return SessionResult(page, html_ms, states_ms, len(states), _signed_in_as(states))

    async def _widget_states(self, kernel_id: str) -> dict[str, Any]:
        ws_base = self.base_url.replace("http://", "ws://", 1).rstrip("/")
        url = f"{ws_base}/api/kernels/{kernel_id}/channels?session_id={uuid.uuid4().hex}"
        cookie = {"Cookie": self.cookie_header}
        async with connect(url, additional_headers=cookie, max_size=None) as connection:
            comm_id = uuid.uuid4().hex
            await connection.send(
                _shell(
                    "comm_open",
                    {"comm_id": comm_id, "target_name": _CONTROL_TARGET, "data": {}},
                    metadata={"version": _CONTROL_VERSION},
                )
            )
            await connection.send(
                _shell("comm_msg", {"comm_id": comm_id, "data": {"method": "request_states"}})
            )
            return await _await_states(connection, comm_id)


async def _await_states(connection: ClientConnection, comm_id: str) -> dict[str, Any]:
    async for frame in connection:
        message = decode_frame(frame)
        content = message.get("content", {})
        data = content.get("data", {})
        if content.get("comm_id") == comm_id and data.get("method") == "update_states":
            states: dict[str, Any] = data["states"]
            return states
    raise SessionFailed("the kernel websocket closed before the widget state came")


def _shell(
    msg_type: str, content: dict[str, Any], *, metadata: dict[str, Any] | None = None
) -> str:
    header = {
        "msg_id": uuid.uuid4().hex,
        "msg_type": msg_type,
        "username": "headless",
        "session": uuid.uuid4().hex,
        "version": "5.3",
        "date": "",
    }
    message = {
        "header": header,
        "parent_header": {},
        "metadata": metadata or {},
        "content": content,
        "channel": "shell",
        "buffers": [],
    }
    return json.dumps(message)


def _page_ids(page_html: str, url: str) -> tuple[str, str]:
    kernel = _KERNEL_ID.search(page_html)
    root = _ROOT_VIEW.search(page_html)
    if kernel is None or root is None:
        shown = " ".join(re.sub(r"<[^>]+>", " ", page_html.split("<body", 1)[-1]).split())
        raise SessionFailed(f"{url}: the page has no kernel id or no widget view: {shown[-400:]}")
    return kernel.group(1), root.group(1)


def _signed_in_as(states: dict[str, Any]) -> str | None:
    for model in states.values():
        value = model.get("state", {}).get("value")
        if isinstance(value, str) and (match := _SIGNED_IN.search(value)):
            return html.unescape(match.group(1))
    return None
