"""Dashboard in a real browser: first widget visible per page, and 20 reviewers at once.

Starts ``sopbench serve``'s server (Voilà, one preheated kernel per page)
over a copy of the bundled workspace with the sandbox doubles and some work
created through the services (``sopbench.testing.showcase.seed``), then
drives Debian chromium through Playwright:

* ``first_widget_ms``: navigation start until the page's root widget
  (``.sb-page``) is visible, per page, signed in as the owner; median of
  ``--rounds`` rounds. Pages are visited round-robin, so each page's pool
  kernel has been replaced (preheated again) before its next visit.
* ``burst``: ``--sessions`` reviewers, each its own browser (Voilà login
  cookie) bound to a different person, open Approvals (half) or Home (half)
  at the same moment. ``--client mixed`` (default): headless sessions
  (:mod:`sopbench.testing.headless`: the page, then every widget's state over
  the kernel websocket) plus one chromium tab timed until the reviewer's
  name is drawn; ``headless``: no tab; ``chromium``: every session a tab of
  one chromium on this machine (measures chromium more than the server).
  Each session must show its own person's name. ``--page-pool`` and
  ``--refill-delay`` are ``sopbench serve``'s ``--page-pool`` and
  ``--pool-refill-delay``.

    python benchmarks/bench_dashboard.py [--rounds 3] [--sessions 20] [--pool-size 1]
        [--page-pool approvals=10] [--refill-delay 5] [--client mixed|headless|chromium]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import TimeoutError as PlaywrightTimeout
from playwright.async_api import async_playwright
from playwright.sync_api import sync_playwright

from sopbench.resources import bundled
from sopbench.services.dashboard import PAGES
from sopbench.testing.browser import (
    CHROMIUM_ARGS,
    PAGE_ROOT,
    admit,
    find_chromium,
    launch,
    open_page,
    sign_in,
)
from sopbench.testing.headless import HeadlessSession, SessionFailed, SessionResult
from sopbench.testing.live import LiveDashboard, live_dashboard
from sopbench.testing.showcase import seed

QUERIES: dict[str, dict[str, str]] = {
    "entity": {"entity": "computer_store"},
    "sop": {"sop": "cs_tournament_event"},
}
VIEWPORT = {"width": 1280, "height": 800}
SESSION_TIMEOUT_MS = 180_000  # a session not rendered by then counts as failed
SETTLE_S = 20.0  # after start and after the burst: let the pool's kernels finish preheating


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def first_widget(live: LiveDashboard, rounds: int) -> dict[str, Any]:
    """Per page: median ms from navigation to the root widget visible."""
    times: dict[str, list[float]] = {p: [] for p in PAGES}
    with sync_playwright() as pw:
        browser = launch(pw)
        context = browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
        context.set_default_timeout(180_000)
        admit(context, live.server.base_url, live.server.token)
        page = context.new_page()
        open_page(page, live.url("approvals", token=False))  # warm: every pool kernel up
        sign_in(page, "olivia", live.codes["olivia"])
        time.sleep(SETTLE_S)
        for _ in range(rounds):
            for name in PAGES:
                url = live.url(name, token=False, **QUERIES.get(name, {}))
                started = time.perf_counter()
                open_page(page, url)
                times[name].append((time.perf_counter() - started) * 1000)
        browser.close()
    return {
        name: {"median_ms": round(statistics.median(v)), "runs_ms": [round(x) for x in v]}
        for name, v in times.items()
    }


async def _bind(browser: Any, live: LiveDashboard, person: str) -> Any:
    """A context holding the login cookie, signed in as ``person`` (through the service)."""
    context = await browser.new_context(viewport=VIEWPORT)
    reply = await context.request.get(
        f"{live.server.base_url}/voila/tree?token={live.server.token}"
    )
    assert reply.status == 200
    cookies = await context.cookies()
    live.bind_browser("; ".join(f"{c['name']}={c['value']}" for c in cookies), person)
    return context


def _session(live: LiveDashboard, person: str) -> HeadlessSession:
    """A new browser's session (Voilà login cookie), bound to ``person`` through the service."""
    session = HeadlessSession.admitted(
        live.server.base_url, live.server.token, timeout=SESSION_TIMEOUT_MS / 1000
    )
    live.bind_browser(session.cookie_header, person)
    return session


