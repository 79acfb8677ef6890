"""The SOP a run was started with, rebuilt from the snapshot stored on the run.

A run keeps the definition it started with: editing the YAML file later
never changes a run in flight.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from sopbench.errors import StoreError
from sopbench.model.sop import SopFile
from sopbench.sopcheck import check_sop
from sopbench.yamlsource import SourceMap, YamlDocument

__all__ = ["sop_from_definition"]

_snapshots: dict[str, dict[str, Any]] = {}


@lru_cache(maxsize=256)
def _build(sop_hash: str) -> SopFile:
    data = _snapshots.pop(sop_hash)
    doc = YamlDocument(f"<definition {sop_hash[:12]}>", data, SourceMap(), [])
    sop = check_sop(doc)
    if sop is None:
        problems = "; ".join(p.message for p in doc.problems[:3])
        raise StoreError(f"the stored definition of this run no longer loads: {problems}")
    return sop


def sop_from_definition(definition: dict[str, Any], sop_hash: str) -> SopFile:
    """The validated SOP of a stored definition (cached by its hash)."""
    _snapshots.setdefault(sop_hash, definition)
    return _build(sop_hash)
