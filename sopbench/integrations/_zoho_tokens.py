"""Zoho OAuth access tokens, minted from a refresh token and cached per process.

``POST {accounts}/oauth/v2/token?grant_type=refresh_token&...`` mints a
one-hour access token. Zoho allows only 10 mints per refresh token per 10
minutes, so a token is cached for the whole process, keyed by a hash of
(accounts server, client id, client secret, refresh token), and shared by
every :class:`~sopbench.integrations.zoho.ZohoCRM` built from the same
credentials; it is replaced :data:`TOKEN_MARGIN` seconds before it
expires, or at once when the API says ``INVALID_TOKEN``. The token
response also names the org's ``api_domain``. Import the public names from
:mod:`sopbench.integrations.zoho`.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx

from sopbench.integrations._zoho_errors import ZohoAuthError, code_of, oauth_error
from sopbench.integrations.http import HttpService, RetryPolicy

if TYPE_CHECKING:
    from sopbench.config import Secrets

__all__ = ["TOKEN_MARGIN", "CachedToken", "ZohoTokens", "clear_token_cache"]

TOKEN_MARGIN = 60.0
"""Seconds before expiry at which a cached access token is replaced."""


@dataclass
class CachedToken:
    token: str
    expires: float
    """``time.monotonic()`` after which the token is no longer used."""
    api_domain: str | None


_TOKENS: dict[str, CachedToken] = {}
_TOKENS_LOCK = threading.Lock()


def clear_token_cache() -> None:
    """Forget every cached access token (tests; a revoked refresh token)."""
    with _TOKENS_LOCK:
        _TOKENS.clear()


class ZohoTokens:
    """The access tokens of one set of credentials, over the accounts server.

    ``names`` are the *secret names* of the client id, client secret and
    refresh token, resolved on every use. ``on_token`` is told every token
    handed out, so the services that send it can mask it.
    """

    def __init__(
        self,
        *,
        secrets: Secrets,
        accounts_url: str,
        names: tuple[str, str, str],
        timeout: float,
        retry: RetryPolicy,
        auth_hint: str,
        on_token: Callable[[str], None],
    ) -> None:
        self.secrets = secrets
        self.accounts_url = accounts_url
        self.auth_hint = auth_hint
        self._names = names
        self._on_token = on_token
        self._lock = threading.Lock()
        self.accounts = HttpService(
            "zoho-accounts",
            accounts_url,
            secrets=secrets,
            timeout=timeout,
            retry=retry,
            auth_hint=auth_hint,
            error_parser=lambda response, http: oauth_error(response, http, self.auth_hint),
        )

    def close(self) -> None:
        self.accounts.close()

    def cache_key(self) -> str:
        client_id, client_secret, refresh = (self.secrets.get(n) for n in self._names)
        raw = f"{self.accounts_url}\x00{client_id}\x00{client_secret}\x00{refresh}"
        return hashlib.sha256(raw.encode()).hexdigest()

    def access_token(self) -> str:
        """A valid access token: the cached one, or a newly minted one."""
        key = self.cache_key()
        with _TOKENS_LOCK:
            cached = _TOKENS.get(key)
        if cached is not None and cached.expires > time.monotonic():
            self._sensitive(cached.token)
            return cached.token
        return self.refresh(key).token

    def invalidate(self) -> None:
        """Drop the cached token, so the next request mints a new one."""
        key = self.cache_key()
        with _TOKENS_LOCK:
            _TOKENS.pop(key, None)

    def api_domain(self) -> str | None:
        """The ``api_domain`` the (cached, else a new) token response named."""
        key = self.cache_key()
        with _TOKENS_LOCK:
            cached = _TOKENS.get(key)
        domain = cached.api_domain if cached is not None else None
        if not domain:
            domain = self.refresh(key).api_domain
        return domain

    def on_auth_failure(self, response: httpx.Response) -> bool:
        """The API's 401 hook: drop the token and repeat the request when it was refused."""
        code = code_of(response)
        if code in ("INVALID_TOKEN", "AUTHENTICATION_FAILURE") or code is None:
            self.invalidate()
            return True
        return False

    def refresh(self, key: str) -> CachedToken:
        """Mint a token for ``key`` (unless another thread just did) and cache it."""
        with self._lock:
            with _TOKENS_LOCK:
                cached = _TOKENS.get(key)
            if cached is not None and cached.expires > time.monotonic():
                return cached
            client_id, client_secret, refresh = (self.secrets.get(n) for n in self._names)
            self.accounts.add_sensitive(client_id, client_secret, refresh)
            response = self.accounts.request(
                "POST",
                "/oauth/v2/token",
                params={
                    "refresh_token": refresh,
                    "client_id": client_id,
                    "client_secret": client_secret,
                    "grant_type": "refresh_token",
                },
                idempotent=True,
                ok=lambda status: status < 300,
            )
            data = self.accounts.json(response, dict)
            token = data.get("access_token")
            if not isinstance(token, str) or not token:
                error = data.get("error") or data.get("error_description") or "no access_token"
                raise ZohoAuthError(
                    self.accounts.redact(f"zoho: the accounts server refused the token: {error}"),
                    code=str(error),
                    status=response.status_code,
                    request_id=self.accounts.request_id(response),
                    hint=self.auth_hint,
                )
            try:
                ttl = float(data.get("expires_in", 3600))
            except (TypeError, ValueError):
                ttl = 3600.0
            cached = CachedToken(
                token=token,
                expires=time.monotonic() + max(0.0, ttl - min(TOKEN_MARGIN, ttl / 2)),
                api_domain=data.get("api_domain"),
            )
            self._sensitive(token)
            with _TOKENS_LOCK:
                _TOKENS[key] = cached
            return cached

    def _sensitive(self, token: str) -> None:
        self.accounts.add_sensitive(token)
        self._on_token(token)
