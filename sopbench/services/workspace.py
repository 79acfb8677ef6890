"""Workspace services: create, open, validate and list.

:class:`~sopbench.library.Workspace` is exported from here for the faces, which
read what the library loaded but never call the library themselves.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from sopbench.config import Settings
from sopbench.errors import ConfigError
from sopbench.library import Workspace, load_workspace
from sopbench.model.workspace import Person
from sopbench.resources import bundled

__all__ = [
    "InitReport",
    "SopSummary",
    "Workspace",
    "database_shown",
    "init_workspace",
    "list_sops",
    "open_workspace",
    "people_serving",
    "validate_workspace",
]

_REPORTS_README = (
    "# reports/\n\nExecuted report notebooks land here, one per run, as\n"
    "`reports/<YYYY>/<MM>/<DD>/<entity>/<sop_id>--<run_id>.ipynb` plus an HTML export.\n"
)


@dataclass
class InitReport:
    """What ``sopbench init`` did."""

    home: Path
    copied: list[str] = field(default_factory=list)
    database: str = ""
    workspace: Workspace | None = None


def _copy_if_missing(source: Path, target: Path, report: InitReport) -> None:
    if target.exists():
        return
    if not source.is_dir():
        raise ConfigError(f"the bundled {source.name}/ folder is missing from this installation")
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", ".*"))
    report.copied.append(target.name)


def database_shown(settings: Settings) -> str:
    """The workspace's database URL as it may be shown (the password hidden)."""
    from sopbench.store.db import display_url  # SQLAlchemy only when it is needed

    return display_url(settings.db_url)


def init_workspace(settings: Settings) -> InitReport:
    """Create (or bring up to date) a workspace at ``settings.home``.

    Copies the bundled reference ``sops/`` and ``notebooks/`` when the home has
    none (existing files are never overwritten), creates ``reports/`` and the
    state folder, and creates or upgrades the database.
    """
    from sopbench.store import open_database

    report = InitReport(home=settings.home)
    settings.home.mkdir(parents=True, exist_ok=True)
    _copy_if_missing(bundled("sops"), settings.sops_dir, report)
    _copy_if_missing(bundled("notebooks"), settings.notebooks_dir, report)
    settings.reports_dir.mkdir(exist_ok=True)
    readme = settings.reports_dir / "README.md"
    if not readme.exists():
        readme.write_text(_REPORTS_README, encoding="utf-8")
    settings.state_dir.mkdir(exist_ok=True)
    database = open_database(settings)
    try:
        report.database = database.display_url
    finally:
        database.dispose()
    report.workspace = load_workspace(settings.home)
    return report


def open_workspace(settings: Settings) -> Workspace:
    """The workspace at ``settings.home``: its valid parts, and its problems."""
    return load_workspace(settings.home)


def validate_workspace(settings: Settings) -> Workspace:
    """Load and check every file; the workspace carries its problems."""
    return load_workspace(settings.home)


@dataclass(frozen=True)
class SopSummary:
    sop_id: str
    entity: str
    name: str
    tags: list[str]
    triggers: list[str]
    steps: int
    step_types: list[str]
    path: str


def _trigger_text(trigger: object) -> str:
    schedule = getattr(trigger, "schedule", None)
    if schedule is not None:
        return f"cron '{schedule.cron}' {schedule.timezone}"
    event = getattr(trigger, "event", None)
    return f"event {event}" if event else "manual"


def list_sops(
    workspace: Workspace, *, entity: str | None = None, tag: str | None = None
) -> list[SopSummary]:
    """Valid SOPs, optionally of one entity or with one tag, sorted by entity then id."""
    rows = []
    for sop in workspace.sops.values():
        if entity and sop.entity != entity:
            continue
        if tag and tag not in sop.tags:
            continue
        walked = sop.walk()
        rows.append(
            SopSummary(
                sop_id=sop.sop_id,
                entity=sop.entity,
                name=sop.name,
                tags=list(sop.tags),
                triggers=[_trigger_text(t) for t in sop.triggers] or ["manual"],
                steps=len(walked),
                step_types=sorted({step.type for _, step in walked}),
                path=sop.path,
            )
        )
    return sorted(rows, key=lambda row: (row.entity, row.sop_id))


def people_serving(workspace: Workspace, entity: str) -> list[tuple[str, Person]]:
    """The people of ``people.yaml`` who serve ``entity`` (by name or with ``*``), by id."""
    roster = workspace.people
    if roster is None:
        return []
    return [
        (pid, person)
        for pid, person in sorted(roster.people.items())
        if "*" in person.entities or entity in person.entities
    ]
