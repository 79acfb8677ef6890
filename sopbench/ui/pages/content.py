"""Content: drafts per entity and status, recent posts, templates and LLM prompts.

An overview that links into the Drafts page (``drafts.ipynb?status=…&entity=…``).
Counts come from one grouped query, posts from one indexed query, and the
templates and SOP steps from the already loaded workspace, so the page stays
fast however many drafts there are.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets

from sopbench.model.steps import ContentGenerateParams
from sopbench.services.content import get_platform, templates_of
from sopbench.ui.app import Page
from sopbench.ui.pages.drafts import STATUSES
from sopbench.ui.widgets import Column, Table, esc, fmt_time, link

__all__ = ["PAGE", "ContentPage"]


class ContentPage(Page):
    name = "content"
    title = "Content"

    def build(self) -> list[widgets.Widget]:
        return [
            widgets.HTML("<h2>Content</h2>"),
            self._counts(),
            self._posts(),
            self._entities(),
            self._templates(),
        ]

    # -- drafts by entity and status --------------------------------------------------------

    def _counts(self) -> widgets.Widget:
        ctx = self.ctx
        counts = ctx.content.status_counts()
        names = {eid: e.name for eid, e in ctx.entities().items()}
        entity_ids = sorted(set(names) | {e for e, _ in counts})
        head = "".join(f"<th>{esc(s.replace('_', ' '))}</th>" for s in STATUSES)
        rows = []
        for eid in entity_ids:
            cells = []
            for status in STATUSES:
                n = counts.get((eid, status), 0)
                href = ctx.link("drafts", status=status, entity=eid)
                cells.append(f"<td align=right>{link(href, n) if n else '·'}</td>")
            total = sum(counts.get((eid, s), 0) for s in STATUSES)
            all_href = ctx.link("drafts", status="all", entity=eid)
            rows.append(
                f"<tr><th align=left>{esc(names.get(eid, eid))}</th>{''.join(cells)}"
                f"<td align=right><b>{link(all_href, total)}</b></td></tr>"
            )
        waiting = sum(n for (_, s), n in counts.items() if s == "in_review")
        summary = (
            f"<p>{link(ctx.link('drafts', status='in_review'), f'{waiting} draft(s) in review')}"
            "</p>"
        )
        table = (
            f'<table class="sb-counts" cellpadding=4><tr><th></th>{head}<th>all</th></tr>'
            f"{''.join(rows)}</table>"
        )
        box = widgets.HTML("<h3>Drafts by entity and status</h3>" + summary + table)
        box.add_class("sb-content-counts")
        return box

    # -- recent posts ------------------------------------------------------------------------

    def _posts(self) -> widgets.Widget:
        ctx = self.ctx
        rows = [
            {
                "id": d.id,
                "platform": get_platform(d.platform).name,
                "entity": d.entity,
                "status": d.status,
                "updated_at": d.updated_at,
                "post_id": d.post_id or "",
                "text": _short(d.text),
            }
            for d in ctx.content.recent_posts(limit=20)
        ]
        table = Table(
            [
                Column("updated_at", "When", lambda r: esc(fmt_time(r["updated_at"]))),
                Column("platform", "Platform"),
                Column("entity", "Entity"),
                Column("status", "Status"),
                Column("post_id", "Post id", lambda r: f"<code>{esc(r['post_id'])}</code>"),
                Column(
                    "text",
                    "Draft",
                    lambda r: link(ctx.link("drafts", draft=r["id"]), r["text"]),
                    sortable=False,
                ),
            ],
            rows,
            page_size=10,
            empty="Nothing published yet.",
            name="posts",
        )
        return widgets.VBox([widgets.HTML("<h3>Recent posts</h3>"), table])

    # -- per entity: voice, platforms, what writes content -------------------------------

    def _entities(self) -> widgets.Widget:
        sources = self._sources()
        cards = []
        for eid, entity in sorted(self.ctx.entities().items()):
            voice = entity.voice.tone if entity.voice else "no voice profile"
            platforms = ", ".join(entity.platforms.primary) or "-"
            extra = ", ".join(entity.platforms.secondary)
            mine = sources.get(eid, [])
            items = "".join(f"<li>{item}</li>" for item in mine) or "<li><i>none</i></li>"
            review = link(
                self.ctx.link("drafts", status="in_review", entity=eid), "drafts in review"
            )
            cards.append(
                f'<div class="sb-card sb-content-entity"><h4>{esc(entity.name)}</h4>'
                f"<div>Voice: {esc(voice)}</div>"
                f"<div>Platforms: {esc(platforms)}{' (also ' + esc(extra) + ')' if extra else ''}"
                f"</div><div>{review}</div><div>Content steps:</div><ul>{items}</ul></div>"
            )
        box = widgets.HTML(
            "<h3>By entity: voice and the SOP steps that write drafts</h3>"
            '<div style="display:flex;flex-wrap:wrap">' + "".join(cards) + "</div>"
        )
        box.add_class("sb-content-entities")
        return box

    def _sources(self) -> dict[str, list[str]]:
        """Per entity, each content_generate step: its template or its LLM prompt."""
        found: dict[str, list[str]] = {}
        for sop_id, sop in sorted(self.ctx.workspace.sops.items()):
            for path, step in sop.walk():
                params = step.params
                if not isinstance(params, ContentGenerateParams):
                    continue
                where = link(self.ctx.link("sop", sop=sop_id), f"{sop_id}.{path}")
                platforms = esc(", ".join(params.platforms))
                if params.template:
                    what = f"template <code>{esc(params.template)}</code>"
                else:
                    prompt = params.prompt or ""
                    what = f'LLM prompt <i title="{esc(prompt)}">“{esc(_short(prompt, 60))}”</i>'
                review = " · review" if params.review == "wait" else ""
                found.setdefault(sop.entity, []).append(f"{where}: {what} → {platforms}{review}")
        return found

    # -- content templates --------------------------------------------------------------------

    def _templates(self) -> widgets.Widget:
        library = templates_of(self.ctx.workspace.home)
        rows: list[dict[str, Any]] = []
        for name in library.names():
            template = library.templates[name]
            meta = template.meta
            variables = [f"{v}*" if s.required else v for v, s in meta.variables.items()]
            voices = sorted(v for v in meta.voices if v != "default")
            rows.append(
                {
                    "name": name,
                    "description": meta.description,
                    "variables": ", ".join(variables),
                    "styles": ", ".join(sorted(template.blocks)),
                    "hashtags": " ".join(meta.hashtags),
                    "voices": ", ".join(voices) or "default only",
                }
            )
        table = Table(
            [
                Column("name", "Template"),
                Column("description", "What it is for", sortable=False),
                Column("variables", "Variables (* required)", sortable=False),
                Column("styles", "Styles", sortable=False),
                Column("voices", "Entity voices", sortable=False),
            ],
            rows,
            page_size=20,
            empty="No templates in sops/templates/.",
            name="templates",
        )
        problems = "".join(f"<li>{esc(p)}</li>" for p in library.problems)
        warn = widgets.HTML(f'<ul class="sb-notice sb-warn">{problems}</ul>' if problems else "")
        head = widgets.HTML(
            f"<h3>Content templates ({len(rows)})</h3><p>Templates need no LLM; a SOP's "
            "content_generate step names one with <code>template:</code>, or writes "
            "an LLM <code>prompt:</code> in the entity's voice instead.</p>"
        )
        return widgets.VBox([head, warn, table])


def _short(text: str, width: int = 70) -> str:
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 1] + "…"


PAGE = ContentPage
