"""Generate a workspace of N SOPs for benchmarks, from the bundled reference SOPs.

Each generated SOP is a copy of a reference SOP under a new ``sop_id`` (and
file name), so the workload has the real mix of step types, templates and
nesting rather than a synthetic one.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
DATA = {"prompts", "templates", "media"}


def generate(target: Path, count: int) -> Path:
    """Write ``count`` SOPs into ``target/sops`` and return ``target``."""
    source = REPO / "sops"
    sops = target / "sops"
    if sops.exists():
        shutil.rmtree(sops)
    sops.mkdir(parents=True)
    for name in ("entities.yaml", "people.yaml", "connections.yaml"):
        if (source / name).exists():
            shutil.copy(source / name, sops / name)
    for folder in ("prompts", "templates"):
        if (source / folder).is_dir():
            shutil.copytree(source / folder, sops / folder)
    originals = [p for p in sorted(source.glob("*/*.yaml")) if p.parent.name not in DATA]
    templates = []
    for path in originals:
        templates.append((path.parent.name, path.read_text(encoding="utf-8"), path.stem))
    for index in range(count):
        folder, text, stem = templates[index % len(templates)]
        new_id = f"{stem}_{index:04d}"
        data = yaml.safe_load(text)
        # Cross-SOP references keep pointing at existing SOPs: only the id changes.
        body = text.replace(f"sop_id: {data['sop_id']}", f"sop_id: {new_id}", 1)
        out = sops / folder / f"{new_id}.yaml"
        out.parent.mkdir(exist_ok=True)
        out.write_text(body, encoding="utf-8")
    for path in originals:
        shutil.copy(path, sops / path.parent.name / path.name)
    return target
