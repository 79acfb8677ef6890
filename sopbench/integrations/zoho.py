"""Zoho CRM REST API client (v8; v2-v7 share the shape).

Auth is OAuth 2.0 with a long-lived refresh token: ``POST
{accounts}/oauth/v2/token?grant_type=refresh_token&...`` mints a one-hour
access token, sent as ``Authorization: Zoho-oauthtoken <token>``. Tokens
are cached per (accounts server, client, refresh token) for the whole
process, since Zoho allows only 10 mints per refresh token per 10 minutes;
a 401 ``INVALID_TOKEN`` drops the cached token, mints a new one and
repeats the request once.

Writes: :meth:`ZohoCRM.insert` / :meth:`ZohoCRM.upsert` (with
``duplicate_check_fields``: a match is updated, never inserted twice) /
:meth:`ZohoCRM.update`; reads: :meth:`ZohoCRM.get`, :meth:`ZohoCRM.search`
(criteria built with :func:`criteria`); Tasks: :meth:`ZohoCRM.create_task`.

Zoho's error JSON (``{"code", "details", "message", "status": "error"}``,
per request or per record) becomes a :class:`ZohoError` subclass carrying
the code, the record's index in the batch, the field (``api_name``) and,
for duplicates, the existing record's id::

    ZohoError (HttpStatusError)
    ├── ZohoAuthError (AuthFailed)        INVALID_TOKEN, AUTHENTICATION_FAILURE, OAuth refusals
    ├── ZohoRateLimited (RateLimited)     TOO_MANY_REQUESTS
    ├── ZohoServerError (ServerError)     any 5xx
    ├── ZohoDuplicateRecord               DUPLICATE_DATA (.record_id = the existing record)
    ├── ZohoMandatoryMissing              MANDATORY_NOT_FOUND (.field)
    ├── ZohoInvalidData                   INVALID_DATA (.field)
    └── ZohoInvalidRequest                INVALID_MODULE, INVALID_QUERY, NOT_SUPPORTED, ...

This module is the public face; the client is split by concern:

* :mod:`~sopbench.integrations._zoho_client`: :class:`ZohoCRM` (records,
  search, Tasks) and its API service;
* :mod:`~sopbench.integrations._zoho_tokens`: the OAuth token cache;
* :mod:`~sopbench.integrations._zoho_errors`: the error classes and how
  Zoho's error JSON maps onto them;
* :mod:`~sopbench.integrations._zoho_records`: :class:`RecordResult`,
  :func:`criteria` and the batch rules.

``TOKEN_MARGIN``, never in ``__all__``, is still importable from here.
"""

from __future__ import annotations

from sopbench.integrations._zoho_client import ZohoCRM
from sopbench.integrations._zoho_errors import (
    ZohoAuthError,
    ZohoDuplicateRecord,
    ZohoError,
    ZohoInvalidData,
    ZohoInvalidRequest,
    ZohoMandatoryMissing,
    ZohoRateLimited,
    ZohoServerError,
)
from sopbench.integrations._zoho_records import (
    NO_UPSERT_MODULES,
    RecordResult,
    criteria,
    escape_value,
)
from sopbench.integrations._zoho_tokens import TOKEN_MARGIN as TOKEN_MARGIN
from sopbench.integrations._zoho_tokens import clear_token_cache

__all__ = [
    "NO_UPSERT_MODULES",
    "RecordResult",
    "ZohoAuthError",
    "ZohoCRM",
    "ZohoDuplicateRecord",
    "ZohoError",
    "ZohoInvalidData",
    "ZohoInvalidRequest",
    "ZohoMandatoryMissing",
    "ZohoRateLimited",
    "ZohoServerError",
    "clear_token_cache",
    "criteria",
    "escape_value",
]
