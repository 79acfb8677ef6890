"""The reviewers' dashboard as ipywidgets classes, one per page.

The Voilà notebooks in ``notebooks/dashboard/`` are one cell each
(``page("home")``); every page calls the same services as the CLI
(:mod:`sopbench.services`). Pages: home, entity, sop, calendar, content,
drafts, media, history, approvals, scheduler.
"""

from __future__ import annotations

from sopbench.ui.app import Page, page, page_class
from sopbench.ui.context import PageContext

__all__ = ["Page", "PageContext", "page", "page_class"]
