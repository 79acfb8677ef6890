"""The page frame (header, sign-in, errors) and the entry point the notebooks call.

A page notebook is one cell::

    from sopbench.ui import page
    page("approvals")

:func:`page` opens the workspace first, then waits for Voilà to hand over
the request (a preheated kernel has done the slow part by then), works out
who the reviewer is, and returns the page widget.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import ClassVar

import ipywidgets as widgets

from sopbench.config import PageRequest, Settings, load_settings, read_page_request
from sopbench.errors import NotFound, SopbenchError
from sopbench.services.dashboard import PAGES
from sopbench.ui.context import PageContext
from sopbench.ui.identity import SignInPanel, browser_key, resolve_person
from sopbench.ui.widgets import esc, notice

__all__ = ["Page", "page", "page_class"]

_STYLE = """<style>
.sb-header{display:flex;gap:14px;align-items:center;flex-wrap:wrap;
  border-bottom:1px solid #ddd;padding:4px 0 8px 0;margin-bottom:6px}
.sb-header a{text-decoration:none}
.sb-badge{background:#f5a623;color:#000;border-radius:4px;padding:1px 8px;font-weight:600}
.sb-notice{padding:6px 10px;border-radius:4px;margin:4px 0}
.sb-info{background:#eef4fb}.sb-ok{background:#e6f6e6}.sb-warn{background:#fff4d6}
.sb-error{background:#fde8e8;color:#8a1010}
.sb-card{border:1px solid #ddd;border-radius:6px;padding:8px 12px;margin:4px;min-width:220px}
.sb-diff .add{background:#e6ffed}.sb-diff .del{background:#ffeef0;text-decoration:line-through}
.sb-sort{background:transparent !important;font-weight:600;text-align:left}
pre.sb-pre{background:#f7f7f7;padding:8px;max-height:420px;overflow:auto;white-space:pre-wrap}
</style>"""

_TITLES = {
    "home": "Home",
    "entity": "Entity",
    "sop": "SOP",
    "calendar": "Calendar",
    "content": "Content",
    "drafts": "Drafts",
    "media": "Media",
    "history": "History",
    "approvals": "Approvals",
    "scheduler": "Scheduler",
}


class Page(widgets.VBox):
    """One dashboard page: header, messages, and a body built by :meth:`build`."""

    name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    needs_person: ClassVar[bool] = False
    """Show the sign-in panel instead of the body until someone signs in."""

    def __init__(self, ctx: PageContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.header = widgets.HTML()
        self.account = widgets.HBox()
        self.messages = widgets.VBox()
        self.body = widgets.VBox()
        self.add_class("sb-page")
        self.add_class(f"sb-page-{self.name}")
        self.children = [
            widgets.HTML(_STYLE),
            widgets.HBox([self.header, self.account]),
            self.messages,
            self.body,
        ]
        self.render()

    # -- frame -------------------------------------------------------------------

    def render(self) -> None:
        self.header.value = self._header_html()
        self.account.children = self._account()
        if self.needs_person and self.ctx.person is None:
            self.body.children = [SignInPanel(self.ctx, lambda _: self.render())]
            return
        try:
            self.body.children = self.build()
        except NotFound as exc:
            self.body.children = [self.not_found_view(exc)]
        except SopbenchError as exc:
            self.body.children = [notice(str(exc), "error")]

    def _header_html(self) -> str:
        links = " ".join(
            f'<a href="{p}.ipynb">{"<b>" if p == self.name else ""}{_TITLES[p]}'
            f"{'</b>' if p == self.name else ''}</a>"
            for p in PAGES
            if p not in ("entity", "sop")
        )
        badge = '<span class="sb-badge">sandbox</span>' if self.ctx.sandbox else ""
        return f'<div class="sb-header"><b>sopbench</b> {badge} {links}</div>'

    def _account(self) -> list[widgets.Widget]:
        if self.ctx.person is None:
            return [widgets.HTML('<span class="sb-who">not signed in</span>')]
        who = widgets.HTML(
            f'<span class="sb-who">signed in as <b>{esc(self.ctx.person_name())}</b></span>'
        )
        if browser_key(self.ctx.request.cookie) is None:
            return [who]
        out = widgets.Button(description="Sign out", layout={"width": "90px"})
        out.on_click(lambda _: self.sign_out())
        return [who, out]

    def sign_out(self) -> None:
        key = browser_key(self.ctx.request.cookie)
        if key is not None:
            self.ctx.access.sign_out(key)
        self.ctx.person = None
        self.render()

    def not_found_view(self, exc: NotFound) -> widgets.Widget:
        return widgets.VBox(
            [
                widgets.HTML(f"<h2>{esc(self.title)} not found</h2>"),
                notice(str(exc), "warn"),
                widgets.HTML('<a href="home.ipynb">Back to Home</a>'),
            ]
        ).add_class("sb-not-found")

    # -- for subclasses -------------------------------------------------------------

    def build(self) -> list[widgets.Widget]:
        raise NotImplementedError

    def say(self, text: str, kind: str = "info") -> None:
        self.messages.children = [notice(text, kind)]

    def act(self, action: Callable[[], str | None], *, refresh: bool = True) -> bool:
        """Run a user action: its message on success, the error's on failure."""
        try:
            message = action()
        except SopbenchError as exc:
            self.say(str(exc), "error")
            return False
        if refresh:
            self.render()
        if message:
            self.say(message, "ok")
        return True


def page_class(name: str) -> type[Page]:
    """The widget class of a page, imported on first use."""
    if name not in PAGES:
        raise NotFound(f"no dashboard page '{name}'", hint=f"pages: {', '.join(PAGES)}")
    module = importlib.import_module(f"sopbench.ui.pages.{name}")
    cls: type[Page] = module.PAGE
    return cls


def page(
    name: str, *, request: PageRequest | None = None, settings: Settings | None = None
) -> Page:
    """Build page ``name`` for the current Voilà request (or ``request``)."""
    ctx = PageContext(settings or load_settings())
    cls = page_class(name)
    ctx.runs  # noqa: B018 - open the engine before the request arrives (preheat)
    if request is None:
        _wait_for_voila_request()
        request = read_page_request()
    ctx.request = request
    person, problem = resolve_person(ctx)
    ctx.person = person
    view = cls(ctx)
    if problem:
        view.say(problem, "warn")
    return view


def _wait_for_voila_request() -> None:
    try:
        from voila.utils import wait_for_request
    except ImportError:  # outside Voilà (JupyterLab, tests): nothing to wait for
        return
    wait_for_request()
