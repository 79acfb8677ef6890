"""A local OpenAI-compatible LLM server in the flavour of llama.cpp, Ollama or vLLM.

Reproduced (``INTEGRATIONS.md`` section f):

* ``GET /v1/models`` (``{"object": "list", "data": [{"id", "object": "model", ...}]}``)
  and, like Ollama, ``GET /v1/models/{model}``; llama.cpp's ``GET /health``;
* ``POST /v1/chat/completions`` answering a ``chat.completion``, or with
  ``stream: true`` Server-Sent Events: a first chunk with
  ``delta.role``, content chunks, a last chunk with ``finish_reason: "stop"``
  and ``usage``, then ``data: [DONE]`` — or no ``[DONE]`` at all
  (``send_done=False``, like the ik_llama.cpp fork), optionally
  ``delta.reasoning_content`` chunks first (``reasoning=True``);
* the error shapes of each flavour: llama.cpp ``{"error": {"code", "message",
  "type"}}``, Ollama ``{"error": {"message", "type": "api_error", ...}}``
  (unknown model: 404), vLLM ``{"object": "error", "message", "type",
  "param", "code"}`` (unknown model: 404) and ``{"error": "Unauthorized"}``
  for a wrong ``--api-key``;
* stream faults: ``chunk_delay`` between events, ``stream_error_after`` (an
  error event after N chunks), ``cut_after`` (the connection dropped after
  N chunks without ending the body).

Answers are deterministic: :attr:`LlmServer.reply` maps the messages to
the text (default: a short draft built from the last user message).
"""

from __future__ import annotations

import itertools
import json
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from sopbench.testing.servers._base import LocalServer, Recorded, Reply

__all__ = ["Flavour", "LlmServer", "StreamReply", "default_reply"]

Flavour = Literal["llama.cpp", "ollama", "vllm"]


@dataclass
class StreamReply(Reply):
    """A reply written piece by piece (chunked transfer encoding)."""

    events: list[bytes] = field(default_factory=list)
    delay: float = 0.0
    cut_after: int | None = None
    """Drop the connection after this many events (no end of body)."""


def default_reply(messages: Sequence[dict[str, Any]]) -> str:
    """A deterministic answer built from the last user message."""
    last = next((m.get("content") for m in reversed(messages) if m.get("role") == "user"), "")
    if isinstance(last, list):  # content parts
        last = " ".join(str(p.get("text", "")) for p in last if isinstance(p, dict))
    words = re.findall(r"[\w#@'-]+", str(last))[:24]
    topic = " ".join(words) or "your request"
    return f"Sandbox draft: {topic}. Reply with changes and I will revise it."


