"""The embedded LLM (xllamacpp + SmolLM2-135M-Instruct) and the draft rules check.

* ``load``: seconds from ``start_embedded()`` to a healthy server (model load
  included), median of ``--rounds`` fresh servers;
* ``first_token_ms``: a streamed chat request until its first content piece,
  for a one-line question and for a real draft prompt (entity voice +
  platform rules, ~160 prompt tokens, no prompt cache: see
  ``embedded_llm.start_embedded``), median of ``--rounds``;
* ``tokens_per_s``: 256 tokens streamed (``ignore_eos``), first piece to last;
* ``draft``: one X draft through the content flow, ``RunService.start`` of a
  SOP with a ``content_generate`` prompt step until the run has succeeded
  and the draft is committed (SQLite), in a process without
  ``SOPBENCH_LLM_URL``: ``cold_s`` includes the lazy start of the embedded
  server, ``warm_s`` is the median of later runs; ``tokens`` is the length
  of that answer (the same messages always give the same answer);
* ``rules``: :func:`sopbench.content.platforms.violations` (the one function
  behind ``Draft.violations``, shown before approval) over 10,000 drafts
  across all platforms, with markdown, links, hashtags and overlong text.

    python benchmarks/bench_llm.py [--rounds 5] [--threads N]

Prints one JSON object. Run it on an idle machine: llama.cpp's threads wait
for each other after every layer, so a busy core slows every thread.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from sopbench.config import load_settings  # noqa: E402
from sopbench.content.llm_drafts import draft_messages, token_budget  # noqa: E402
from sopbench.content.platforms import PLATFORMS, get_platform, violations  # noqa: E402
from sopbench.integrations.embedded_llm import (  # noqa: E402
    default_threads,
    shared_embedded,
    start_embedded,
    stop_shared,
)
from sopbench.integrations.llm import LlmClient  # noqa: E402

ENTITY = {
    "id": "shop",
    "name": "Corner Shop",
    "timezone": "America/Denver",
    "voice": {
        "tone": "friendly and plain-spoken",
        "use": ["neighbours", "fixed"],
        "avoid": ["synergy"],
    },
    "hashtags": ["#CornerShop", "#Refurbished"],
}
PROMPT = "Announce {{ inputs.item }} in stock."
ITEM = "refurbished gaming laptops"
SOP = f"""\
sop_id: write
entity: shop
name: One LLM draft
steps:
  - id: draft
    type: content_generate
    with:
      prompt: "{PROMPT}"
      platforms: [x]
      variables: {{item: "{{{{ inputs.item }}}}"}}
inputs:
  item: {{type: string, required: true}}
"""
ONE_LINE = [{"role": "user", "content": "Write one line about the LAN party."}]


def _first_token_ms(llm: LlmClient, messages: list[dict[str, Any]], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        for _piece in llm.stream_text(messages, temperature=0, max_tokens=8):
            times.append((time.perf_counter() - started) * 1000)
            break
    return round(statistics.median(times), 1)


def _tokens_per_s(llm: LlmClient, tokens: int) -> float:
    stamps = [
        time.perf_counter()
        for _ in llm.stream_text(ONE_LINE, temperature=0, max_tokens=tokens, ignore_eos=True)
    ]
    return round((len(stamps) - 1) / (stamps[-1] - stamps[0]), 1)


def bench_model(rounds: int, threads: int) -> dict[str, Any]:
    loads = []
    for _ in range(rounds):
        with start_embedded(threads=threads) as server:
            loads.append(server.load_seconds)
    draft = draft_messages(ENTITY, get_platform("x"), f"Announce {ITEM} in stock.", {"item": ITEM})
    with start_embedded(threads=threads) as server, server.client() as llm:
        out = {
            "load_s": round(statistics.median(loads), 3),
            "first_token_ms": {
                "one_line": _first_token_ms(llm, ONE_LINE, rounds),
                "draft_prompt": _first_token_ms(llm, draft, rounds),
            },
            "tokens_per_s": statistics.median(_tokens_per_s(llm, 256) for _ in range(3)),
        }
        answer = llm.chat(draft, temperature=0, max_tokens=token_budget(get_platform("x")))
        out["draft_tokens"] = (answer.usage or {}).get("completion_tokens")
    return out


def _write_home(root: Path) -> Path:
    home = root / "ws"
    (home / "sops" / "shop").mkdir(parents=True)
    entity = {k: v for k, v in ENTITY.items() if k != "id"}
    (home / "sops" / "entities.yaml").write_text(json.dumps({"entities": {"shop": entity}}))
    (home / "sops" / "shop" / "write.yaml").write_text(SOP)
    return home


def bench_draft(rounds: int) -> dict[str, Any]:
    """Drafts through the content flow, the embedded server started lazily by the first."""
    from sopbench.services.content import ContentService
    from sopbench.services.runs import RunService

    stop_shared()
    with tempfile.TemporaryDirectory() as tmp:
        home = _write_home(Path(tmp))
        environ = {k: v for k, v in os.environ.items() if not k.startswith("SOPBENCH_")}
        settings = load_settings(home, environ=environ)
        assert settings.llm_url is None
        runs = RunService(settings)
        assert not runs.workspace.problems, runs.workspace.problems
        times = []
        for _ in range(rounds + 1):
            started = time.perf_counter()
            view = runs.start("write", {"item": ITEM})
            times.append(time.perf_counter() - started)
            assert view.run.status == "succeeded", view.run.error
        content = ContentService(settings, runs=runs)
        drafts = content.list_drafts()
        bodies = {d.body for d in drafts}
        assert len(drafts) == rounds + 1 and len(bodies) == 1  # deterministic
        out = {
            "cold_s": round(times[0], 3),
            "warm_s": round(statistics.median(times[1:]), 3),
            "threads": shared_embedded().threads,
            "author": drafts[0].current.author,
            "chars": len(drafts[0].body),
            "body": drafts[0].body,
        }
        content.close()
        runs.db.dispose()
    stop_shared()
    return out


def _draft_texts(count: int) -> list[tuple[str, str]]:
    rng = random.Random(42)
    words = "spring lan cup refurbished laptops fixed neighbours tournament repair deals".split()
    extras = [
        "**Big news**",
        "https://shop.example/cup",
        "#LANCup #Gaming",
        "| day | time |\n|---|---|\n| Sat | 10 |",
        "# Heading",
        "- bullet",
        "[tickets](https://shop.example/t)",
    ]
    platforms = sorted(PLATFORMS)
    texts = []
    for _ in range(count):
        parts = [rng.choice(words) for _ in range(rng.randint(5, 120))]
        for _ in range(rng.randint(0, 3)):
            parts.insert(rng.randrange(len(parts) + 1), rng.choice(extras))
        if rng.random() < 0.1:
            parts *= 10  # overlong for most platforms
        texts.append((rng.choice(platforms), " ".join(parts)))
    return texts


def bench_rules(count: int) -> dict[str, Any]:
    texts = _draft_texts(count)
    best = float("inf")
    flagged = 0
    for _ in range(3):
        started = time.perf_counter()
        flagged = sum(1 for platform, text in texts if violations(text, get_platform(platform)))
        best = min(best, time.perf_counter() - started)
    return {"drafts": count, "seconds": round(best, 3), "with_violations": flagged}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None, help="default: the idle cores")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    threads = args.threads or default_threads()
    out: dict[str, Any] = {"cpus": os.cpu_count(), "load_1min": round(load, 2), "threads": threads}
    out["model"] = bench_model(args.rounds, threads)
    out["draft"] = bench_draft(args.rounds)
    out["rules"] = bench_rules(10_000)
    print(json.dumps(out, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
