"""Headless reviewer sessions (HTTP + kernel websocket) against the real dashboard.

The benchmark of 20 reviewers at once uses these sessions; here they prove
they see what a browser would: the page's widgets, bound to the right person,
also when several reviewers arrive at the same moment.
"""

from __future__ import annotations

import asyncio

import pytest
from jupyter_server.services.kernels.connection.base import serialize_binary_message

from sopbench.errors import ConfigError
from sopbench.testing.headless import HeadlessSession, SessionFailed, decode_frame, run_apart
from sopbench.testing.live import LiveDashboard

PEOPLE = {
    "olivia": "Olivia Marsh",
    "sam": "Sam Okafor",
    "priya": "Priya Nair",
    "grant": "Grant Ellis",
}


def _session(dashboard: LiveDashboard, person: str | None) -> HeadlessSession:
    session = HeadlessSession.admitted(dashboard.server.base_url, dashboard.server.token)
    if person is not None:
        dashboard.bind_browser(session.cookie_header, person)
    return session


def test_a_signed_in_session_gets_its_page_and_name(dashboard: LiveDashboard) -> None:
    session = _session(dashboard, "sam")
    result = run_apart(session.open(dashboard.url("approvals", token=False), "approvals"))
    assert result.signed_in_as == PEOPLE["sam"]
    assert result.models > 10  # the page, its header, the inbox table ...
    assert 0 < result.html_ms <= result.states_ms


def test_a_session_nobody_signed_in_gets_the_sign_in_panel(dashboard: LiveDashboard) -> None:
    session = _session(dashboard, None)
    result = run_apart(session.open(dashboard.url("approvals", token=False), "approvals"))
    assert result.signed_in_as is None


def test_reviewers_arriving_together_each_see_their_own_page(dashboard: LiveDashboard) -> None:
    people = list(PEOPLE)
    sessions = [_session(dashboard, person) for person in people]

    async def everyone() -> list[str | None]:
        pages = ("approvals", "home")
        results = await asyncio.gather(
            *(
                s.open(dashboard.url(pages[i % 2], token=False), pages[i % 2])
                for i, s in enumerate(sessions)
            )
        )
        return [r.signed_in_as for r in results]

    assert run_apart(everyone()) == [PEOPLE[p] for p in people]


def test_a_wrong_token_is_refused(dashboard: LiveDashboard) -> None:
    with pytest.raises(SessionFailed, match="did not accept the token"):
        HeadlessSession.admitted(dashboard.server.base_url, "not-the-token")


def test_binary_frames_decode_like_jupyter_server_encodes_them() -> None:
    message = {
        "header": {"msg_type": "comm_msg"},
        "parent_header": {},
        "metadata": {},
        "content": {"data": {"method": "update_states"}},
        "channel": "iopub",
        "buffers": [b"\x00\x01\x02", b"abc"],
    }
    decoded = decode_frame(serialize_binary_message(message))
    assert decoded["content"] == message["content"]
    assert decoded["buffers"] == [b"\x00\x01\x02", b"abc"]
    assert decode_frame('{"content": {}}') == {"content": {}}


def test_a_browser_without_the_login_cookie_cannot_be_bound(dashboard: LiveDashboard) -> None:
    with pytest.raises(ConfigError, match="no Voilà login cookie"):
        dashboard.bind_browser("_xsrf=abc", "sam")
