"""Media: browse the prompt library, request an image or video, approve it, watch the job.

``media.ipynb`` shows the prompt browser (filters: kind, entity, service,
tag, text), the selected prompt (``?prompt=ID``) with its request form, and
the requests table with a status filter; ``?request=ID`` shows one request:
its approval, the job's progress (Refresh polls it once) and the asset.

Every change goes through :class:`~sopbench.services.media.MediaDesk`, the
service ``sopbench media`` uses: the requester is the signed-in person, a
paid job needs the approval of someone else with the role, and refusals are
shown as they are worded there.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets

from sopbench.errors import InputError
from sopbench.services.media import MediaDesk, Prompt, cost_class
from sopbench.ui.app import Page
from sopbench.ui.context import PageContext
from sopbench.ui.pages._media_prompt import PromptDetail
from sopbench.ui.pages._media_request import MediaRequestDetail, request_row
from sopbench.ui.widgets import Column, RowAction, Table, esc, fmt_time, link

__all__ = ["PAGE", "REQUEST_STATUSES", "MediaPage"]

REQUEST_STATUSES = (
    "requested",
    "approved",
    "starting",
    "running",
    "succeeded",
    "failed",
    "rejected",
)


class MediaPage(Page):
    name = "media"
    title = "Media request"

    def __init__(self, ctx: PageContext) -> None:
        # set before the frame renders (Page.__init__ calls build())
        self.request_id: str | None = ctx.param("request")
        self.prompt_id: str | None = ctx.param("prompt")
        self.request_status = ctx.param("status") or ""
        super().__init__(ctx)

    @property
    def desk(self) -> MediaDesk:
        return self.ctx.media

    def build(self) -> list[widgets.Widget]:
        if self.request_id:
            back = widgets.Button(description="< Media", layout={"width": "100px"})
            back.add_class("sb-back")
            back.on_click(lambda _: self.show_request(None))
            return [back, MediaRequestDetail(self, self.request_id)]
        chosen: list[widgets.Widget] = []
        if self.prompt_id:
            chosen = [PromptDetail(self, self.desk.media.library.get(self.prompt_id))]
        return [
            *chosen,  # first: a prompt opened from a link or Select is what the reviewer wants
            widgets.HTML("<h2>Media prompts</h2>"),
            self._browser(),
            widgets.HTML("<h2>Media requests</h2>"),
            self._requests(),
        ]

    # -- navigation and actions --------------------------------------------------------

    def show_request(self, request_id: str | None) -> None:
        self.request_id = request_id
        self.messages.children = []
        self.render()

    def select_prompt(self, prompt_id: str) -> None:
        self.prompt_id = prompt_id
        self.messages.children = []
        self.render()

    def request(self, prompt_id: str, overrides: dict[str, Any]) -> None:
        def action() -> str:
            person = self.ctx.require_person()
            view = self.desk.request(prompt_id, by=person, overrides=overrides)
            self.request_id = view.id
            return (
                f"Requested {view.id} ({view.cost_class} cost); it waits for approval by "
                "another manager or owner of the entity."
            )

        self.act(action)

    def approve(self, request_id: str) -> None:
        def action() -> str:
            person = self.ctx.require_person()
            view = self.desk.approve(request_id, by=person)
            self.request_id = request_id
            return f"Approved by {self.ctx.person_name(person)}; the job is {view.status}."

        self.act(action)

    def reject(self, request_id: str, reason: str | None = None) -> None:
        def action() -> str:
            person = self.ctx.require_person()
            self.desk.reject(request_id, by=person, reason=reason)
            return f"Rejected by {self.ctx.person_name(person)}; no job runs."

        self.act(action)

    def poll(self, request_id: str) -> None:
        def action() -> str:
            (view,) = self.desk.poll(request_id)
            if view.status == "succeeded":
                return "The job succeeded; the asset is below."
            if view.status == "failed":
                raise InputError(f"the job failed: {view.error}")
            return f"The job is {view.status}."

        self.act(action)

    # -- the prompt browser ------------------------------------------------------------

    def _browser(self) -> widgets.Widget:
        library = self.desk.media.library
        services = library.services
        entities = sorted({s.entity for s in services.values()})
        names = {eid: e.name for eid, e in self.ctx.entities().items()}
        tags = sorted(
            {t for p in library.prompts.values() for t in p.tags}
            | {t for s in services.values() for t in s.tags}
        )
        kind = widgets.Dropdown(
            options=[("Images and videos", ""), ("Canva images", "canva"), ("Sora videos", "sora")],
            description="Kind",
        )
        entity = widgets.Dropdown(
            options=[("All entities", "")] + [(names.get(e, e), e) for e in entities],
            value=self.ctx.param("entity") if self.ctx.param("entity") in entities else "",
            description="Entity",
        )
        service = widgets.Dropdown(
            options=[("All services", ""), *sorted((s.name, sid) for sid, s in services.items())],
            description="Service",
        )
        tag = widgets.Dropdown(
            options=[("All tags", ""), *[(t, t) for t in tags]], description="Tag"
        )
        search = widgets.Text(placeholder="words in the prompt…", description="Search")
        for box, css in ((kind, "kind"), (entity, "entity"), (service, "service"), (tag, "tag")):
            box.add_class(f"sb-prompt-{css}")
        search.add_class("sb-prompt-search")
        holder = widgets.VBox()

        def show(_: object = None) -> None:
            found = library.filter(
                entity=entity.value or None,
                service=service.value or None,
                kind=kind.value or None,
                search=search.value.strip() or None,
            )
            if tag.value:
                found = [p for p in found if tag.value in {*p.tags, *services[p.service].tags}]
            holder.children = [self._prompt_table(found)]

        for box in (kind, entity, service, tag, search):
            box.observe(show, names="value")
        show()
        counts = f"{len(library.canva())} Canva image and {len(library.sora())} Sora video prompts"
        return widgets.VBox(
            [
                widgets.HTML(f"<p>{counts} for {len(services)} services.</p>"),
                widgets.HBox([kind, entity, service]),
                widgets.HBox([tag, search]),
                holder,
            ]
        )

    def _prompt_table(self, prompts: list[Prompt]) -> Table:
        library = self.desk.media.library
        rows = [
            {
                "id": p.id,
                "kind": p.kind,
                "entity": library.entity_of(p),
                "service": library.services[p.service].name,
                "format": p.format,
                "cost": cost_class(p),
                "title": p.title,
            }
            for p in prompts
        ]
        ctx = self.ctx
        return Table(
            [
                Column("id", "Prompt", lambda r: link(ctx.link("media", prompt=r["id"]), r["id"])),
                Column("kind", "Kind"),
                Column("entity", "Entity"),
                Column("service", "Service"),
                Column("format", "Format"),
                Column("cost", "Cost"),
                Column("title", "Title"),
            ],
            rows,
            actions=[RowAction("Select", lambda r: self.select_prompt(str(r["id"])))],
            page_size=15,
            empty="No prompt matches these filters.",
            name="prompts",
        )

    # -- the requests -------------------------------------------------------------------

    def _requests(self) -> widgets.Widget:
        status = widgets.Dropdown(
            options=[("All statuses", "")] + [(s, s) for s in REQUEST_STATUSES],
            value=self.request_status if self.request_status in REQUEST_STATUSES else "",
            description="Status",
        )
        status.add_class("sb-request-status-filter")
        holder = widgets.VBox()

        def show(_: object = None) -> None:
            self.request_status = status.value
            found = self.desk.list_requests(status=status.value or None, limit=500)
            holder.children = [self._request_table([request_row(v) for v in found])]

        status.observe(show, names="value")
        show()
        return widgets.VBox([status, holder])

    def _request_table(self, rows: list[dict[str, Any]]) -> Table:
        ctx = self.ctx
        signed_in = ctx.person is not None

        def undecided(row: Any) -> bool:
            return signed_in and row["status"] == "requested"

        return Table(
            [
                Column(
                    "id", "Request id", lambda r: link(ctx.link("media", request=r["id"]), r["id"])
                ),
                Column("entity", "Entity"),
                Column("kind", "Kind"),
                Column("title", "Prompt"),
                Column("status", "Status"),
                Column("cost_class", "Cost"),
                Column("requested_by", "By", lambda r: esc(ctx.person_name(r["requested_by"]))),
                Column("created_at", "Asked", lambda r: esc(fmt_time(r["created_at"]))),
            ],
            rows,
            actions=[
                RowAction("Open", lambda r: self.show_request(str(r["id"]))),
                RowAction("Approve", lambda r: self.approve(str(r["id"])), "success", undecided),
                RowAction("Reject", lambda r: self.reject(str(r["id"])), "danger", undecided),
            ],
            page_size=15,
            empty="No media requests yet: select a prompt above and request it.",
            name="media-requests",
        )


PAGE = MediaPage
