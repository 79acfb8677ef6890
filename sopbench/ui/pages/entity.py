"""Entity: one business (or the group), who serves it, its SOPs and recent runs.

``entity.ipynb?entity=saas`` shows one entity; without ``?entity=`` the page
lists them all.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import ipywidgets as widgets

from sopbench.errors import NotFound
from sopbench.model.workspace import Entity
from sopbench.services.workspace import list_sops, people_serving
from sopbench.suggest import did_you_mean
from sopbench.ui.app import Page
from sopbench.ui.widgets import Column, PageQuery, Table, esc, fmt_time, link

__all__ = ["PAGE", "EntityPage"]


def _items(values: Sequence[object]) -> str:
    return ", ".join(esc(v) for v in values) if values else "<i>none</i>"


class EntityPage(Page):
    name = "entity"
    title = "Entity"

    def build(self) -> list[widgets.Widget]:
        entity_id = self.ctx.param("entity")
        if entity_id is None:
            return self._all_entities()
        entities = self.ctx.entities()
        if entity_id not in entities:
            hint = did_you_mean(entity_id, entities).strip(" ()") or "Home lists the entities"
            raise NotFound(f"no entity with id '{entity_id}'", hint=hint)
        entity: Entity = entities[entity_id]
        return [
            self._profile(entity_id, entity),
            self._people(entity_id),
            self._sops(entity_id),
            self._runs(entity_id),
        ]

    # -- the list of entities ----------------------------------------------------------

    def _all_entities(self) -> list[widgets.Widget]:
        ctx = self.ctx
        sops = list_sops(ctx.workspace)
        rows = [
            {
                "entity": eid,
                "name": entity.name,
                "kind": entity.kind,
                "timezone": entity.timezone,
                "sops": sum(1 for s in sops if s.entity == eid),
            }
            for eid, entity in sorted(ctx.entities().items())
        ]
        table = Table(
            [
                Column(
                    "entity",
                    "Entity",
                    lambda r: link(ctx.link("entity", entity=r["entity"]), r["entity"]),
                ),
                Column("name", "Name"),
                Column("kind", "Kind"),
                Column("timezone", "Time zone"),
                Column("sops", "SOPs"),
            ],
            rows,
            empty="No entities: add them to sops/entities.yaml.",
            name="entities",
        )
        return [widgets.HTML("<h2>Entities</h2>"), table]

    # -- one entity --------------------------------------------------------------------

    def _profile(self, entity_id: str, entity: Entity) -> widgets.Widget:
        parts = [
            f"<h2>{esc(entity.name)} <small><code>{esc(entity_id)}</code></small></h2>",
            f"<p>{esc(entity.description or '')}</p>",
            "<table class='sb-facts'>",
            f"<tr><th>Kind</th><td>{esc(entity.kind)}</td></tr>",
            f"<tr><th>Time zone</th><td class='sb-timezone'>{esc(entity.timezone)}</td></tr>",
        ]
        if entity.members:
            members = ", ".join(link(self.ctx.link("entity", entity=m), m) for m in entity.members)
            parts.append(f"<tr><th>Members</th><td>{members}</td></tr>")
        platforms = entity.platforms
        parts.append(
            f"<tr><th>Platforms</th><td>primary: {_items(platforms.primary)}; "
            f"secondary: {_items(platforms.secondary)}</td></tr>"
        )
        channels = [
            f"{esc(name)} ({esc(ch.type)}{': ' + esc(', '.join(ch.to)) if ch.to else ''})"
            for name, ch in sorted(entity.channels.items())
        ]
        parts.append(f"<tr><th>Channels</th><td>{', '.join(channels) or '<i>none</i>'}</td></tr>")
        parts.append(f"<tr><th>Hashtags</th><td>{_items(entity.hashtags)}</td></tr>")
        parts.append("</table>")
        parts.append(self._voice_html(entity))
        view = widgets.HTML("".join(parts))
        view.add_class("sb-entity-profile")
        return view

    @staticmethod
    def _voice_html(entity: Entity) -> str:
        voice = entity.voice
        if voice is None:
            return "<h3>Voice</h3><p><i>No voice set: drafts use a neutral tone.</i></p>"
        samples = "".join(f"<li>{esc(s)}</li>" for s in voice.samples)
        return (
            "<div class='sb-voice'><h3>Voice</h3>"
            f"<p><b>Tone:</b> {esc(voice.tone)}</p>"
            f"<p><b>Use:</b> {_items(voice.use)}</p>"
            f"<p><b>Avoid:</b> {_items(voice.avoid)}</p>"
            f"{'<ul>' + samples + '</ul>' if samples else ''}</div>"
        )

    def _people(self, entity_id: str) -> widgets.Widget:
        rows = [
            {
                "person": pid,
                "name": p.name,
                "roles": ", ".join(p.roles),
                "email": p.email or "",
                "scope": "all entities" if "*" in p.entities else ", ".join(p.entities),
            }
            for pid, p in people_serving(self.ctx.workspace, entity_id)
        ]
        table = Table(
            [
                Column("name", "Name"),
                Column("person", "Id"),
                Column("roles", "Roles"),
                Column("email", "Email"),
                Column("scope", "Serves"),
            ],
            rows,
            empty="Nobody in sops/people.yaml serves this entity.",
            name="people",
        )
        return widgets.VBox([widgets.HTML("<h3>People</h3>"), table])

    def _sops(self, entity_id: str) -> widgets.Widget:
        ctx = self.ctx
        rows = [
            {
                "sop_id": s.sop_id,
                "name": s.name,
                "triggers": ", ".join(s.triggers),
                "steps": s.steps,
                "tags": ", ".join(s.tags),
            }
            for s in list_sops(ctx.workspace, entity=entity_id)
        ]
        table = Table(
            [
                Column(
                    "sop_id", "SOP", lambda r: link(ctx.link("sop", sop=r["sop_id"]), r["sop_id"])
                ),
                Column("name", "Name"),
                Column("triggers", "Triggers"),
                Column("steps", "Steps"),
                Column("tags", "Tags"),
            ],
            rows,
            empty="No SOPs for this entity yet.",
            name="sops",
        )
        return widgets.VBox([widgets.HTML(f"<h3>SOPs ({len(rows)})</h3>"), table])

    def _runs(self, entity_id: str) -> widgets.Widget:
        ctx = self.ctx

        def source(query: PageQuery) -> tuple[list[dict[str, Any]], int]:
            return ctx.runs.runs_page(
                entity=entity_id,
                text=query.text,
                offset=query.offset,
                limit=query.limit,
                sort=query.sort,
                descending=query.descending if query.sort else True,
            )

        table = Table(
            [
                Column(
                    "run_id",
                    "Run id",
                    lambda r: link(ctx.link("history", run=r["run_id"]), r["run_id"]),
                ),
                Column(
                    "sop_id", "SOP", lambda r: link(ctx.link("sop", sop=r["sop_id"]), r["sop_id"])
                ),
                Column("status", "Status"),
                Column("dry_run", "Dry run", lambda r: "yes" if r["dry_run"] else ""),
                Column("started_by", "Started by"),
                Column("created_at", "Started", lambda r: esc(fmt_time(r["created_at"]))),
            ],
            source=source,
            page_size=10,
            empty="No runs yet. Start one from a SOP page.",
            name="entity-runs",
        )
        more = link(ctx.link("history", entity=entity_id), "all runs of this entity in History")
        return widgets.VBox([widgets.HTML(f"<h3>Recent runs</h3><p>{more}</p>"), table])


PAGE = EntityPage
