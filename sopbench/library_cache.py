"""A per-file cache of checked SOP files, so unchanged files are not parsed again.

Checking one SOP file depends only on that file and on the code that checks
it; checks across files always run again. The cache keeps, per file, its
parsed data, its problems and its validated model, keyed by the file's size
and modification time. Positions are not kept: a cached document re-parses
its file only if a cross-file problem needs a position.

The whole cache is valid only for the code that filled it: :func:`cache_key`
hashes the content of every module of the installed ``sopbench`` package
(about 5 ms for 1.3 MB, once per process), the versions of the libraries
that parse and validate (pydantic, Jinja2, PyYAML, Python itself), and each
third-party step type's name, source and ``with`` JSON Schema. Changed code
therefore never reuses pickled models or problem lists from before.

Measured on 2 shared cores (``benchmarks/bench_validate.py``): 1,022 SOPs
validate in 3.9 s cold and 0.9 s from a warm cache (the 22 bundled SOPs in
0.40 s and 0.35 s), so the cache stays.

The cache lives in ``<home>/.sopbench/cache/`` (it is used only when that
state folder exists, i.e. after ``sopbench init``). It is a cache, not state:
deleting it is always safe, and any unreadable or outdated cache is ignored.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import pickle
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
import pydantic
import yaml

from sopbench.errors import Problem
from sopbench.model.registry import BUILTIN_SOURCE, step_types
from sopbench.model.sop import SopFile

__all__ = ["FileCache", "cache_key", "package_digest"]

logger = logging.getLogger(__name__)

_FORMAT = 2
_PACKAGE = Path(__file__).resolve().parent


@lru_cache(maxsize=4)
def package_digest(root: Path = _PACKAGE) -> str:
    """SHA-256 of every ``*.py`` under ``root`` (path and content), once per process.

    Content rather than sizes and mtimes: installs and checkouts can keep a
    file's mtime while changing it, and hashing 1.3 MB costs ~5 ms.
    """
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def _plugin_schemas() -> list[tuple[str, str, str]]:
    """(name, source, with-schema) of each third-party step type.

    Built-in models are covered by :func:`package_digest`; a plugin's code
    is not, so its declared source (package and version) and its model's
    JSON Schema stand for it.
    """
    found = []
    for kind in step_types():
        if kind.source != BUILTIN_SOURCE:
            schema = json.dumps(kind.params.model_json_schema(by_alias=True), sort_keys=True)
            found.append((kind.name, kind.source, schema))
    return found


def cache_key() -> str:
    """What every cached check depends on besides its file (see the module docstring)."""
    parts = [
        str(_FORMAT),
        package_digest(),
        f"python {sys.version_info[0]}.{sys.version_info[1]}",
        f"pydantic {pydantic.VERSION}",
        f"jinja2 {jinja2.__version__}",
        f"pyyaml {yaml.__version__}",
        json.dumps(step_types().names()),
        json.dumps(_plugin_schemas()),
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


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
    key: str = ""

    @classmethod
    def open(cls, home: Path) -> FileCache:
        state = home / ".sopbench"
        if not state.is_dir():
            return cls(None)
        path = state / "cache" / "library.pickle"
        cache = cls(path, key=cache_key())
        try:
            with path.open("rb") as handle:
                key, entries = pickle.load(handle)
        except FileNotFoundError:
            return cache
        except (
            OSError,
            EOFError,
            pickle.UnpicklingError,
            ValueError,
            TypeError,
            AttributeError,
            ImportError,
        ) as exc:
            # Unreadable, or pickled by code that no longer exists: start afresh.
            logger.info("ignoring the load cache %s: %s: %s", path, type(exc).__name__, exc)
            return cache
        if key == cache.key and isinstance(entries, dict):
            cache.entries = entries
        else:
            logger.debug("the load cache %s is from other code: not used", path)
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
                pickle.dump((self.key, self.entries), handle, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(temp, self.path)
        except OSError as exc:
            # A read-only workspace only costs speed next time; say so, do not fail.
            logger.info("cannot save the load cache %s: %s", self.path, exc)
