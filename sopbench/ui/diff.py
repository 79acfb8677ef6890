"""A word-level diff of two texts as HTML (``.sb-diff`` with ``add`` / ``del`` spans).

Reviewers compare a draft's revisions: whole-line diffs hide a changed word in
a long paragraph, so the texts are split into words and the whitespace between
them, and every run of changed words is marked. Both texts are data: they are
escaped, never rendered as HTML or templates.
"""

from __future__ import annotations

import difflib
import html
import re

__all__ = ["diff_html", "diff_stats"]

_TOKEN = re.compile(r"\s+|\S+\s*")  # a word keeps the space after it


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


Ops = list[tuple[str, int, int, int, int]]


def _ops(old: str, new: str) -> tuple[list[str], list[str], Ops]:
    a, b = _tokens(old), _tokens(new)
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    return a, b, [(tag, i1, i2, j1, j2) for tag, i1, i2, j1, j2 in matcher.get_opcodes()]


def diff_html(old: str, new: str) -> str:
    """``old`` → ``new``: kept words plain, removed in ``<span class="del">``,
    added in ``<span class="add">``; newlines kept (``white-space: pre-wrap``)."""
    a, b, ops = _ops(old, new)
    parts: list[str] = []
    for tag, i1, i2, j1, j2 in ops:
        if tag == "equal":
            parts.append(html.escape("".join(a[i1:i2])))
            continue
        if tag in ("delete", "replace"):
            parts.append(f'<span class="del">{html.escape("".join(a[i1:i2]))}</span>')
        if tag in ("insert", "replace"):
            parts.append(f'<span class="add">{html.escape("".join(b[j1:j2]))}</span>')
    return '<div class="sb-diff" style="white-space:pre-wrap">' + "".join(parts) + "</div>"


def diff_stats(old: str, new: str) -> tuple[int, int]:
    """(words added, words removed) from ``old`` to ``new``."""
    a, b, ops = _ops(old, new)
    added = removed = 0
    for tag, i1, i2, j1, j2 in ops:
        if tag in ("delete", "replace"):
            removed += sum(1 for t in a[i1:i2] if not t.isspace())
        if tag in ("insert", "replace"):
            added += sum(1 for t in b[j1:j2] if not t.isspace())
    return added, removed
