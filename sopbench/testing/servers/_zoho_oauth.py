"""The Zoho double's accounts server: the token endpoint and bearer checks.

``POST /oauth/v2/token`` with ``grant_type=refresh_token`` (query or form
parameters) mints an access token for the one client the server knows,
at most ``mint_limit`` per refresh token per ``mint_window`` seconds, as
Zoho does. Refusals use Zoho's ``{"error": ...}`` shape with the
configurable ``oauth_error_status`` (200 unless set: Zoho's own pages do
not confirm it). :func:`bearer_refusal` checks every API request against
the tokens issued. These are :class:`~sopbench.testing.servers.zoho.ZohoServer`'s
handlers, split out by concern; they work on its state under its lock.
"""

from __future__ import annotations

import secrets as pysecrets
import time
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

from sopbench.testing.servers._base import Recorded, Reply
from sopbench.testing.servers._zoho_store import IssuedToken, zoho_error

if TYPE_CHECKING:
    from sopbench.testing.servers.zoho import ZohoServer

__all__ = ["bearer_refusal", "token_reply"]


def token_reply(server: ZohoServer, request: Recorded) -> Reply:
    """The accounts server's answer to ``POST /oauth/v2/token``."""
    params = dict(request.query)
    if request.body and "form" in request.headers.get("content-type", ""):
        params.update(parse_qs(request.body.decode(), keep_blank_values=True))

    def one(name: str) -> str:
        values = params.get(name) or [""]
        return values[0]

    if one("grant_type") != "refresh_token":
        return Reply(server.oauth_error_status, {"error": "unsupported_grant_type"})
    if one("client_id") != server.client_id or one("client_secret") != server.client_secret:
        return Reply(server.oauth_error_status, {"error": "invalid_client"})
    refresh = one("refresh_token")
    if refresh != server.refresh_token:
        return Reply(server.oauth_error_status, {"error": "invalid_code"})
    now = time.monotonic()
    with server._mu:
        window = [t for t in server._st.minted.get(refresh, []) if now - t < server.mint_window]
        if len(window) >= server.mint_limit:
            server._st.minted[refresh] = window
            return Reply(
                400,
                {
                    "error_description": "You have made too many requests continuously. "
                    "Please try again after some time.",
                    "error": "Access Denied",
                    "status": "failure",
                },
            )
        window.append(now)
        server._st.minted[refresh] = window
        access = "1000." + pysecrets.token_hex(16) + "." + pysecrets.token_hex(16)
        server._st.tokens[access] = IssuedToken(now + server.token_ttl, refresh)
    return Reply(
        200,
        {
            "access_token": access,
            "scope": "ZohoCRM.modules.ALL ZohoSearch.securesearch.READ",
            "api_domain": server.api_domain,
            "token_type": "Bearer",
            "expires_in": server.token_ttl,
        },
    )


def bearer_refusal(server: ZohoServer, request: Recorded) -> Reply | None:
    """The 401 for an API request without a valid ``Zoho-oauthtoken``, else None."""
    auth = request.headers.get("authorization", "")
    if not auth.startswith("Zoho-oauthtoken "):
        return Reply(401, zoho_error("AUTHENTICATION_FAILURE", "Authentication failed"))
    with server._mu:
        token = server._st.tokens.get(auth[len("Zoho-oauthtoken ") :])
        if token is None or token.expires < time.monotonic():
            return Reply(401, zoho_error("INVALID_TOKEN", "invalid oauth token"))
    return None
