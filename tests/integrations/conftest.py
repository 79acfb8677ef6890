"""Fixtures of the integration tests: one real local server per service.

``mixpost_server``, ``zoho_server`` and ``discord_server`` start the
doubles from :mod:`sopbench.testing.servers` on 127.0.0.1 (a free port
each) and stop them after the test. ``secrets`` is a
:class:`~sopbench.config.Secrets` holding the credentials of all three
(see ``_support.py`` for the values and helpers).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sopbench.config import Secrets
from sopbench.integrations import discord as discord_module
from sopbench.integrations.zoho import clear_token_cache
from sopbench.testing.servers import DiscordServer, MixpostServer, ZohoServer

from ._support import (
    DISCORD_ID,
    DISCORD_TOKEN,
    MIXPOST_TOKEN,
    ZOHO_CLIENT_ID,
    ZOHO_CLIENT_SECRET,
    ZOHO_REFRESH,
    secrets_for,
)


@pytest.fixture(autouse=True)
def _fresh_process_state() -> Iterator[None]:
    """Token cache and rate-limit buckets are per process: start each test clean."""
    clear_token_cache()
    discord_module._BLOCKED.clear()
    yield
    clear_token_cache()
    discord_module._BLOCKED.clear()


@pytest.fixture
def mixpost_server() -> Iterator[MixpostServer]:
    with MixpostServer(token=MIXPOST_TOKEN) as server:
        assert isinstance(server, MixpostServer)
        yield server


@pytest.fixture
def zoho_server() -> Iterator[ZohoServer]:
    with ZohoServer(
        client_id=ZOHO_CLIENT_ID, client_secret=ZOHO_CLIENT_SECRET, refresh_token=ZOHO_REFRESH
    ) as server:
        assert isinstance(server, ZohoServer)
        yield server


@pytest.fixture
def discord_server() -> Iterator[DiscordServer]:
    with DiscordServer(webhooks={DISCORD_ID: DISCORD_TOKEN}) as server:
        assert isinstance(server, DiscordServer)
        yield server


@pytest.fixture
def secrets(
    mixpost_server: MixpostServer, zoho_server: ZohoServer, discord_server: DiscordServer
) -> Secrets:
    return Secrets([secrets_for(mixpost_server, zoho_server, discord_server)])
