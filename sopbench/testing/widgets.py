"""Find and read ipywidgets in a page tree, for tests and notebooks.

Widgets work without a browser: ``button.click()`` runs the handlers
in-process, so a page can be driven exactly as a reviewer would, and its
visible text read back with :func:`text_of`.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import Any

import ipywidgets as widgets

__all__ = ["button", "find_all", "text_of", "walk"]

_TAG = re.compile(r"<[^>]+>")
_STYLE = re.compile(r"<style>.*?</style>", re.DOTALL)
_SPACES = re.compile(r"[ \t]+")


def walk(root: Any) -> Iterator[Any]:
    """Every widget under ``root`` (depth first, ``root`` included)."""
    yield root
    for child in getattr(root, "children", ()) or ():
        yield from walk(child)


def find_all(
    root: Any, kind: type | None = None, *, css: str | None = None, text: str | None = None
) -> list[Any]:
    """Widgets of ``kind`` with CSS class ``css`` whose description/value contains ``text``."""
    found = []
    for item in walk(root):
        if kind is not None and not isinstance(item, kind):
            continue
        if css is not None and css not in getattr(item, "_dom_classes", ()):
            continue
        if text is not None and text not in _label(item):
            continue
        found.append(item)
    return found


def button(root: Any, label: str, *, index: int = 0) -> Any:
    """The ``index``-th enabled-or-not Button whose label contains ``label``."""
    buttons = find_all(root, widgets.Button, text=label)
    if len(buttons) <= index:
        labels = sorted({b.description for b in find_all(root, widgets.Button)})
        raise LookupError(f"no button {label!r} (#{index}); buttons: {labels}")
    return buttons[index]


def text_of(root: Any) -> str:
    """The visible text of a widget tree (HTML stripped, entities decoded)."""
    parts = []
    for item in walk(root):
        label = _label(item)
        if label:
            parts.append(label)
    return "\n".join(parts)


def _label(item: Any) -> str:
    if isinstance(item, widgets.Button):
        return str(item.description)
    if isinstance(item, widgets.HTML | widgets.Label | widgets.HTMLMath):
        visible = _TAG.sub(" ", _STYLE.sub("", str(item.value)))
        return _SPACES.sub(" ", html.unescape(visible)).strip()
    return ""
