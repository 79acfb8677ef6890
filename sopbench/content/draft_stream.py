"""A draft's body as it streams from the LLM, append-only.

The LLM's raw text is cleaned for the platform before it is stored
(quotes and blank edges stripped, markdown the platform cannot show turned
into plain text, links handled, then fitted to the length limit with the
hashtags), and a cleaning step can change text already received: a ``**``
that closes later, a URL that eats the colon before it, a truncation with
an ellipsis. Yet a reviewer watching tokens arrive must end up looking at
exactly the stored draft. :class:`DraftStream` therefore passes on only
text that cleaning can no longer change:

* the last word is held until a space follows it, and a trailing run of
  spaces, colons and quotes until more text follows;
* from the first character some cleaning rule of the platform acts on
  (``*``, ``#``, ``|``, a link ...), the rest is held until the answer ends;
* so is everything past half the room the platform leaves for the body
  (a truncation cuts at a sentence or word end in the second half).

At the end the stored body is the cleaned text whenever what was passed on
is a prefix of it (always, for the cases above); if some rule still changed
earlier text, the body is what was passed on plus an ellipsis. Either way
the stored body equals the concatenation of the pieces passed on.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from sopbench.content.platforms import (
    ELLIPSIS,
    PlatformRules,
    apply_links,
    apply_markdown,
    fit,
    measure,
)

__all__ = ["DraftStream", "clean_text", "shape"]

_HOLD = " \t\r\n\"':"
"""Characters a later piece can still strip or swallow (an URL eats ``: `` before it)."""


def clean_text(text: str, rules: PlatformRules) -> str:
    """The LLM's answer as a post body for the platform (before fitting the length)."""
    return apply_links(apply_markdown(text.strip().strip('"').strip(), rules), rules)


def shape(text: str, hashtags: Sequence[str], rules: PlatformRules) -> tuple[str, list[str]]:
    """The stored body and hashtags of a whole answer."""
    return fit(clean_text(text, rules), list(hashtags), rules)


def _special(rules: PlatformRules) -> re.Pattern[str] | None:
    """What starts text that some cleaning rule of the platform rewrites."""
    parts = []
    if rules.markdown != "full":
        parts.append(r"(?:^|\n)\s*\|")  # a table
    if rules.markdown == "none":
        # emphasis, code and links anywhere; headings, quotes and bullets at a line start
        parts += [r"[*`\[]", r"__", r"(?:^|\n)\s{0,3}#", r"(?:^|\n)\s*(?:>|[-+]\s)"]
    if rules.links != "clickable":
        parts += [r"https?:", r"\["]
    return re.compile("|".join(parts)) if parts else None


def _live_limit(hashtags: Sequence[str], rules: PlatformRules) -> int:
    tags = list(hashtags)[: rules.max_hashtags]
    room = rules.max_length
    if tags:
        room -= measure("\n\n" + " ".join(tags), rules)
    return max(0, room // 2 - 8)


class DraftStream:
    """Feed it the LLM's pieces; it calls ``on_piece`` with stable body text.

    :meth:`finish` returns the body to store and its hashtags; the body is
    exactly the concatenation of every piece passed to ``on_piece``.
    """

    def __init__(
        self,
        rules: PlatformRules,
        hashtags: Sequence[str] = (),
        on_piece: Callable[[str], object] | None = None,
    ) -> None:
        self.rules = rules
        self.hashtags = list(hashtags)
        self.on_piece = on_piece
        self.raw = ""
        self.sent = ""
        self._held = False
        self._special = _special(rules)
        self._limit = _live_limit(self.hashtags, rules)

    def _send(self, piece: str) -> None:
        if piece:
            self.sent += piece
            if self.on_piece is not None:
                self.on_piece(piece)

    def feed(self, piece: str) -> None:
        """One more piece of the LLM's answer."""
        self.raw += piece
        if self._held or not piece:
            return
        if self._special is not None and self._special.search(self.raw):
            self._held = True  # the rest comes out once the answer is complete
            return
        words = clean_text(self.raw, self.rules)
        cut = max(words.rfind(" "), words.rfind("\n"))
        stable = words[: cut + 1].rstrip(_HOLD) if cut >= 0 else ""
        if measure(stable, self.rules) > self._limit or not stable.startswith(self.sent):
            self._held = True
            return
        self._send(stable[len(self.sent) :])

    def finish(self) -> tuple[str, list[str]]:
        """The body to store (== everything passed on) and the hashtags chosen."""
        body, tags = shape(self.raw, self.hashtags, self.rules)
        if not body.startswith(self.sent):
            # a rule rewrote text already shown: keep what the reviewer saw (it is
            # within half the room, so it fits with the hashtags)
            body = self.sent + ELLIPSIS
            tags = fit(body, self.hashtags, self.rules)[1]
        self._send(body[len(self.sent) :])
        return body, tags
