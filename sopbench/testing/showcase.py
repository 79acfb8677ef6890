"""The README's dashboard screenshots, made the way the browser tests see the pages.

``python -m sopbench.testing.showcase docs/screenshots`` starts the dashboard
over a throwaway copy of the bundled workspace (SQLite, sandbox doubles),
creates some work through the services (runs waiting on tasks, drafts in
review, a failed run, media requests), signs in as the owner and saves
1280x800 PNGs of the main pages (the browser tests save every page under
``test-artifacts/screenshots/``).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sopbench.config import Settings
from sopbench.testing.live import LiveDashboard, live_dashboard

if TYPE_CHECKING:
    from playwright.sync_api import ViewportSize

__all__ = ["Seeded", "main", "seed", "take_screenshots"]

VIEWPORT: ViewportSize = {"width": 1280, "height": 800}
_STARTS = (  # (SOP, who starts it): each stops at a task, a review or a failure
    ("saas_incident_update", "theo"),
    ("cs_tournament_event", "marco"),
    ("gov_hiring_post", "dana"),
    ("cs_new_arrivals", "jess"),
    ("xe_cross_promotion", "olivia"),
    ("saas_feature_release", "ana"),
)
_VIDEO_PROMPT = "saas_business_plan_sso"
_IMAGE_PROMPT = "saas_asset_tracking_audit"


@dataclass
class Seeded:
    """Ids of the work :func:`seed` created, for the detail pages."""

    runs: list[str] = field(default_factory=list)
    task: str | None = None
    draft: str | None = None
    media: str | None = None


def seed(settings: Settings) -> Seeded:
    """Runs, drafts, tasks and media requests, created through the services."""
    from sopbench.services.content import ContentService
    from sopbench.services.media import MediaDesk
    from sopbench.services.runs import RunService

    runs = RunService(settings)
    content = ContentService(settings, runs=runs)
    desk = MediaDesk(settings, workspace=runs.workspace, database=runs.db)
    out = Seeded()
    try:
        for sop_id, person in _STARTS:
            example = runs.workspace.sop(sop_id).examples
            out.runs.append(
                runs.start(sop_id, example[0] if example else {}, started_by=person).run.id
            )
        # the incident's drafts pass review, so its run waits on the approval
        for draft in content.drafts.find(run_id=out.runs[0]):
            content.approve(draft.id, person="priya")
        tasks = [t for t in runs.tasks() if t.kind == "approval"]
        out.task = tasks[0].id if tasks else None
        in_review = content.list_drafts(status="in_review")
        out.draft = in_review[0].id if in_review else None
        done = desk.request(_VIDEO_PROMPT, by="sam")
        desk.approve(done.id, by="priya")
        for _ in range(20):
            if desk.poll(done.id)[0].done:
                break
            time.sleep(0.5)
        desk.request(_IMAGE_PROMPT, by="ana")  # waits for approval
        out.media = done.id
    finally:
        desk.close()
        runs.close()
    return out


def _shots(seeded: Seeded) -> list[tuple[str, str, dict[str, str]]]:
    """(file name, page, query) of every screenshot: the README's main pages."""
    shots = [
        ("home", "home", {}),
        ("approvals", "approvals", {}),
        ("drafts", "drafts", {}),
        ("sop", "sop", {"sop": "cs_tournament_event"}),
        ("history", "history", {}),
    ]
    if seeded.task:
        shots.append(("approval-task", "approvals", {"task": seeded.task}))
    if seeded.draft:
        shots.append(("draft", "drafts", {"draft": seeded.draft}))
    if seeded.media:
        shots.append(("media-request", "media", {"request": seeded.media}))
    return shots


def take_screenshots(
    live: LiveDashboard, seeded: Seeded, folder: Path, *, person: str
) -> list[Path]:
    """Sign in as ``person`` and save a PNG of every page into ``folder``."""
    from playwright.sync_api import sync_playwright

    from sopbench.testing.browser import admit, launch, open_page, sign_in

    folder.mkdir(parents=True, exist_ok=True)
    saved: list[Path] = []
    with sync_playwright() as pw:
        browser = launch(pw)
        try:
            context = browser.new_context(viewport=VIEWPORT)
            context.set_default_timeout(120_000)
            admit(context, live.server.base_url, live.server.token)
            page = context.new_page()
            open_page(page, live.url("approvals", token=False))
            sign_in(page, person, live.codes[person])
            for name, page_name, query in _shots(seeded):
                open_page(page, live.url(page_name, token=False, **query))
                page.wait_for_load_state("networkidle")
                page.wait_for_timeout(300)  # let widget layout settle
                target = folder / f"{name}.png"
                page.screenshot(path=str(target))
                saved.append(target)
        finally:
            browser.close()
    return saved


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("folder", type=Path, help="where the PNGs go (e.g. docs/screenshots)")
    parser.add_argument("--as", dest="person", default="olivia", help="who signs in")
    args = parser.parse_args(argv)
    from sopbench.resources import bundled

    with tempfile.TemporaryDirectory(prefix="sopbench-showcase-") as tmp:
        with live_dashboard(Path(tmp) / "home", sops=bundled("sops")) as live:
            seeded = seed(live.settings)
            for path in take_screenshots(live, seeded, args.folder, person=args.person):
                print(f"{path}  {path.stat().st_size // 1024} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
