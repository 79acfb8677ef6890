"""Local doubles of the outside services, as real HTTP servers on 127.0.0.1.

Each double reproduces the documented behaviour of its service (see the
module docstrings) on top of :class:`LocalServer`, which records every
request with a timestamp and injects faults (status bursts, 429 with
``Retry-After``, slow answers, malformed bodies, auth failures, held
requests). Tests and ``sopbench sandbox`` use them::

    from sopbench.testing.servers import DiscordServer

    with DiscordServer() as discord:
        url = discord.webhook_url()   # what a workspace stores in its secret
"""

from __future__ import annotations

from sopbench.testing.servers._base import Fault, Hold, LocalServer, Recorded, Reply
from sopbench.testing.servers.canva import CanvaServer
from sopbench.testing.servers.discord import DiscordServer
from sopbench.testing.servers.llm import LlmServer
from sopbench.testing.servers.mixpost import MixpostServer
from sopbench.testing.servers.smtp import SmtpDouble
from sopbench.testing.servers.video import VideoServer
from sopbench.testing.servers.zoho import ZohoServer

__all__ = [
    "CanvaServer",
    "DiscordServer",
    "Fault",
    "Hold",
    "LlmServer",
    "LocalServer",
    "MixpostServer",
    "Recorded",
    "Reply",
    "SmtpDouble",
    "VideoServer",
    "ZohoServer",
]
