"""Zoho CRM search criteria, parsed and matched the way the double needs.

``((Last_Name:equals:Burns) and (Email:starts_with:b)) or (Stage:in:A,B)``:
conditions ``field:operator:value`` in parentheses, joined by ``and`` /
``or`` (``and`` binds tighter), with ``\\(``, ``\\)`` and ``\\,`` escaping
those characters in values and commas separating the values of ``in`` and
``between``. A text that does not parse raises :class:`ValueError`, which
the search handler answers with Zoho's ``INVALID_QUERY``. Kept apart from
the server because it is a small language of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["OPERATORS", "CriteriaNode", "CriteriaParser", "parse_criteria"]

OPERATORS = {
    "equals",
    "not_equal",
    "starts_with",
    "in",
    "greater_equal",
    "greater_than",
    "less_equal",
    "less_than",
    "between",
}


class CriteriaNode:
    """One condition (``cond``) or an ``and``/``or`` of children."""

    def __init__(
        self,
        op: str,
        children: list[CriteriaNode] | None = None,
        cond: tuple[str, str, str] | None = None,
    ) -> None:
        self.op, self.children, self.cond = op, children or [], cond

    def count(self) -> int:
        return 1 if self.cond else sum(c.count() for c in self.children)

    def test(self, record: Mapping[str, Any], contains: bool) -> bool:
        if self.cond is not None:
            return _compare(record.get(self.cond[0]), self.cond[1], self.cond[2], contains)
        if self.op == "and":
            return all(c.test(record, contains) for c in self.children)
        return any(c.test(record, contains) for c in self.children)


class CriteriaParser:
    """``((f:op:v) and (f:op:v)) or (f:op:v)`` with ``\\(``, ``\\)``, ``\\,`` escapes."""

    def __init__(self, text: str) -> None:
        self.text, self.pos = text.strip(), 0

    def parse(self) -> CriteriaNode:
        node = self._expr()
        if self.pos != len(self.text):
            raise ValueError(f"unexpected text at {self.pos}")
        return node

    def _skip(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] == " ":
            self.pos += 1

    def _expr(self) -> CriteriaNode:
        nodes = [self._term()]
        ops: list[str] = []
        while True:
            self._skip()
            rest = self.text[self.pos :].lower()
            if rest.startswith("and"):
                ops.append("and")
                self.pos += 3
            elif rest.startswith("or"):
                ops.append("or")
                self.pos += 2
            else:
                break
            nodes.append(self._term())
        if not ops:
            return nodes[0]
        # and binds tighter than or
        groups: list[list[CriteriaNode]] = [[nodes[0]]]
        for op, node in zip(ops, nodes[1:], strict=True):
            if op == "and":
                groups[-1].append(node)
            else:
                groups.append([node])
        ors = [g[0] if len(g) == 1 else CriteriaNode("and", g) for g in groups]
        return ors[0] if len(ors) == 1 else CriteriaNode("or", ors)

    def _term(self) -> CriteriaNode:
        self._skip()
        if self.pos >= len(self.text) or self.text[self.pos] != "(":
            raise ValueError(f"expected '(' at {self.pos}")
        self.pos += 1
        self._skip()
        if self.pos < len(self.text) and self.text[self.pos] == "(":
            node = self._expr()
        else:
            node = self._condition()
        self._skip()
        if self.pos >= len(self.text) or self.text[self.pos] != ")":
            raise ValueError(f"expected ')' at {self.pos}")
        self.pos += 1
        return node

    def _condition(self) -> CriteriaNode:
        chars: list[str] = []
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            if ch == "\\" and self.pos + 1 < len(self.text):
                chars.append("\x00" + self.text[self.pos + 1])
                self.pos += 2
                continue
            if ch == ")":
                break
            if ch == "(":
                raise ValueError(f"unescaped '(' at {self.pos}")
            chars.append(ch)
            self.pos += 1
        raw = "".join(chars)
        field_name, _, rest = raw.partition(":")
        op, _, value = rest.partition(":")
        if not field_name or op not in OPERATORS:
            raise ValueError(f"bad condition {raw.replace(chr(0), '')!r}")
        return CriteriaNode("cond", cond=(field_name.strip(), op, value))


def parse_criteria(text: str) -> CriteriaNode:
    """The tree of a criteria text; :class:`ValueError` when it does not parse."""
    return CriteriaParser(text).parse()


def _values(value: str) -> list[str]:
    """Split on unescaped commas, then unescape."""
    parts: list[str] = []
    current: list[str] = []
    i = 0
    while i < len(value):
        if value[i] == "\x00":
            current.append(value[i + 1])
            i += 2
            continue
        if value[i] == ",":
            parts.append("".join(current))
            current = []
        else:
            current.append(value[i])
        i += 1
    parts.append("".join(current))
    return parts


def _compare(actual: Any, op: str, raw: str, contains: bool) -> bool:
    values = _values(raw)
    value = values[0]
    if isinstance(actual, dict):
        actual = actual.get("id") or actual.get("name")
    text = "" if actual is None else str(actual)
    if op == "equals":
        if contains:
            return value.lower() in text.lower() if value else not text
        return text.lower() == value.lower()
    if op == "not_equal":
        return text.lower() != value.lower()
    if op == "starts_with":
        return text.lower().startswith(value.lower())
    if op == "in":
        return text.lower() in {v.lower() for v in values}
    try:
        number: Any = float(text)
        bounds: list[Any] = [float(v) for v in values]
    except ValueError:
        number, bounds = text, values
    if op == "greater_equal":
        return bool(number >= bounds[0])
    if op == "greater_than":
        return bool(number > bounds[0])
    if op == "less_equal":
        return bool(number <= bounds[0])
    if op == "less_than":
        return bool(number < bounds[0])
    if op == "between" and len(bounds) == 2:
        return bool(bounds[0] <= number <= bounds[1])
    return False
