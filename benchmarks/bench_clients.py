"""Integration clients against their local doubles; cost of the shared retry layer.

* ``clients``: requests/s of each client call, sequential, one keep-alive
  client, against its double on 127.0.0.1 (best of ``--rounds`` rounds of
  ``--calls`` calls; the double runs in this process, in a thread, so
  client and server share the CPU);
* ``layer``: the added latency of :class:`~sopbench.integrations.http.HttpService`
  (auth resolved per call, retry loop, status checks, logging guard) over a
  bare ``httpx.Client.request`` on a clean path:
  - ``mock_us``: with ``httpx.MockTransport`` (no network), so the
    difference is the layer's own CPU cost, per call, in microseconds
    (best of interleaved rounds; a few µs either way is noise);
  - ``server_us``: against a real local server, interleaved A/B rounds
    (noisier: the network path is ~100x the layer's cost).

    python benchmarks/bench_clients.py [--calls 300] [--rounds 3]

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from sopbench.config import Secrets  # noqa: E402
from sopbench.integrations.canva import CanvaClient, OperationLimiter, text_field  # noqa: E402
from sopbench.integrations.discord import DiscordWebhook  # noqa: E402
from sopbench.integrations.email import SmtpClient, SmtpConfig  # noqa: E402
from sopbench.integrations.http import HttpService, RetryPolicy, bearer_auth  # noqa: E402
from sopbench.integrations.llm import LlmClient  # noqa: E402
from sopbench.integrations.mixpost import MixpostClient  # noqa: E402
from sopbench.integrations.video import OpenAIVideos  # noqa: E402
from sopbench.integrations.zoho import ZohoCRM  # noqa: E402
from sopbench.testing.servers import (  # noqa: E402
    DiscordServer,
    LocalServer,
    MixpostServer,
    Recorded,
    Reply,
    ZohoServer,
)
from sopbench.testing.servers.canva import CanvaServer  # noqa: E402
from sopbench.testing.servers.llm import LlmServer  # noqa: E402
from sopbench.testing.servers.smtp import SmtpDouble  # noqa: E402
from sopbench.testing.servers.video import VideoServer  # noqa: E402


def rate(call: Callable[[int], Any], calls: int, rounds: int) -> dict[str, float]:
    """Best and median requests/s over ``rounds`` rounds of ``calls`` calls."""
    call(-1)  # warm up: connection, token, imports
    results = []
    for r in range(rounds):
        started = time.perf_counter()
        for i in range(calls):
            call(r * calls + i)
        results.append(calls / (time.perf_counter() - started))
    return {"best_rps": round(max(results), 1), "median_rps": round(statistics.median(results), 1)}


def bench_clients(calls: int, rounds: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with MixpostServer() as mixpost, ZohoServer() as zoho, DiscordServer() as discord:
        assert isinstance(mixpost, MixpostServer)
        assert isinstance(zoho, ZohoServer) and isinstance(discord, DiscordServer)
        secrets = Secrets(
            [
                {
                    "MIXPOST_TOKEN": mixpost.token,
                    "ZOHO_CLIENT_ID": zoho.client_id,
                    "ZOHO_CLIENT_SECRET": zoho.client_secret,
                    "ZOHO_REFRESH_TOKEN": zoho.refresh_token,
                    "DISCORD_WEBHOOK": discord.webhook_url(),
                }
            ]
        )
        with MixpostClient.create(mixpost.api_url, secrets=secrets) as mp:
            out["mixpost.accounts"] = rate(lambda i: mp.accounts(), calls, rounds)
            out["mixpost.create_post"] = rate(
                lambda i: mp.create_post(
                    accounts=[1, 9], body=f"post {i}", publish_now=True, idempotency_key=f"k{i}"
                ),
                calls,
                rounds,
            )
            first = mp.posts()[0].uuid
            out["mixpost.post_status"] = rate(lambda i: mp.post(first), calls, rounds)
        with ZohoCRM(secrets=secrets, accounts_url=zoho.accounts_url) as crm:
            out["zoho.upsert"] = rate(
                lambda i: crm.upsert_one(
                    "Leads",
                    {"Last_Name": f"L{i % 50}", "Email": f"l{i % 50}@example.com"},
                    duplicate_check_fields=["Email"],
                ),
                calls,
                rounds,
            )
            out["zoho.search"] = rate(
                lambda i: crm.search("Leads", email=f"l{i % 50}@example.com"), calls, rounds
            )
            out["zoho.create_task"] = rate(
                lambda i: crm.create_task(f"task {i}", idempotency_key=f"t{i}"), calls, rounds
            )
            out["zoho.tokens_minted"] = zoho.tokens_minted()
        with DiscordWebhook("DISCORD_WEBHOOK", secrets=secrets) as hook:
            out["discord.execute"] = rate(
                lambda i: hook.execute(f"message {i}", idempotency_key=f"d{i}"), calls, rounds
            )
    return out


def bench_media_clients(calls: int, rounds: int) -> dict[str, Any]:
    """Canva, the Videos API, the LLM and SMTP against their doubles."""
    out: dict[str, Any] = {}
    secrets = Secrets(
        [{"CANVA": "bench-canva", "VIDEO": "bench-video", "SMTP_PASSWORD": "bench-smtp"}]
    )
    with (
        CanvaServer(tokens={"bench-canva"}, rate_limits={}, job_polls=0) as canva_srv,
        VideoServer(keys={"bench-video"}, job_polls=10**9) as video_srv,
        LlmServer() as llm_srv,
    ):
        assert isinstance(canva_srv, CanvaServer) and isinstance(video_srv, VideoServer)
        assert isinstance(llm_srv, LlmServer)
        canva = CanvaClient(
            HttpService("canva", canva_srv.api_url, auth=bearer_auth(secrets, "CANVA")),
            limiter=OperationLimiter({}),
        )
        design = canva.create_design(title="bench")["id"]
        out["canva.create_design"] = rate(
            lambda i: canva.create_design(title=f"d{i}"), calls, rounds
        )
        out["canva.autofill"] = rate(
            lambda i: canva.autofill("BT", {"t": text_field(f"x{i}")}), calls, rounds
        )
        job = canva.export(design, {"type": "png"})
        out["canva.get_export"] = rate(lambda i: canva.job("export", job.id), calls, rounds)
        canva.close()
        videos = OpenAIVideos(
            HttpService("video", video_srv.api_url, auth=bearer_auth(secrets, "VIDEO"))
        )
        out["video.create"] = rate(lambda i: videos.create(f"clip {i}"), calls, rounds)
        first = videos.create("poll me")
        out["video.retrieve"] = rate(lambda i: videos.retrieve(first.id), calls, rounds)
        videos.close()
        ask = [{"role": "user", "content": "Write one line about the LAN party"}]
        with LlmClient(llm_srv.url, model="sandbox-model") as llm:
            out["llm.models"] = rate(lambda i: llm.models(), calls, rounds)
            out["llm.chat"] = rate(lambda i: llm.chat(ask), calls, rounds)
            out["llm.stream"] = rate(lambda i: list(llm.stream_text(ask)), calls, rounds)
    with SmtpDouble(users={"bench": "bench-smtp"}) as smtp:
        config = SmtpConfig.from_url(
            f"smtp://bench@{smtp.host}:{smtp.port}",
            password_secret="SMTP_PASSWORD",
            ca_file=smtp.ca_file,
        )
        mail = SmtpClient(config, secrets)
        # one STARTTLS + AUTH session per message, as notifications are sent
        out["email.send"] = rate(
            lambda i: mail.send(to=["a@example.com"], subject=f"s{i}", body="b"),
            max(20, calls // 10),
            rounds,
        )
    return out


class _Plain(LocalServer):
    name = "plain"

    def handle(self, request: Recorded) -> Reply:
        return Reply(200, {"ok": True})


def _pair(
    transport: httpx.BaseTransport | None, base: str
) -> tuple[Callable[[], Any], Callable[[], Any], Callable[[], None]]:
    """(bare httpx call, HttpService call, close) doing the same request."""
    secrets = Secrets([{"TOKEN": "bench-token-1234"}])
    bare = httpx.Client(
        base_url=base, transport=transport, timeout=30, headers={"Accept": "application/json"}
    )
    layer = HttpService(
        "bench",
        base,
        auth=bearer_auth(secrets, "TOKEN"),
        secrets=secrets,
        retry=RetryPolicy(),
        transport=transport,
    )

    def raw() -> Any:
        headers = {"Authorization": "Bearer bench-token-1234"}
        response = bare.request("GET", "/thing", headers=headers)
        response.raise_for_status()
        return response

    def wrapped() -> Any:
        return layer.request("GET", "/thing")

    def close() -> None:
        bare.close()
        layer.close()

    return raw, wrapped, close


def _per_call(fn: Callable[[], Any], n: int) -> float:
    started = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - started) / n


def bench_layer(rounds: int) -> dict[str, Any]:
    mock = httpx.MockTransport(lambda request: httpx.Response(200, json={"ok": True}))
    raw, wrapped, close = _pair(mock, "http://bench.local")
    n = 3000
    raw_t, wrapped_t = _ab(raw, wrapped, n, max(rounds * 3, 9))
    close()
    mock_us = (min(wrapped_t) - min(raw_t)) * 1e6
    with _Plain() as server:
        raw, wrapped, close = _pair(None, server.url)
        n = 300
        raw_s, wrapped_s = _ab(raw, wrapped, n, max(rounds * 3, 9))
        close()
    return {
        "mock_bare_us": round(min(raw_t) * 1e6, 1),
        "mock_layer_us": round(min(wrapped_t) * 1e6, 1),
        "mock_us": round(mock_us, 1),
        "server_bare_us": round(statistics.median(raw_s) * 1e6, 1),
        "server_layer_us": round(statistics.median(wrapped_s) * 1e6, 1),
        "server_us": round((statistics.median(wrapped_s) - statistics.median(raw_s)) * 1e6, 1),
        "target_us": 1000,
    }


def _ab(
    a: Callable[[], Any], b: Callable[[], Any], n: int, rounds: int
) -> tuple[list[float], list[float]]:
    """Per-call times of ``a`` and ``b``, rounds interleaved, order alternating."""
    a(), b()
    times_a, times_b = [], []
    for r in range(rounds):
        if r % 2:
            times_b.append(_per_call(b, n))
            times_a.append(_per_call(a, n))
        else:
            times_a.append(_per_call(a, n))
            times_b.append(_per_call(b, n))
    return times_a, times_b


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    result = {
        "python": sys.version.split()[0],
        "httpx": httpx.__version__,
        "calls": args.calls,
        "rounds": args.rounds,
        "clients": {
            **bench_clients(args.calls, args.rounds),
            **bench_media_clients(args.calls, args.rounds),
        },
        "layer": bench_layer(args.rounds),
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
