"""A per-file cache of checked SOP files, so unchanged files are not parsed again.

Checking one SOP file depends only on that file and the registered step
types; checks across files always run again. The cache keeps, per file, its
parsed data, its problems and its validated model, keyed by the file's size
and modification time. Positions are not kept: a cached document re-parses
its file only if a cross-file problem needs a position.

The cache lives in ``<home>/.sopbench/cache/`` (it is used only when that
state folder exists, i.e. after ``sopbench init``). It is a cache, not state:
deleting it is always safe, and any unreadable or outdated cache is ignored.
"""

from __future__ import annotations

import os
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sopbench.errors import Problem
from sopbench.model.registry import step_param_models
from sopbench.model.sop import SopFile

__all__ = ["FileCache"]

_FORMAT = 1


def _cache_key() -> str:
    from sopbench._version import __version__

    return f"{_FORMAT}:{__version__}:{','.join(sorted(step_param_models()))}"


@dataclass
class _Entry:
    mtime_ns: int
    size: int
    data: Any
    problems: list[Problem]
    sop: SopFile | None


@dataclass
class FileCache:
    """Load once, look up per file, save if anything changed."""

    path: Path | None
    entries: dict[str, _Entry] = field(default_factory=dict)
    changed: bool = False

    @classmethod
    def open(cls, home: Path) -> FileCache:
        state = home / ".sopbench"
        if not state.is_dir():
            return cls(None)
        path = state / "cache" / "library.pickle"
        cache = cls(path)
        try:
            with path.open("rb") as handle:
                key, entries = pickle.load(handle)
        except (OSError, EOFError, pickle.UnpicklingError, ValueError, TypeError, AttributeError):
            return cache  # no cache yet, or one from another version: start afresh
        if key == _cache_key() and isinstance(entries, dict):
            cache.entries = entries
        return cache

    def get(self, shown: str, stat: os.stat_result | None) -> _Entry | None:
        """The entry of an unchanged file (same size and modification time), else None."""
        entry = self.entries.get(shown)
        if stat is None or entry is None:
            return None
        if (entry.mtime_ns, entry.size) == (stat.st_mtime_ns, stat.st_size):
            return entry
        return None

    def put_raw(
        self,
        shown: str,
        stamp: tuple[int, int],
        data: Any,
        problems: list[Problem],
        sop: SopFile | None,
    ) -> None:
        """Remember a checked file under its ``(mtime_ns, size)`` stamp.

        Without a state folder nothing is saved, but entries still serve this
        load (results computed by worker processes pass through here).
        """
        self.entries[shown] = _Entry(stamp[0], stamp[1], data, list(problems), sop)
        self.changed = self.path is not None

    def keep_only(self, shown: set[str]) -> None:
        gone = set(self.entries) - shown
        for name in gone:
            del self.entries[name]
        self.changed = self.changed or bool(gone)

    def save(self) -> None:
        """Write atomically (temp file + rename); a failure only costs speed next time."""
        if self.path is None or not self.changed:
            return
        try:
            self.path.parent.mkdir(exist_ok=True)
            temp = self.path.with_suffix(f".{os.getpid()}.tmp")
            with temp.open("wb") as handle:
                pickle.dump((_cache_key(), self.entries), handle, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(temp, self.path)
        except OSError:
            return  # read-only workspace: the cache is an optimisation only
