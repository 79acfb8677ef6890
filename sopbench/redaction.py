"""Masking secret values: in data (step results, journal events) and in text.

One rule for every place sopbench keeps or shows something: a secret value
is masked where it is a *string value*. :func:`redact_data` walks dicts,
lists and tuples and replaces each occurrence of a secret inside a string
by :data:`MASK`; numbers, booleans, None and dict keys are never touched,
and nothing goes through JSON text on the way. So a secret may hold any
character (quotes, backslashes, tabs, non-ASCII letters) and is still
found, and a secret made of digits cannot turn ``2027-03-14`` into
``***-03-14`` or change a number::

    >>> redact_data({"key": "Bearer s3cr3t-t0ken", "n": 20270314}, ["s3cr3t-t0ken"])
    {'key': 'Bearer ***', 'n': 20270314}

:func:`redact_text` masks one string (a log line, an error message) the
same way. Both accept any iterable of secret values; :class:`Redactor`
holds a fixed set and compiles its pattern once.

A secret travels in more spellings than its own, and each of them is
masked too (see :func:`secret_pattern`): percent-encoded in a URL's query
or user info (``p%C3%A4ss``, ``+`` for a space), escaped the way JSON text
escapes it when a service quotes it in an error (``p\\u00e4ss``,
``\\"``), as a Python repr or HTML writes it, and base64 as in a
basic-auth header.

Values shorter than :data:`MIN_SECRET_LENGTH` are not secrets sopbench
can protect: masking ``2027`` would also hide every year, and masking
``admin`` every word that contains it. :class:`~sopbench.config.Secrets`
refuses them when they are loaded (:class:`~sopbench.errors.SecretTooShort`);
the functions here ignore them.

Dict keys are left alone on purpose: they are names chosen by the SOP or
the API (header names, field names), and masking two of them to the same
``***`` would silently merge their values.
"""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any, TypeVar

__all__ = [
    "MASK",
    "MIN_SECRET_LENGTH",
    "Redactor",
    "redact_data",
    "redact_text",
    "secret_pattern",
]

logger = logging.getLogger(__name__)

MASK = "***"
"""What every occurrence of a secret is replaced by."""

MIN_SECRET_LENGTH = 8
"""Shortest secret value sopbench accepts (and masks)."""

T = TypeVar("T")


_SHORT_ESCAPES = {
    '"': ['\\"', "&quot;", "&#34;", "&#x22;"],
    "\\": ["\\\\"],
    "/": ["\\/"],
    "'": ["\\'", "&#39;", "&#x27;", "&apos;"],
    "&": ["&amp;"],
    "<": ["&lt;"],
    ">": ["&gt;"],
    "\b": ["\\b"],
    "\f": ["\\f"],
    "\n": ["\\n"],
    "\r": ["\\r"],
    "\t": ["\\t"],
    " ": ["+"],
}


def _char_pattern(char: str) -> str:
    """One character of a secret, in each way text can spell it."""
    forms = [re.escape(char)] + [re.escape(form) for form in _SHORT_ESCAPES.get(char, ())]
    utf8 = char.encode("utf-8")
    forms.append("(?i:" + "".join(f"%{byte:02X}" for byte in utf8) + ")")  # a URL
    code = ord(char)
    if code > 0xFFFF:  # JSON writes it as a surrogate pair
        code -= 0x10000
        units = [0xD800 + (code >> 10), 0xDC00 + (code & 0x3FF)]
    else:
        units = [code]
    forms.append("(?i:" + "".join(f"\\\\u{unit:04X}" for unit in units) + ")")  # JSON text
    if 0x7F <= ord(char) <= 0xFF:
        forms.append(f"(?i:\\\\x{ord(char):02X})")  # a Python repr of text or latin-1 bytes
    if len(utf8) > 1:
        forms.append("(?i:" + "".join(f"\\\\x{byte:02X}" for byte in utf8) + ")")  # repr of bytes
    return "(?:" + "|".join(forms) + ")"


@lru_cache(maxsize=512)
def secret_pattern(secret: str) -> str:
    """A regular expression matching ``secret`` in every spelling it can travel in.

    Each character may appear as itself or escaped the way URLs (``%C3%A4``,
    any hex case, ``+`` for a space), JSON text (``\\u00e4``, ``\\"``,
    ``\\\\``, ``\\t``), Python reprs of text or bytes (``\\xe4``,
    ``\\xc3\\xa4``) and HTML (``&quot;``) write it, in any mixture (httpx,
    for one, leaves a backslash unencoded in a path while encoding a quote);
    the whole value may also be base64, as in a basic-auth header. Empty
    when ``secret`` is shorter than :data:`MIN_SECRET_LENGTH`.
    """
    if len(secret) < MIN_SECRET_LENGTH:
        return ""
    spelled = "".join(_char_pattern(char) for char in secret)
    encoded = re.escape(base64.b64encode(secret.encode("utf-8")).decode("ascii"))
    return f"{spelled}|{encoded}"


@lru_cache(maxsize=128)
def _pattern(secrets: frozenset[str]) -> re.Pattern[str] | None:
    # Longest first: where one secret contains another, the whole of it is masked.
    ordered = sorted(secrets, key=lambda secret: (-len(secret), secret))
    parts = [secret_pattern(secret) for secret in ordered]
    parts = [part for part in parts if part]
    return re.compile("|".join(parts)) if parts else None


class Redactor:
    """A fixed set of secret values, masked in text and data (cheap to build)."""

    __slots__ = ("_pattern", "secrets")

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        values = frozenset(secrets)
        short = sum(1 for value in values if len(value) < MIN_SECRET_LENGTH)
        if short:
            logger.debug("%d value(s) shorter than %d are not masked", short, MIN_SECRET_LENGTH)
        self.secrets: frozenset[str] = frozenset(
            value for value in values if len(value) >= MIN_SECRET_LENGTH
        )
        self._pattern = _pattern(self.secrets)

    def __repr__(self) -> str:
        return f"<Redactor of {len(self.secrets)} secret(s)>"

    def __bool__(self) -> bool:
        return self._pattern is not None

    def text(self, text: str) -> str:
        """``text`` with every secret (in any of its spellings) replaced by :data:`MASK`."""
        if self._pattern is None or not text:
            return text
        return self._pattern.sub(MASK, text)

    def data(self, value: T) -> T:
        """``value`` with every string inside it masked; numbers and keys unchanged.

        Dicts (any mapping) come back as ``dict``, lists as lists, tuples as
        tuples; anything else is returned as it is (turn objects into their
        JSON form first). Without any secret to mask, ``value`` itself comes back.
        """
        if self._pattern is None:
            return value
        masked: T = self._walk(value)
        return masked

    def _walk(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if value is None or isinstance(value, bool | int | float):
            return value
        if isinstance(value, Mapping):
            return {key: self._walk(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self._walk(item) for item in value]
        if isinstance(value, tuple):
            return tuple(self._walk(item) for item in value)
        return value


def redact_text(text: str, secrets: Iterable[str]) -> str:
    """``text`` with each of ``secrets`` masked (see :meth:`Redactor.text`)."""
    return Redactor(secrets).text(text)


def redact_data(value: T, secrets: Iterable[str]) -> T:
    """``value`` with each of ``secrets`` masked in its strings (see :meth:`Redactor.data`)."""
    return Redactor(secrets).data(value)
