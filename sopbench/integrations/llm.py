"""An OpenAI-compatible chat client (llama.cpp server, Ollama, vLLM, llamafile, OpenAI).

``GET /v1/models`` and ``POST /v1/chat/completions``, with and without
streaming (``INTEGRATIONS.md`` section f):

* a streamed answer is Server-Sent Events, ``data: {chunk}`` per event with
  ``choices[0].delta.content`` (and ``delta.reasoning_content`` on servers
  that stream their thinking). The stream ends with ``data: [DONE]``, or
  just ends (some llama.cpp forks never send ``[DONE]``); both are accepted;
* an error event mid-stream (``data: {"error": ...}`` or llama.cpp's
  ``error: {...}``) raises like an HTTP error would;
* error bodies of every server family become one error with the server's
  message: OpenAI / llama.cpp / Ollama ``{"error": {"message", "type", ...}}``,
  vLLM ``{"object": "error", "message", "type", "code"}``, and bare
  ``{"error": "text"}``.

Chat calls have no outside effect, so they are retried on 429/5xx and
connection failures like reads (a stream only until its first chunk).

Example::

    llm = LlmClient.from_settings(settings)        # SOPBENCH_LLM_URL / _MODEL / _KEY
    text = llm.chat([{"role": "user", "content": "Hi"}]).text
    answer = llm.chat(messages, stream=True, on_token=show)   # show(piece) as they arrive
    for piece in llm.stream_text([{"role": "user", "content": "Tell me more"}]):
        print(piece, end="")
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

from sopbench.errors import ConnectionNotConfigured, IntegrationError
from sopbench.integrations.http import (
    Auth,
    HttpService,
    MalformedResponse,
    RetryPolicy,
    ServiceTimeout,
    TransportFailed,
    bearer_auth,
    parse_retry_after,
)

if TYPE_CHECKING:
    from sopbench.config import Settings
    from sopbench.model.workspace import Connection

__all__ = ["ChatDelta", "ChatResult", "LlmClient", "Message"]

SERVICE = "llm"
Message = Mapping[str, Any]


@dataclass(frozen=True)
class ChatResult:
    """A whole answer."""

    text: str
    finish_reason: str | None = None
    model: str | None = None
    reasoning: str | None = None
    usage: dict[str, Any] | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class ChatDelta:
    """One streamed piece of an answer."""

    content: str = ""
    reasoning: str = ""
    finish_reason: str | None = None
    usage: dict[str, Any] | None = None


def _as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _llm_error(response: httpx.Response, http: HttpService) -> IntegrationError | None:
    """Name the server's error ``type`` with its message, and say what to check."""
    try:
        body = response.json()
    except ValueError:
        return None
    inner = body.get("error") if isinstance(body, dict) else None
    source = inner if isinstance(inner, dict) else body if isinstance(body, dict) else {}
    message = source.get("message") if isinstance(source, dict) else None
    if not isinstance(message, str):
        message = inner if isinstance(inner, str) else None
    if not message:
        return None
    kind = source.get("type") if isinstance(source, dict) else None
    text = f"{kind}: {message}" if isinstance(kind, str) and kind else message
    error = http.default_error(response, message=text)
    lowered = message.lower()
    if (
        response.status_code in (400, 404)
        and "model" in lowered
        and ("not found" in lowered or "does not exist" in lowered)
    ):
        error.hint = (
            "the server does not serve that model; set SOPBENCH_LLM_MODEL (or the "
            "connection's options.model) to one that `GET /v1/models` lists"
        )
    return error