class LlmServer(LocalServer):
    """One OpenAI-compatible server; ``flavour`` picks whose quirks it has."""

    name: ClassVar[str] = "llm"

    def __init__(
        self,
        *,
        flavour: Flavour = "llama.cpp",
        models: list[str] | None = None,
        api_key: str | None = None,
        reply: Callable[[Sequence[dict[str, Any]]], str] = default_reply,
        send_done: bool = True,
        reasoning: bool = False,
        chunk_delay: float = 0.0,
        stream_error_after: int | None = None,
        cut_after: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.flavour = flavour
        self.models = list(models or ["sandbox-model"])
        self.api_key = api_key
        self.reply = reply
        self.send_done = send_done
        self.reasoning = reasoning
        self.chunk_delay = chunk_delay
        self.stream_error_after = stream_error_after
        self.cut_after = cut_after
        self._ids = itertools.count(1)

    def __enter__(self) -> LlmServer:
        self.start()
        return self

    @property
    def api_url(self) -> str:
        return f"{self.url}/v1"

    # -- flavour-specific errors ---------------------------------------------------------
    def _llm_error(self, status: int, message: str, kind: str) -> Reply:
        if self.flavour == "vllm":
            body: dict[str, Any] = {
                "object": "error",
                "message": message,
                "type": kind,
                "param": None,
                "code": status,
            }
        elif self.flavour == "ollama":
            body = {"error": {"message": message, "type": "api_error", "param": None, "code": None}}
        else:
            body = {"error": {"code": status, "message": message, "type": kind}}
        return Reply(status, body)

    def auth_reply(self, request: Recorded) -> Reply:
        if self.flavour == "vllm":
            return Reply(401, {"error": "Unauthorized"})
        return self._llm_error(401, "Invalid API Key", "authentication_error")

    def rate_limit_reply(self, request: Recorded, retry_after: float | str | None) -> Reply:
        return self._llm_error(429, "Too many requests, please retry later", "rate_limit_error")

    def error_reply(self, request: Recorded, status: int) -> Reply:
        if status == 503:
            return self._llm_error(503, "Loading model", "unavailable_error")
        if status >= 500:
            return self._llm_error(status, "Internal server error", "server_error")
        return self._llm_error(status, "Bad request", "invalid_request_error")

    # -- routes ----------------------------------------------------------------------------
    def handle(self, request: Recorded) -> Reply:
        path = request.path.rstrip("/")
        if path == "/health" and self.flavour == "llama.cpp":
            return Reply(200, {"status": "ok"})
        if self.api_key is not None and request.headers.get("authorization") != (
            f"Bearer {self.api_key}"
        ):
            return self.auth_reply(request)
        if path == "/v1/models" and request.method == "GET":
            return Reply(200, {"object": "list", "data": [self._model(m) for m in self.models]})
        if path.startswith("/v1/models/") and request.method == "GET":
            model = path[len("/v1/models/") :]
            if model in self.models:
                return Reply(200, self._model(model))
            return self._llm_error(404, f"model '{model}' not found", "not_found_error")
        if path == "/v1/chat/completions" and request.method == "POST":
            return self._chat(request)
        return self._llm_error(404, "File Not Found", "not_found_error")

    def _model(self, model: str) -> dict[str, Any]:
        owner = {"llama.cpp": "llamacpp", "ollama": "library", "vllm": "vllm"}[self.flavour]
        return {"id": model, "object": "model", "created": 1_700_000_000, "owned_by": owner}

    def _chat(self, request: Recorded) -> Reply:
        try:
            body = request.json
        except ValueError:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            return self._llm_error(400, "'messages' is required", "invalid_request_error")
        model = body.get("model")
        if self.flavour != "llama.cpp" and model not in self.models:
            if self.flavour == "ollama":
                text = f'model "{model}" not found, try pulling it first'
            else:
                text = f"The model `{model}` does not exist."
            kind = "NotFoundError" if self.flavour == "vllm" else "not_found_error"
            return self._llm_error(404, text, kind)
        model_name = str(model or self.models[0])
        text = self.reply(body["messages"])
        completion_id = f"chatcmpl-{next(self._ids):010d}"
        created = int(time.time())
        usage = {
            "prompt_tokens": sum(len(str(m.get("content", "")).split()) for m in body["messages"]),
            "completion_tokens": len(text.split()),
        }
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        if not body.get("stream"):
            message: dict[str, Any] = {"role": "assistant", "content": text}
            if self.reasoning:
                message["reasoning_content"] = "Thinking about the request."
            answer: dict[str, Any] = {
                "id": completion_id,
                "object": "chat.completion",
                "created": created,
                "model": model_name,
                "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                "usage": usage,
            }
            if self.flavour == "llama.cpp":
                answer["timings"] = {"predicted_n": usage["completion_tokens"]}
            return Reply(200, answer)
        return self._stream(completion_id, created, model_name, text, usage)

    def _stream(
        self, completion_id: str, created: int, model: str, text: str, usage: dict[str, int]
    ) -> StreamReply:
        def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
            data = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                **extra,
            }
            return f"data: {json.dumps(data)}\n\n".encode()

        events = [chunk({"role": "assistant", "content": None})]
        if self.reasoning:
            events += [chunk({"reasoning_content": p}) for p in ("Thinking ", "it over.")]
        pieces = re.findall(r"\S+\s*", text) or [text]
        for n, piece in enumerate(pieces):
            if self.stream_error_after is not None and n == self.stream_error_after:
                error = {
                    "error": {
                        "code": 500,
                        "message": "context shift failed",
                        "type": "server_error",
                    }
                }
                events.append(f"data: {json.dumps(error)}\n\n".encode())
                break
            events.append(chunk({"content": piece}))
        else:
            events.append(chunk({}, "stop", usage=usage))
            if self.send_done:
                events.append(b"data: [DONE]\n\n")
        return StreamReply(
            200,
            content_type="text/event-stream",
            headers={"Cache-Control": "no-cache"},
            events=events,
            delay=self.chunk_delay,
            cut_after=self.cut_after,
        )

    # -- streaming writes -------------------------------------------------------------------
    def _send_reply(self, handler: Any, reply: Reply) -> None:
        if not isinstance(reply, StreamReply):
            super()._send_reply(handler, reply)
            return
        try:
            handler.send_response(reply.status)
            handler.send_header("Content-Type", reply.content_type)
            handler.send_header("Transfer-Encoding", "chunked")
            for name, value in reply.headers.items():
                handler.send_header(name, value)
            handler.end_headers()
            for n, event in enumerate(reply.events):
                if reply.cut_after is not None and n >= reply.cut_after:
                    handler.close_connection = True
                    handler.wfile.flush()
                    handler.connection.shutdown(2)  # SHUT_RDWR: drop mid-body
                    return
                if n and reply.delay:
                    time.sleep(reply.delay)
                handler.wfile.write(f"{len(event):x}\r\n".encode() + event + b"\r\n")
                handler.wfile.flush()
            handler.wfile.write(b"0\r\n\r\n")
            handler.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, OSError):
            handler.close_connection = True


assert hasattr(LocalServer, "_send_reply"), "LlmServer streams by overriding _send_reply"
