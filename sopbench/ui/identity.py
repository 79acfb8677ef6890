"""Who is using the dashboard.

In order: the JupyterHub user (``JUPYTERHUB_USER``), the trusted auth
proxy's ``X-Forwarded-User`` (only when ``sopbench serve --trusted-proxy``),
else a reviewer who signed in with their access code. A sign-in is kept per
browser: Voilà's login cookie identifies the browser, and only a hash of it
is stored (see :mod:`sopbench.services.users`).
"""

from __future__ import annotations

from collections.abc import Callable
from http.cookies import CookieError, SimpleCookie

import ipywidgets as widgets

from sopbench.errors import SopbenchError
from sopbench.ui.context import PageContext
from sopbench.ui.widgets import esc, notice

__all__ = ["SignInPanel", "browser_key", "resolve_person"]

_LOGIN_COOKIE_PREFIX = "username-"  # jupyter_server's per-browser identity cookie


def browser_key(cookie_header: str | None) -> str | None:
    """The browser's Voilà login cookie (name=value), if the request had one."""
    if not cookie_header:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(cookie_header)
    except CookieError:
        return None
    for name, morsel in sorted(jar.items()):
        if name.startswith(_LOGIN_COOKIE_PREFIX) and morsel.value:
            return f"{name}={morsel.value}"
    return None


def resolve_person(ctx: PageContext) -> tuple[str | None, str | None]:
    """``(person, problem)``: the reviewer of this request, or why there is none."""
    request = ctx.request
    roster = ctx.workspace.people
    known = roster.people if roster else {}
    outside = request.hub_user or request.proxy_user
    if outside:
        if outside in known:
            return outside, None
        source = "JupyterHub" if request.hub_user else "the sign-in proxy"
        return None, (
            f"{source} says you are '{outside}', who is not in sops/people.yaml; "
            "ask the operator to add you"
        )
    key = browser_key(request.cookie)
    if key is None:
        return None, None
    return ctx.access.session_person(key), None


class SignInPanel(widgets.VBox):
    """Name + access code; remembers the browser on success."""

    def __init__(self, ctx: PageContext, on_signed_in: Callable[[str], None]) -> None:
        super().__init__()
        self.ctx = ctx
        self.on_signed_in = on_signed_in
        roster = ctx.workspace.people
        options = (
            [(f"{p.name} ({pid})", pid) for pid, p in sorted(roster.people.items())]
            if roster
            else []
        )
        self.who = widgets.Dropdown(options=options, description="Name", value=None)
        self.code = widgets.Password(description="Access code", placeholder="access code")
        self.button = widgets.Button(description="Sign in", button_style="primary")
        self.button.on_click(lambda _: self.submit())
        self.message = widgets.HTML()
        self.add_class("sb-sign-in")
        self.children = [
            widgets.HTML("<h3>Sign in to decide</h3>"),
            widgets.HBox([self.who, self.code, self.button]),
            self.message,
        ]

    def submit(self) -> None:
        person = self.who.value
        if not person:
            self.message.value = notice("choose your name first", "warn").value
            return
        key = browser_key(self.ctx.request.cookie)
        try:
            if key is None:
                # No login cookie (e.g. a notebook outside Voilà): this page only.
                self.ctx.access.verify(person, self.code.value)
            else:
                self.ctx.access.sign_in(key, person, self.code.value)
        except SopbenchError as exc:
            self.message.value = notice(str(exc), "error").value
            return
        finally:
            self.code.value = ""
        self.ctx.person = person
        self.message.value = f"<span>signed in as {esc(self.ctx.person_name())}</span>"
        self.on_signed_in(person)