async def _headless_burst(
    live: LiveDashboard, sessions: int, in_browser: int = 0
) -> dict[str, Any]:
    """``sessions`` reviewers at once, each its own cookie jar, over HTTP + the kernel
    websocket; the first ``in_browser`` of them are chromium tabs instead (what a
    reviewer sees during the rush, with the browser on the server's cores)."""
    names = _roster(live)
    people = sorted(names)
    browsers = [_session(live, people[i % len(people)]) for i in range(in_browser, sessions)]
    wrong: list[str] = []
    drawn: list[float] = []

    async def one(i: int) -> SessionResult | None:
        name = "approvals" if i % 2 == 0 else "home"
        try:
            result = await browsers[i - in_browser].open(live.url(name, token=False), name)
        except (SessionFailed, TimeoutError, httpx.HTTPError) as exc:
            print(f"session {i}: {exc!r}", flush=True)
            return None
        expected = names[people[i % len(people)]]
        if result.signed_in_as != expected:
            wrong.append(f"session {i}: expected {expected}, page says {result.signed_in_as}")
            return None
        return result

    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(
            executable_path=str(find_chromium()), args=CHROMIUM_ARGS
        )
        tabs = [await _bind(chromium, live, people[i % len(people)]) for i in range(in_browser)]

        async def tab(i: int) -> None:
            page = await tabs[i].new_page()
            page.set_default_timeout(SESSION_TIMEOUT_MS)
            name = "approvals" if i % 2 == 0 else "home"
            expected = names[people[i % len(people)]]
            started = time.perf_counter()
            try:
                await page.goto(live.url(name, token=False), wait_until="domcontentloaded")
                await page.locator(PAGE_ROOT).first.wait_for(state="visible")
                await page.get_by_text(f"signed in as {expected}").wait_for()
            except PlaywrightTimeout:
                print(f"chromium tab {i}: not drawn in {SESSION_TIMEOUT_MS} ms", flush=True)
                return
            drawn.append((time.perf_counter() - started) * 1000)

        started = time.perf_counter()
        results = await asyncio.gather(
            *(one(i) for i in range(in_browser, sessions)), *(tab(i) for i in range(in_browser))
        )
        total = (time.perf_counter() - started) * 1000
        await chromium.close()
    done = [r for r in results if isinstance(r, SessionResult)]
    summary: dict[str, Any] = {"client": "headless", "sessions": sessions}
    summary["failed"] = sessions - len(done) - len(drawn)
    summary["wrong_person"] = wrong
    summary["total_ms"] = round(total)
    if done:
        states = [r.states_ms for r in done]
        html = [r.html_ms for r in done]
        summary.update(
            html_p50_ms=round(_pct(html, 0.5)),
            p50_ms=round(_pct(states, 0.5)),
            p95_ms=round(_pct(states, 0.95)),
            max_ms=round(max(states)),
            min_ms=round(min(states)),
        )
    if in_browser:
        summary["chromium_tabs_ms"] = [round(x) for x in drawn]
    return summary


async def _burst(live: LiveDashboard, sessions: int) -> dict[str, Any]:
    people = sorted(_roster(live))
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(find_chromium()), args=CHROMIUM_ARGS)
        contexts = [await _bind(browser, live, people[i % len(people)]) for i in range(sessions)]

        async def one(i: int) -> float | None:
            context = contexts[i]
            context.set_default_timeout(SESSION_TIMEOUT_MS)
            page = await context.new_page()
            started = time.perf_counter()
            name = "approvals" if i % 2 == 0 else "home"
            try:
                await page.goto(live.url(name, token=False), wait_until="domcontentloaded")
                await page.locator(PAGE_ROOT).first.wait_for(state="visible")
            except PlaywrightTimeout:
                return None  # counted as a failed session
            return (time.perf_counter() - started) * 1000

        started = time.perf_counter()
        results = await asyncio.gather(*(one(i) for i in range(sessions)))
        total = (time.perf_counter() - started) * 1000
        await browser.close()
    each = [r for r in results if r is not None]
    if not each:
        return {"sessions": sessions, "failed": sessions}
    return {
        "sessions": sessions,
        "failed": sessions - len(each),
        "total_ms": round(total),
        "p50_ms": round(_pct(list(each), 0.5)),
        "p95_ms": round(_pct(list(each), 0.95)),
        "max_ms": round(max(each)),
        "min_ms": round(min(each)),
    }


def _roster(live: LiveDashboard) -> dict[str, str]:
    """Person id to display name, from the workspace's people.yaml."""
    from sopbench.library import load_workspace

    roster = load_workspace(live.settings.home).people
    return {pid: p.name for pid, p in roster.people.items()} if roster else {"olivia": "olivia"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--skip-pages", action="store_true", help="only the sessions burst")
    parser.add_argument(
        "--pool-size", type=int, default=1, help="preheated kernels per page (sopbench serve's)"
    )
    parser.add_argument(
        "--page-pool", action="append", default=[], metavar="PAGE=N", help="as sopbench serve's"
    )
    parser.add_argument("--refill-delay", type=float, default=1.0, help="as --pool-refill-delay")
    parser.add_argument(
        "--client",
        choices=("headless", "mixed", "chromium"),
        default="mixed",
        help="the burst's sessions: HTTP + kernel websocket; the same with one chromium tab; "
        "or all chromium tabs on this machine",
    )
    parser.add_argument("--settle", type=float, default=SETTLE_S, help="seconds before the burst")
    args = parser.parse_args()
    pools = {p.split("=")[0]: int(p.split("=")[1]) for p in args.page_pool}
    with tempfile.TemporaryDirectory(prefix="bench-dashboard-") as tmp:
        home = Path(tmp) / "home"
        with live_dashboard(
            home,
            sops=bundled("sops"),
            pool_size=args.pool_size,
            page_pools=pools,
            pool_refill_delay=args.refill_delay,
        ) as live:
            seed(live.settings)
            if not args.skip_pages:
                pages = first_widget(live, args.rounds)
                print(json.dumps({"first_widget": pages}, indent=2), flush=True)
            if args.sessions <= 0:
                return
            time.sleep(args.settle)
            if args.client == "chromium":
                burst = asyncio.run(_burst(live, args.sessions))
            else:
                tabs = 1 if args.client == "mixed" else 0
                burst = asyncio.run(_headless_burst(live, args.sessions, tabs))
            print(json.dumps({"burst": burst}, indent=2))
            log = live.settings.state_dir / "dashboard.log"
            errors = [line for line in log.read_text().splitlines() if "ERROR" in line]
            print(f"Voilà log: {len(errors)} ERROR line(s)", *errors[:5], sep="\n")


if __name__ == "__main__":
    main()
