"""Method calls on unknown dry-run values (``.get`` with and without defaults)."""

from __future__ import annotations

import pytest

from sopbench.expressions import render_value
from sopbench.simulated import lenient

CONTEXT = {"steps": {"x": lenient({"json": None, "status": 200}, "steps.x")}}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ steps.x.json.get('id') }}", "<simulated steps.x.json.id>"),
        ("{{ steps.x.json.get('qty', 2) }}", 2),
        ("{{ (steps.x.json or {}).get('unit_cost', 100) }}", 100),
        ("{{ steps.x.get('json') }}", "<simulated steps.x.json>"),
        ("{{ steps.x.get('fields', {}).get('ok', false) }}", False),
        ("{{ steps.x.status }}", 200),
        ("{{ steps.x.json.items | length }}", 0),
        ("{{ steps.x.json.a.b() }}", "<simulated steps.x.json.a.b()>"),
    ],
)
def test_calls_on_unknowns_render(template: str, expected: object) -> None:
    assert render_value(template, CONTEXT) == expected
