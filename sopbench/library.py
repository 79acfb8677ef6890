"""Loading a workspace's ``sops/`` folder: every file, every problem, one pass.

A workspace is ``sops/entities.yaml`` (required), ``sops/people.yaml`` and
``sops/connections.yaml`` (optional), and one SOP per ``*.yaml`` file in the
entity folders. Folders named ``prompts``, ``templates`` and ``media`` hold
content data, not SOPs. :func:`load_workspace` never raises for bad files:
it returns a :class:`Workspace` whose ``problems`` list every defect found,
each as ``path:line:col: message``.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

from sopbench.errors import NotFound, Problem, WorkspaceInvalid
from sopbench.library_cache import FileCache
from sopbench.model.sop import SopFile
from sopbench.model.workspace import ConnectionsFile, EntitiesFile, PeopleFile
from sopbench.sopcheck import check_sop
from sopbench.suggest import did_you_mean
from sopbench.validation import validate_model
from sopbench.workspace_checks import cross_check
from sopbench.yamlsource import LazySourceMap, SourceMap, YamlDocument, parse_yaml

__all__ = ["Workspace", "load_workspace"]

ENTITIES_FILE = "entities.yaml"
PEOPLE_FILE = "people.yaml"
CONNECTIONS_FILE = "connections.yaml"
DATA_FOLDERS = frozenset({"prompts", "templates", "media"})
_WORKSPACE_FILES = frozenset({ENTITIES_FILE, PEOPLE_FILE, CONNECTIONS_FILE})
_EMPTY_HINTS = {
    ENTITIES_FILE: "declare the entities under `entities:`",
    PEOPLE_FILE: "declare `roles:` and `people:`, or delete the file",
    CONNECTIONS_FILE: "declare `connections:`, or delete the file",
}


@dataclass
class Workspace:
    """Everything read from ``sops/``: valid parts as models, plus all problems."""

    home: Path
    entities: EntitiesFile | None = None
    people: PeopleFile | None = None
    connections: ConnectionsFile | None = None
    sops: dict[str, SopFile] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    documents: dict[str, YamlDocument] = field(default_factory=dict)

    @property
    def sops_dir(self) -> Path:
        return self.home / "sops"

    @property
    def valid(self) -> bool:
        return not self.problems

    def raise_if_invalid(self) -> None:
        if self.problems:
            raise WorkspaceInvalid(self.problems)

    def sop(self, sop_id: str) -> SopFile:
        """The SOP with this id, or :class:`NotFound` with a suggestion."""
        try:
            return self.sops[sop_id]
        except KeyError:
            hint = did_you_mean(sop_id, self.sops).strip(" ()") or "`sopbench list` shows them"
            raise NotFound(f"no SOP with id '{sop_id}'", hint=hint) from None


def _relative(path: Path, home: Path) -> str:
    try:
        return path.relative_to(home).as_posix()
    except ValueError:
        return path.as_posix()


def _read(path: Path, home: Path) -> YamlDocument:
    shown = _relative(path, home)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        problem = Problem(shown, 1, 1, f"cannot read the file: {exc.strerror}")
        return YamlDocument(shown, None, SourceMap(), [problem])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        column = len(before[before.rfind(b"\n") + 1 :].decode("utf-8", "replace")) + 1
        message = (
            f"not UTF-8 text (byte 0x{raw[exc.start]:02x} here: {exc.reason}); "
            "save the file as UTF-8"
        )
        return YamlDocument(shown, None, SourceMap(), [Problem(shown, line, column, message)])
    return parse_yaml(text, shown)


def sop_files(sops_dir: Path) -> list[Path]:
    """SOP files under ``sops_dir``, sorted; hidden and data folders left out."""
    found: list[Path] = []
    for root, dirs, files in os.walk(sops_dir):
        top = Path(root) == sops_dir
        dirs[:] = sorted(
            d for d in dirs if not d.startswith((".", "_")) and not (top and d in DATA_FOLDERS)
        )
        for name in files:
            if not name.endswith((".yaml", ".yml")) or name.startswith("."):
                continue
            if top and name in _WORKSPACE_FILES:
                continue
            found.append(Path(root) / name)
    return sorted(found)


M = TypeVar("M", bound=BaseModel)


def _load_optional(workspace: Workspace, name: str, model: type[M], *, required: bool) -> M | None:
    path = workspace.sops_dir / name
    shown = _relative(path, workspace.home)
    if not path.exists():
        if required:
            workspace.problems.append(
                Problem(shown, 1, 1, f"{name} is missing; create it to declare the entities")
            )
        return None
    doc = _read(path, workspace.home)
    workspace.documents[shown] = doc
    if doc.data is None and not doc.problems:
        doc.problems.append(Problem(shown, 1, 1, f"{name} is empty; {_EMPTY_HINTS[name]}"))
    result = None
    if doc.data is not None:
        result = validate_model(doc, model, doc.data, problems=doc.problems)
    workspace.problems.extend(doc.problems)
    return result if not doc.problems else None


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a workspace loads.

    Loading builds hundreds of thousands of small, acyclic objects; the
    collector's repeated scans of that growing heap cost more than the
    parsing itself (measured 1.6 s vs 0.3 s for 1,000 SOPs).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


_PARALLEL_FROM = 200  # below this many changed files a second process costs more than it saves


def _check_all(
    paths: list[Path], home: Path, cache: FileCache
) -> list[tuple[YamlDocument, SopFile | None]]:
    """Check every SOP file; with many uncached files, on every core.

    Each file is checked on its own, so the work splits cleanly. Worker
    processes are forked (cheap: everything is imported already) and only
    when this process runs no other thread, since forking a threaded process
    can copy a held lock; results come back without their position tables
    (see :class:`~sopbench.yamlsource.LazySourceMap`).
    """
    misses = [p for p in paths if cache.get(_relative(p, home), _stat(p)) is None]
    cores = os.cpu_count() or 1
    if (
        len(misses) < _PARALLEL_FROM
        or cores < 2
        or threading.active_count() > 1
        or not hasattr(os, "fork")
    ):
        return [_checked_sop(path, home, cache) for path in paths]
    chunks = [misses[i::cores] for i in range(cores)]
    with multiprocessing.get_context("fork").Pool(cores) as pool:
        for rows in pool.starmap(_check_chunk, [(chunk, home) for chunk in chunks]):
            for shown, stat, data, problems, sop in rows:
                cache.put_raw(shown, stat, data, problems, sop)
    return [_checked_sop(path, home, cache) for path in paths]


def _check_chunk(
    paths: list[Path], home: Path
) -> list[tuple[str, tuple[int, int], Any, list[Problem], SopFile | None]]:
    rows = []
    for path in paths:
        doc, sop = _fresh_check(path, home)
        stat = _stat(path)
        rows.append(
            (
                doc.path,
                (stat.st_mtime_ns, stat.st_size) if stat else (0, -1),
                doc.data,
                doc.problems,
                sop,
            )
        )
    return rows


def _stat(path: Path) -> os.stat_result | None:
    try:
        return path.stat()
    except OSError:
        return None


def _fresh_check(path: Path, home: Path) -> tuple[YamlDocument, SopFile | None]:
    doc = _read(path, home)
    sop = None
    if doc.data is not None:
        sop = check_sop(doc)
    elif not doc.problems:
        doc.problems.append(
            Problem(doc.path, 1, 1, "the file is empty; a SOP needs sop_id, entity, name and steps")
        )
    return doc, sop


def _checked_sop(path: Path, home: Path, cache: FileCache) -> tuple[YamlDocument, SopFile | None]:
    """One SOP file checked on its own, from the cache when the file is unchanged."""
    shown = _relative(path, home)
    stat = _stat(path)
    entry = cache.get(shown, stat)
    if entry is not None:
        doc = YamlDocument(shown, entry.data, LazySourceMap(path, shown), list(entry.problems))
        if entry.sop is not None:
            entry.sop._path = shown
        return doc, entry.sop
    doc, sop = _fresh_check(path, home)
    if stat is not None:
        cache.put_raw(shown, (stat.st_mtime_ns, stat.st_size), doc.data, doc.problems, sop)
    return doc, sop


def load_workspace(home: str | Path) -> Workspace:
    """Read and check ``<home>/sops``; problems are collected, never raised."""
    with _gc_paused():
        return _load_workspace(home)


def _load_workspace(home: str | Path) -> Workspace:
    home_path = Path(home)
    workspace = Workspace(home=home_path)
    if not workspace.sops_dir.is_dir():
        workspace.problems.append(
            Problem(
                _relative(workspace.sops_dir, home_path),
                1,
                1,
                "no sops/ folder here; run `sopbench init` or pass --home",
            )
        )
        return workspace
    workspace.entities = _load_optional(workspace, ENTITIES_FILE, EntitiesFile, required=True)
    workspace.people = _load_optional(workspace, PEOPLE_FILE, PeopleFile, required=False)
    workspace.connections = _load_optional(
        workspace, CONNECTIONS_FILE, ConnectionsFile, required=False
    )
    cache = FileCache.open(home_path)
    checked = _check_all(sop_files(workspace.sops_dir), home_path, cache)
    seen: set[str] = set()
    for doc, sop in checked:
        seen.add(doc.path)
        workspace.documents[doc.path] = doc
        workspace.problems.extend(doc.problems)
        if sop is not None:
            workspace.sops.setdefault(sop.sop_id, sop)
    cache.keep_only(seen)
    cache.save()
    cross_problems, bad_paths = cross_check(workspace.documents)
    workspace.problems.extend(cross_problems)
    workspace.sops = {k: v for k, v in workspace.sops.items() if v.path not in bad_paths}
    workspace.problems = sorted(set(workspace.problems))  # merged copies repeat theirs
    return workspace