class LlmClient:
    """Chat completions against one OpenAI-compatible server."""

    service = SERVICE

    def __init__(
        self,
        base_url: str,
        *,
        model: str | None = None,
        auth: Auth | None = None,
        settings: Settings | None = None,
        timeout: float = 120.0,
        retry: RetryPolicy | None = None,
        headers: Mapping[str, str] | None = None,
        auth_hint: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        url = base_url.rstrip("/")
        if not url.endswith("/v1"):
            url = f"{url}/v1"
        self.base_url = url
        self.model = model
        self._auth = auth
        self._sleep = sleep
        self.http = HttpService(
            SERVICE,
            url,
            auth=auth,
            secrets=settings.secrets if settings is not None else None,
            timeout=timeout,
            headers=headers,
            retry=retry,
            error_parser=_llm_error,
            auth_hint=auth_hint,
            sleep=sleep,
        )
        self._stream_client = httpx.Client(
            base_url=url, headers=dict(headers or {}), timeout=timeout, follow_redirects=False
        )
        self._models: list[str] | None = None

    # -- construction
    @classmethod
    def from_connection(cls, connection: Connection, settings: Settings) -> LlmClient:
        """From a ``type: llm`` connection (``options.model``; ``secret`` for the API key)."""
        if not connection.base_url:
            raise ConnectionNotConfigured(
                "the llm connection has no base_url",
                hint="set base_url to the server's OpenAI-compatible URL, e.g. "
                "http://127.0.0.1:11434/v1",
            )
        auth = bearer_auth(settings.secrets, connection.secret) if connection.secret else None
        return cls(
            connection.base_url,
            model=connection.options.get("model") or settings.llm_model,
            auth=auth,
            settings=settings,
            timeout=connection.timeout,
            retry=RetryPolicy.from_options(connection.options),
            headers=connection.headers,
            auth_hint=f"check the secret {connection.secret}" if connection.secret else None,
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> LlmClient:
        """From ``SOPBENCH_LLM_URL``/``SOPBENCH_LLM_MODEL`` (key: secret ``SOPBENCH_LLM_KEY``)."""
        if not settings.llm_url:
            raise ConnectionNotConfigured(
                "no LLM server is configured",
                hint="set SOPBENCH_LLM_URL to an OpenAI-compatible server (llama.cpp, Ollama, "
                "vLLM, llamafile), or use content templates, which need no LLM",
            )
        has_key = settings.secrets.has("SOPBENCH_LLM_KEY")
        return cls(
            settings.llm_url,
            model=settings.llm_model,
            auth=bearer_auth(settings.secrets, "SOPBENCH_LLM_KEY") if has_key else None,
            settings=settings,
            auth_hint="check SOPBENCH_LLM_KEY"
            if has_key
            else "the server wants an API key: set SOPBENCH_LLM_KEY",
        )

    def close(self) -> None:
        self.http.close()
        self._stream_client.close()

    def __enter__(self) -> LlmClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- models
    def models(self) -> list[str]:
        """Model ids the server lists (``GET /v1/models``)."""
        data = self.http.json(self.http.request("GET", "/models"), dict)
        items = data.get("data")
        if not isinstance(items, list):
            raise MalformedResponse("llm: GET /models answered no `data` list", service=SERVICE)
        self._models = [str(m["id"]) for m in items if isinstance(m, dict) and m.get("id")]
        return list(self._models)

    def resolve_model(self) -> str:
        """The configured model, else the first the server lists."""
        if self.model:
            return self.model
        listed = self._models if self._models is not None else self.models()
        if not listed:
            raise IntegrationError(
                "llm: the server lists no models",
                service=SERVICE,
                hint="load a model into the server, or set SOPBENCH_LLM_MODEL",
            )
        return listed[0]

    def _body(
        self, messages: Sequence[Message], model: str | None, params: Mapping[str, Any]
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": model or self.resolve_model(),
            "messages": [dict(m) for m in messages],
        }
        body.update({k: v for k, v in params.items() if v is not None})
        return body

    # -- chat
    def chat(
        self,
        messages: Sequence[Message],
        *,
        model: str | None = None,
        timeout: float | None = None,
        stream: bool = False,
        on_token: Callable[[str], object] | None = None,
        **params: Any,
    ) -> ChatResult:
        """One answer (``temperature=``, ``max_tokens=`` ... are passed through).

        ``stream=True`` asks for server-sent events and calls ``on_token`` with
        each content piece as it arrives; the result's text is their join.
        """
        if stream:
            return self._collect(self.stream(messages, model=model, **params), on_token)
        body = self._body(messages, model, params)
        body["stream"] = False
        response = self.http.request(
            "POST", "/chat/completions", json=body, idempotent=True, timeout=timeout
        )
        data = self.http.json(response, dict)
        try:
            choice = data["choices"][0]
            message = choice["message"]
            content = message.get("content") or ""
            if not isinstance(content, str):
                raise TypeError("content is not text")
        except (KeyError, IndexError, TypeError, AttributeError):
            raise self.http.malformed(response, "no choices[0].message.content") from None
        return ChatResult(
            text=content,
            finish_reason=choice.get("finish_reason"),
            model=data.get("model"),
            reasoning=message.get("reasoning_content") or None,
            usage=data.get("usage") if isinstance(data.get("usage"), dict) else None,
            raw=data,
        )

    def _collect(
        self, deltas: Iterator[ChatDelta], on_token: Callable[[str], object] | None
    ) -> ChatResult:
        pieces: list[str] = []
        reasoning: list[str] = []
        finish: str | None = None
        usage: dict[str, Any] | None = None
        for delta in deltas:
            if delta.content:
                pieces.append(delta.content)
                if on_token is not None:
                    on_token(delta.content)
            reasoning.append(delta.reasoning)
            finish = delta.finish_reason or finish
            usage = delta.usage or usage
        return ChatResult(
            text="".join(pieces),
            finish_reason=finish,
            model=self.model or (self._models[0] if self._models else None),
            reasoning="".join(reasoning) or None,
            usage=usage,
        )

    def stream(
        self,
        messages: Sequence[Message],
        *,
        model: str | None = None,
        **params: Any,
    ) -> Iterator[ChatDelta]:
        """The answer as it is generated (SSE); ends on ``[DONE]`` or end of stream."""
        body = self._body(messages, model, params)
        body["stream"] = True
        policy = self.http.retry
        attempt = 0
        while True:
            attempt += 1
            headers = {"Accept": "text/event-stream"}
            if self._auth is not None:
                headers.update(self._auth())
            yielded = False
            try:
                with self._stream_client.stream(
                    "POST", "/chat/completions", json=body, headers=headers
                ) as response:
                    if response.status_code != 200:
                        response.read()
                        status = response.status_code
                        if status in policy.statuses and attempt < policy.attempts:
                            wait = parse_retry_after(response.headers.get("retry-after"))
                            wait = policy.delay(attempt) if wait is None else wait
                            if wait <= policy.max_wait:
                                self._sleep(wait)
                                continue
                        raise self.http.error_for(response, method="POST", path="/chat/completions")
                    ctype = response.headers.get("content-type", "")
                    if "text/event-stream" not in ctype:
                        yield from self._not_streamed(response)
                        return
                    for delta in self._events(response):
                        yielded = True
                        yield delta
                    return
            except httpx.TimeoutException:
                if not yielded and attempt < policy.attempts:
                    self._sleep(policy.delay(attempt))
                    continue
                where = "mid-stream" if yielded else "before the first chunk"
                raise ServiceTimeout(
                    f"llm: the stream stalled {where} (no data within {self.http.timeout:g}s)",
                    service=SERVICE,
                ) from None
            except httpx.TransportError as exc:
                if not yielded and attempt < policy.attempts:
                    self._sleep(policy.delay(attempt))
                    continue
                raise TransportFailed(
                    self.http.redact(
                        f"llm: the stream broke {'mid-answer' if yielded else 'at once'}: "
                        f"{type(exc).__name__}: {exc}"
                    ),
                    service=SERVICE,
                ) from None

    def stream_text(
        self, messages: Sequence[Message], *, model: str | None = None, **params: Any
    ) -> Iterator[str]:
        """Only the content pieces of :meth:`stream`."""
        for delta in self.stream(messages, model=model, **params):
            if delta.content:
                yield delta.content

    # -- SSE
    def _not_streamed(self, response: httpx.Response) -> Iterator[ChatDelta]:
        """A server that ignored ``stream: true`` and answered one JSON body."""
        response.read()
        data = self.http.json(response, dict)
        try:
            choice = data["choices"][0]
            content = choice["message"].get("content") or ""
        except (KeyError, IndexError, TypeError, AttributeError):
            raise self.http.malformed(response, "neither SSE nor a chat completion") from None
        yield ChatDelta(content=str(content), finish_reason=choice.get("finish_reason"))

    def _events(self, response: httpx.Response) -> Iterator[ChatDelta]:
        data_lines: list[str] = []
        error_line: str | None = None
        for line in response.iter_lines():
            if line.startswith("data:"):
                data_lines.append(line[5:].lstrip(" "))
                continue
            if line.startswith("error:"):
                error_line = line[6:].strip()
                continue
            if line and not line.startswith(":"):
                continue  # event:, id:, retry: fields carry nothing we use
            if line.startswith(":"):
                continue
            # a blank line ends one event
            if error_line is not None:
                self._raise_stream_error(response, error_line)
            if not data_lines:
                continue
            payload = "\n".join(data_lines)
            data_lines = []
            if payload.strip() == "[DONE]":
                return
            delta = self._delta(response, payload)
            if delta is not None:
                yield delta
        # plain end of stream: flush a last event that had no blank line after it
        if error_line is not None:
            self._raise_stream_error(response, error_line)
        if data_lines:
            payload = "\n".join(data_lines)
            if payload.strip() != "[DONE]":
                delta = self._delta(response, payload)
                if delta is not None:
                    yield delta

    def _delta(self, response: httpx.Response, payload: str) -> ChatDelta | None:
        try:
            chunk = json.loads(payload)
        except ValueError:
            raise MalformedResponse(
                self.http.redact(f"llm: a stream event is not JSON: {payload[:200]!r}"),
                service=SERVICE,
            ) from None
        if not isinstance(chunk, dict):
            raise MalformedResponse("llm: a stream event is not a JSON object", service=SERVICE)
        if "error" in chunk:
            self._raise_stream_error(response, payload)
        usage = _as_dict(chunk.get("usage")) or None
        choices = chunk.get("choices")
        if not isinstance(choices, list) or not choices:
            return ChatDelta(usage=usage) if usage else None
        choice = _as_dict(choices[0])
        delta = _as_dict(choice.get("delta"))
        return ChatDelta(
            content=str(delta.get("content") or ""),
            reasoning=str(delta.get("reasoning_content") or delta.get("reasoning") or ""),
            finish_reason=choice.get("finish_reason"),
            usage=usage,
        )

    def _raise_stream_error(self, response: httpx.Response, payload: str) -> None:
        try:
            body = json.loads(payload)
        except ValueError:
            body = payload
        error = body.get("error", body) if isinstance(body, dict) else body
        if isinstance(error, dict):
            kind = error.get("type")
            message = str(error.get("message") or error)
            text = f"{kind}: {message}" if kind else message
        else:
            text = str(error)
        raise IntegrationError(
            self.http.redact(f"llm: the server reported an error mid-stream: {text}"),
            service=SERVICE,
            status=response.status_code,
            request_id=self.http.request_id(response),
        )
