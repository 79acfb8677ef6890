"""The OpenAI-compatible LLM client against local llama.cpp / Ollama / vLLM style servers."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sopbench.config import Secrets, Settings
from sopbench.errors import ConnectionNotConfigured, IntegrationError
from sopbench.integrations.embedded_llm import llm_factory
from sopbench.integrations.http import (
    AuthFailed,
    MalformedResponse,
    RateLimited,
    ResourceGone,
    ServerError,
    ServiceTimeout,
    TransportFailed,
)
from sopbench.integrations.llm import LlmClient
from sopbench.model.workspace import Connection
from sopbench.testing.servers.llm import Flavour, LlmServer, default_reply

KEY = "llm-api-key-never-shown-42"
ASK = [{"role": "user", "content": "Write about the spring LAN party"}]
ANSWER = default_reply(ASK)
FLAVOURS: list[Flavour] = ["llama.cpp", "ollama", "vllm"]

_open: list[LlmClient] = []


@pytest.fixture(autouse=True)
def _close() -> Iterator[None]:
    yield
    while _open:
        _open.pop().close()


@pytest.fixture
def server() -> Iterator[LlmServer]:
    with LlmServer(models=["qwen2.5-0.5b"]) as srv:
        yield srv


def client(server: LlmServer, tmp_path: Path, key: str | None = None, **options: Any) -> LlmClient:
    opts: dict[str, Any] = {"backoff": 0.01, **options}
    timeout = float(opts.pop("timeout", 5.0))
    conn = Connection(
        type="llm",
        base_url=server.url,  # the client adds /v1
        secret="LLM_KEY" if key else None,
        options=opts,
        timeout=timeout,
    )
    settings = Settings(
        home=tmp_path, db_url="sqlite://", secrets=Secrets([{"LLM_KEY": key or ""}])
    )
    made = LlmClient.from_connection(conn, settings)
    _open.append(made)
    return made


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_models_chat_and_stream_per_flavour(flavour: Flavour, tmp_path: Path) -> None:
    with LlmServer(flavour=flavour, models=["m1", "m2"], api_key=KEY) as srv:
        llm = client(srv, tmp_path, key=KEY)
        assert llm.models() == ["m1", "m2"]
        result = llm.chat(ASK, temperature=0.2)
        assert result.text == ANSWER and result.finish_reason == "stop" and result.model == "m1"
        assert result.usage and result.usage["total_tokens"] > 0
        assert "".join(llm.stream_text(ASK)) == ANSWER
        chat = srv.matching("POST", "/v1/chat/completions")[0].json
        assert chat["model"] == "m1" and chat["temperature"] == 0.2 and chat["stream"] is False


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_auth_failure_shapes(flavour: Flavour, tmp_path: Path) -> None:
    with LlmServer(flavour=flavour, api_key=KEY) as srv:
        wrong = "wrong-llm-key-1234567"
        llm = client(srv, tmp_path, key=wrong)
        with pytest.raises(AuthFailed) as info:
            llm.chat(ASK, model="sandbox-model")
        text = str(info.value)
        assert ("Invalid API Key" in text) or ("Unauthorized" in text)
        assert wrong not in text and wrong not in repr(info.value.body)
        with pytest.raises(AuthFailed):
            list(llm.stream(ASK, model="sandbox-model"))


@pytest.mark.parametrize("flavour", ["ollama", "vllm"])
def test_unknown_model_is_explained(flavour: Flavour, tmp_path: Path) -> None:
    with LlmServer(flavour=flavour, models=["llama3.2"]) as srv:
        llm = client(srv, tmp_path, model="nope")
        with pytest.raises(ResourceGone) as info:
            llm.chat(ASK)
        assert info.value.status == 404 and "nope" in str(info.value)
        assert "GET /v1/models" in str(info.value)


def test_stream_without_done_and_with_reasoning(tmp_path: Path) -> None:
    with LlmServer(send_done=False, reasoning=True) as srv:
        llm = client(srv, tmp_path)
        deltas = list(llm.stream(ASK))
        assert "".join(d.content for d in deltas) == ANSWER
        assert "".join(d.reasoning for d in deltas) == "Thinking it over."
        assert deltas[-1].finish_reason == "stop" and deltas[-1].usage
        assert llm.chat(ASK).reasoning == "Thinking about the request."


def test_stream_arrives_piece_by_piece(tmp_path: Path) -> None:
    with LlmServer(chunk_delay=0.05) as srv:
        llm = client(srv, tmp_path)
        started = time.monotonic()
        stamps = [time.monotonic() - started for _ in llm.stream_text(ASK)]
        assert len(stamps) == len(ANSWER.split())
        assert stamps[0] < stamps[-1] - 0.3  # the first word came well before the last


def test_error_mid_stream(tmp_path: Path) -> None:
    with LlmServer(stream_error_after=2) as srv:
        llm = client(srv, tmp_path)
        got: list[str] = []
        with pytest.raises(IntegrationError, match="mid-stream: server_error: context shift"):
            for piece in llm.stream_text(ASK):
                got.append(piece)
        assert len(got) == 2


def test_connection_cut_mid_stream_is_not_retried(tmp_path: Path) -> None:
    with LlmServer(cut_after=3) as srv:
        llm = client(srv, tmp_path)
        with pytest.raises(TransportFailed, match="mid-answer"):
            list(llm.stream_text(ASK))
        assert srv.count("POST", "/v1/chat/completions") == 1


def test_429_retry_after_chat_and_stream(server: LlmServer, tmp_path: Path) -> None:
    llm = client(server, tmp_path)
    server.rate_limit(1, retry_after=1, path="/v1/chat/completions")
    assert llm.chat(ASK).text == ANSWER
    server.rate_limit(1, retry_after=1, path="/v1/chat/completions")
    assert "".join(llm.stream_text(ASK)) == ANSWER
    calls = server.matching("POST", "/v1/chat/completions")
    assert [r.status for r in calls] == [429, 200, 429, 200]
    assert calls[1].at - calls[0].at >= 1.0 and calls[3].at - calls[2].at >= 1.0


def test_429_beyond_retries(server: LlmServer, tmp_path: Path) -> None:
    llm = client(server, tmp_path, retries=1)
    server.rate_limit(5, retry_after=0, path="/v1/chat/completions")
    with pytest.raises(RateLimited, match="rate_limit_error"):
        llm.chat(ASK)


def test_5xx_loading_then_success(server: LlmServer, tmp_path: Path) -> None:
    llm = client(server, tmp_path)
    server.fail(2, 503, path="/v1/chat/completions")
    assert llm.chat(ASK).text == ANSWER
    server.fail(2, 503, path="/v1/chat/completions")
    assert "".join(llm.stream_text(ASK)) == ANSWER
    server.fail(9, 500, path="/v1/chat/completions")
    with pytest.raises(ServerError, match="server_error: Internal server error"):
        llm.chat(ASK)


def test_timeout(server: LlmServer, tmp_path: Path) -> None:
    llm = client(server, tmp_path, retries=0, timeout=0.3)
    server.slow(1.0, path="/v1/chat/completions")
    with pytest.raises(ServiceTimeout):
        llm.chat(ASK)
    server.slow(1.0, path="/v1/chat/completions")
    with pytest.raises(ServiceTimeout, match="before the first chunk"):
        list(llm.stream(ASK))


def test_malformed(server: LlmServer, tmp_path: Path) -> None:
    llm = client(server, tmp_path)
    server.malformed(1, path="/v1/chat/completions")
    with pytest.raises(MalformedResponse):
        llm.chat(ASK)
    server.malformed(
        1, path="/v1/chat/completions", body=b'{"choices": []}', content_type="application/json"
    )
    with pytest.raises(MalformedResponse, match="choices"):
        llm.chat(ASK)
    server.malformed(
        1, path="/v1/chat/completions", body=b"data: not json\n\n", content_type="text/event-stream"
    )
    with pytest.raises(MalformedResponse, match="not JSON"):
        list(llm.stream(ASK))
    server.malformed(
        1, path="/v1/models", body=b'{"object": "list"}', content_type="application/json"
    )
    with pytest.raises(MalformedResponse, match="data"):
        llm.models()


def test_server_that_ignores_stream_flag(server: LlmServer, tmp_path: Path) -> None:
    llm = client(server, tmp_path)
    body = (
        b'{"choices": [{"index": 0, "message": {"role": "assistant", "content": "whole"},'
        b' "finish_reason": "stop"}]}'
    )
    server.malformed(1, path="/v1/chat/completions", body=body, content_type="application/json")
    assert list(llm.stream_text(ASK)) == ["whole"]


def test_factory_and_settings(server: LlmServer, tmp_path: Path) -> None:
    # no URL and no embedded model file (test_embedded_llm.py: the embedded default)
    no_llm = Settings(home=tmp_path, db_url="sqlite://", llm_model_file=str(tmp_path / "no.gguf"))
    with pytest.raises(ConnectionNotConfigured, match="SOPBENCH_LLM_URL"):
        llm_factory(None, no_llm)
    settings = Settings(
        home=tmp_path,
        db_url="sqlite://",
        llm_url=server.api_url,
        llm_model="qwen2.5-0.5b",
        secrets=Secrets([{"SOPBENCH_LLM_KEY": KEY}]),
    )
    llm = llm_factory(None, settings)
    _open.append(llm)
    assert llm.model == "qwen2.5-0.5b" and llm.chat(ASK).text == ANSWER
    assert server.requests[-1].headers["authorization"] == f"Bearer {KEY}"
