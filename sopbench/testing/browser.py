"""Drive the dashboard in a real browser: Debian's chromium through Playwright.

The PyPI ``playwright`` package drives the distribution's chromium directly
(no ``playwright install``), with flags that keep it off the network: without
them chromium keeps calling outside hosts that a sandboxed network refuses.

Used by the browser tests (``tests/ui/browser``), the README screenshots
(:mod:`sopbench.testing.showcase`) and ``benchmarks/bench_dashboard.py``::

    with sync_playwright() as pw:
        browser = launch(pw)
        page = browser.new_page()
        open_page(page, server.url("approvals"))
        sign_in(page, "olivia", "code")
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from sopbench.errors import SopbenchError

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Locator, Page, Playwright

__all__ = [
    "CHROMIUM_ARGS",
    "PAGE_ROOT",
    "PROBLEM_WORDS",
    "BrowserMissing",
    "TextNotShown",
    "admit",
    "find_chromium",
    "launch",
    "open_page",
    "page_problems",
    "sign_in",
    "wait_for_text",
]

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PAGE_ROOT = ".sb-page"
"""The CSS class every dashboard page's root widget carries (``sopbench.ui.app.Page``)."""
PROBLEM_WORDS = ("Traceback", "Error")
"""Text that must never reach a reviewer: a Python traceback or an exception's name."""
_CANDIDATES = ("/usr/bin/chromium", "/usr/lib/chromium/chromium")


class BrowserMissing(SopbenchError):
    """Debian's chromium is not installed."""

    default_hint = "install it: apt-get install -y chromium (or run scripts/system-deps.sh)"


class TextNotShown(SopbenchError):
    """A page did not show the text a test or script waited for."""


def find_chromium(
    candidates: tuple[str, ...] = _CANDIDATES, *, search_path: str | None = None
) -> Path:
    """The chromium executable to drive, else :class:`BrowserMissing`.

    ``search_path`` is the ``PATH`` to look in after the candidates (default: ``$PATH``).
    """
    for candidate in candidates:
        if os.access(candidate, os.X_OK):
            return Path(candidate)
    found = shutil.which("chromium", path=search_path)
    if found:
        return Path(found)
    raise BrowserMissing(f"no chromium executable found (looked at {', '.join(candidates)})")


def launch(playwright: Playwright, *, executable: Path | None = None) -> Browser:
    """Headless chromium, offline flags, no ``playwright install`` needed."""
    path = executable or find_chromium()
    return playwright.chromium.launch(executable_path=str(path), args=CHROMIUM_ARGS, headless=True)


def admit(context: BrowserContext, base_url: str, token: str) -> None:
    """Give the browser its Voilà login cookie without starting a page kernel.

    A page kernel only sees the cookies the browser sent with the page
    request; the very request that carries ``?token=`` has none yet, so a
    sign-in there would hold for that page only. The folder listing
    authenticates like a page but starts no kernel.
    """
    reply = context.request.get(f"{base_url}/voila/tree?token={token}")
    if reply.status != 200 or not any(c["name"].startswith("username-") for c in context.cookies()):
        raise SopbenchError(
            f"the dashboard at {base_url} did not accept the token (HTTP {reply.status})",
            hint="use the URL `sopbench serve` printed",
        )


def open_page(page: Page, url: str, *, timeout_ms: float | None = None) -> Locator:
    """Go to ``url`` and wait until the dashboard page's root widget is visible.

    Without ``timeout_ms``, the page's default timeout applies (a page whose
    preheated kernel is taken waits for a new kernel to start).
    """
    page.goto(url, wait_until="domcontentloaded", timeout=timeout_ms)
    root = page.locator(PAGE_ROOT).first
    root.wait_for(state="visible", timeout=timeout_ms)
    return root


def page_problems(page: Page) -> list[str]:
    """Lines of the visible page that look like a leaked traceback or error name."""
    text = page.locator("body").inner_text()
    return [line for line in text.splitlines() if any(w in line for w in PROBLEM_WORDS)]


def wait_for_text(page: Page, text: str, *, timeout_ms: float | None = None) -> Locator:
    """Wait until ``text`` is visible somewhere on the page.

    On timeout, :class:`TextNotShown` carries what the page showed instead.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    found = page.get_by_text(text).first
    try:
        found.wait_for(state="visible", timeout=timeout_ms)
    except PlaywrightTimeout:
        shown = page.locator("body").inner_text()
        raise TextNotShown(f"the page never showed {text!r}; it shows:\n{shown}") from None
    return found


def sign_in(
    page: Page, person: str, code: str, *, expect_ok: bool = True, timeout_ms: float | None = None
) -> None:
    """Fill the page's sign-in panel (name + access code) and press "Sign in".

    With ``expect_ok`` wait until the page says "signed in as" and has
    replaced the panel with what it shows signed-in people; otherwise wait
    for the panel's error notice.
    """
    panel = page.locator(".sb-sign-in").first
    panel.wait_for(state="visible", timeout=timeout_ms)
    panel.locator("select").select_option(label=_label_of(panel, person))
    panel.locator("input[type=password]").fill(code)
    panel.get_by_role("button", name="Sign in").click()
    if expect_ok:
        page.locator(".sb-who", has_text="signed in as").first.wait_for(
            state="visible", timeout=timeout_ms
        )
        # the header changes first; the body is rebuilt (panel gone) just after
        page.locator(".sb-sign-in").first.wait_for(state="hidden", timeout=timeout_ms)
    else:
        panel.locator(".sb-error").first.wait_for(state="visible", timeout=timeout_ms)


def _label_of(panel: Locator, person: str) -> str:
    """The dropdown option of ``person`` (shown as "Name (id)")."""
    labels: list[str] = panel.locator("select option").all_inner_texts()
    for label in labels:
        if label.strip().endswith(f"({person})"):
            return label.strip()
    raise SopbenchError(
        f"'{person}' is not among the sign-in choices",
        hint="add them to sops/people.yaml",
    )
