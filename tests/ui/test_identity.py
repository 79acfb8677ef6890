"""Who the reviewer is: JupyterHub user, trusted proxy header, or a signed-in browser."""

from __future__ import annotations

from collections.abc import Iterator

import ipywidgets as widgets
import pytest

from sopbench.config import PageRequest, Settings, read_page_request
from sopbench.testing.widgets import button, find_all, text_of
from sopbench.ui import PageContext, page
from sopbench.ui.identity import SignInPanel, browser_key, resolve_person
from tests.ui.conftest import PageFactory

COOKIE = '_xsrf=abc; username-127-0-0-1-8866="2|1:0|10:17|24:username|8:e30=|ff"'


def test_browser_key_is_the_voila_login_cookie() -> None:
    assert browser_key(COOKIE) == "username-127-0-0-1-8866=2|1:0|10:17|24:username|8:e30=|ff"
    assert browser_key("_xsrf=abc") is None
    assert browser_key(None) is None
    assert browser_key("=;;\x00bad") is None


def test_proxy_header_is_believed_only_when_trusted() -> None:
    env = {"QUERY_STRING": "run=r1&token=t", "HTTP_X_FORWARDED_USER": "mia"}
    assert read_page_request(env).proxy_user is None
    trusted = read_page_request({**env, "SOPBENCH_TRUSTED_PROXY": "1"})
    assert trusted.proxy_user == "mia" and trusted.query["run"] == "r1"


_open: list[PageContext] = []


def context(settings: Settings, request: PageRequest) -> PageContext:
    ctx = PageContext(settings, request=request)
    _open.append(ctx)
    return ctx


@pytest.fixture(autouse=True)
def close_contexts() -> Iterator[None]:
    yield
    while _open:
        _open.pop().close()


def test_hub_and_proxy_users_must_be_people(settings: Settings) -> None:
    ctx = context(settings, PageRequest(hub_user="olivia"))
    assert resolve_person(ctx) == ("olivia", None)
    ctx = context(settings, PageRequest(hub_user="intruder"))
    person, problem = resolve_person(ctx)
    assert person is None and problem is not None
    assert "JupyterHub says you are 'intruder'" in problem
    ctx = context(settings, PageRequest(proxy_user="nobody"))
    assert "the sign-in proxy" in (resolve_person(ctx)[1] or "")


def test_signing_in_binds_the_browser_for_later_pages(settings: Settings) -> None:
    ctx = context(settings, PageRequest(cookie=COOKIE))
    ctx.access.set_code("mia", "mia-code-2026")
    assert resolve_person(ctx) == (None, None)
    signed: list[str] = []
    panel = SignInPanel(ctx, signed.append)
    panel.who.value = "mia"
    panel.code.value = "wrong-code-0"
    button(panel, "Sign in").click()
    assert "wrong access code for mia" in text_of(panel) and not signed
    panel.code.value = "mia-code-2026"
    button(panel, "Sign in").click()
    assert signed == ["mia"] and panel.code.value == ""
    later = context(settings, PageRequest(cookie=COOKIE))
    assert resolve_person(later) == ("mia", None)
    other_browser = context(settings, PageRequest(cookie="username-x=other"))
    assert resolve_person(other_browser) == (None, None)


def test_sign_out_from_the_header(make_page: PageFactory, settings: Settings) -> None:
    ctx = context(settings, PageRequest(cookie=COOKIE))
    ctx.access.set_code("grant", "grant-code-2026")
    ctx.access.sign_in(browser_key(COOKIE) or "", "grant", "grant-code-2026")
    view = page("home", request=PageRequest(cookie=COOKIE), settings=settings)
    _open.append(view.ctx)
    assert "signed in as Grant Ellis" in text_of(view)
    button(view, "Sign out").click()
    assert "not signed in" in text_of(view)
    assert resolve_person(context(settings, PageRequest(cookie=COOKIE))) == (None, None)
    assert find_all(view, widgets.Button, text="Sign out") == []
