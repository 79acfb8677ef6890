"""Generated reference docs stay equal to what the models produce."""

from __future__ import annotations

from pathlib import Path

from sopbench.docgen import steps_markdown
from sopbench.model.registry import BUILTIN_STEP_TYPES

ROOT = Path(__file__).resolve().parent.parent


def test_steps_md_is_up_to_date() -> None:
    committed = (ROOT / "docs" / "steps.md").read_text(encoding="utf-8")
    assert committed == steps_markdown(), "run `python -m sopbench.docgen` and commit docs/steps.md"


def test_every_step_type_is_documented_with_fields_and_result() -> None:
    text = steps_markdown()
    assert text.count("\n## `") == len(BUILTIN_STEP_TYPES)
    for kind in BUILTIN_STEP_TYPES:
        name, model = kind.name, kind.params
        section = text.split(f"## `{name}`", 1)[1].split("\n## ", 1)[0]
        assert "| field | type | default | meaning |" in section
        for field in model.result_fields:
            assert f"`{field}`" in section.split("Result:", 1)[1]
