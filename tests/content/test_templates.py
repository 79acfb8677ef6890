"""Content templates: every template renders for every entity and platform within limits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sopbench.content.platforms import PLATFORMS, measure
from sopbench.content.templates import ContentTemplate, load_templates, templates_of
from sopbench.errors import ExpressionError, InputError, NotFound
from sopbench.library import load_workspace

REPO = Path(__file__).resolve().parents[2]
WORKSPACE = load_workspace(REPO)
LIBRARY = load_templates(REPO)
ENTITIES: dict[str, dict[str, Any]] = {
    eid: {"id": eid, **entity.model_dump(mode="json")}
    for eid, entity in (WORKSPACE.entities.entities.items() if WORKSPACE.entities else [])
}
REQUIRED = [
    "announcement",
    "event_promo",
    "live_show_teaser",
    "repair_ready",
    "release_notes",
    "newsletter_section",
    "case_study",
    "hiring_post",
    "review_request",
    "incident_update",
    "inventory_promo",
    "thank_you",
]

FRONT = """---
description: A test template.
variables:
  name: {required: true, example: World}
---
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / "sops" / "templates" / f"{name}.j2"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_the_reference_templates_load_without_problems() -> None:
    assert [str(p) for p in LIBRARY.problems] == []
    assert len(LIBRARY.templates) >= 12
    assert set(REQUIRED) <= set(LIBRARY.templates)


def test_every_template_declares_examples_for_its_required_variables() -> None:
    for template in LIBRARY.templates.values():
        examples = template.example_variables()
        required = [n for n, s in template.meta.variables.items() if s.required]
        assert set(required) <= set(examples), template.name
        assert "post" in template.blocks


@pytest.mark.parametrize("name", sorted(LIBRARY.templates))
@pytest.mark.parametrize("entity", sorted(ENTITIES))
def test_renders_for_every_entity_and_platform_within_limits(name: str, entity: str) -> None:
    template = LIBRARY.templates[name]
    for platform, rules in PLATFORMS.items():
        draft = template.render(ENTITIES[entity], platform, template.example_variables())
        where = f"{name}/{entity}/{platform}"
        assert draft.body.strip(), where
        assert draft.violations == [], where
        assert draft.voice_warnings == [], where
        assert measure(draft.text, rules) <= rules.max_length, where
        assert len(draft.hashtags) <= rules.max_hashtags, where
        if rules.title_length is not None and "title" in template.blocks:
            assert draft.title and len(draft.title) <= rules.title_length, where
        if rules.links != "clickable":
            assert "https://" not in draft.text, where
        if rules.markdown == "none":
            assert "**" not in draft.text, where


@pytest.mark.parametrize("platform", sorted(PLATFORMS))
def test_long_values_are_fitted_not_rejected(platform: str) -> None:
    template = LIBRARY.templates["announcement"]
    variables = {
        **template.example_variables(),
        "headline": "A headline " * 30,
        "details": "A detail sentence that goes on. " * 400,
    }
    draft = template.render(ENTITIES["computer_store"], platform, variables)
    rules = PLATFORMS[platform]
    assert measure(draft.text, rules) <= rules.max_length
    assert draft.violations == []


def test_entity_voice_shapes_the_text() -> None:
    template = LIBRARY.templates["announcement"]
    texts = {
        eid: template.render(entity, "linkedin", template.example_variables()).body
        for eid, entity in ENTITIES.items()
    }
    assert texts["computer_store"].startswith("GG, squad!")
    assert texts["gov_contractor"].startswith("We are proud to share:")
    assert len(set(texts.values())) == len(texts)


def test_entity_hashtags_are_added_within_the_platform_limit() -> None:
    template = LIBRARY.templates["event_promo"]
    store = ENTITIES["computer_store"]
    draft = template.render(store, "instagram", template.example_variables())
    assert draft.hashtags == store["hashtags"]
    assert template.render(store, "discord", template.example_variables()).hashtags == []


def test_personal_messages_skip_entity_hashtags() -> None:
    template = LIBRARY.templates["review_request"]
    draft = template.render(ENTITIES["computer_store"], "facebook", template.example_variables())
    assert draft.hashtags == []


def test_avoided_words_are_flagged() -> None:
    template = LIBRARY.templates["event_promo"]
    variables = {**template.example_variables(), "details": "A guaranteed win for everyone."}
    draft = template.render(ENTITIES["computer_store"], "facebook", variables)
    assert draft.voice_warnings == ["uses 'guaranteed win', which this entity's voice avoids"]


def test_missing_required_variables_are_named() -> None:
    with pytest.raises(InputError, match="needs headline"):
        LIBRARY.templates["announcement"].render(ENTITIES["saas"], "x", {})


def test_variable_values_are_data_never_templates() -> None:
    template = LIBRARY.templates["announcement"]
    variables = {**template.example_variables(), "headline": "{{ 7 * 7 }} {% raw %}"}
    draft = template.render(ENTITIES["saas"], "linkedin", variables)
    assert "{{ 7 * 7 }} {% raw %}" in draft.body


def test_unknown_template_suggests_the_near_miss() -> None:
    with pytest.raises(NotFound, match="announcement"):
        LIBRARY.get("anouncement")


def test_templates_use_the_expression_sandbox(tmp_path: Path) -> None:
    write(tmp_path, "sneaky", FRONT + "{% block post %}{{ name.__class__ }}{% endblock %}\n")
    library = load_templates(tmp_path)
    template: ContentTemplate = library.get("sneaky")
    with pytest.raises(ExpressionError, match="unsafe"):
        template.render(ENTITIES["saas"], "x", {"name": "World"})


def test_template_problems_are_reported_at_their_line(tmp_path: Path) -> None:
    write(tmp_path, "no_front", "{% block post %}hi{% endblock %}\n")
    write(
        tmp_path,
        "bad_meta",
        "---\ndescription: x\nvariabels: {}\n---\n{% block post %}x{% endblock %}\n",
    )
    write(tmp_path, "bad_syntax", FRONT + "{% block post %}\n{{ name }\n{% endblock %}\n")
    write(tmp_path, "no_post", FRONT + "{% block short %}hi{% endblock %}\n")
    write(
        tmp_path,
        "odd_block",
        FRONT + "{% block post %}a{% endblock %}{% block tweet %}b{% endblock %}\n",
    )
    write(tmp_path, "_partial", "not a template at all")
    library = load_templates(tmp_path)
    found = {str(p) for p in library.problems}
    assert library.templates == {}
    folder = "sops/templates"
    expected = {
        f"{folder}/no_front.j2:1:1",
        f"{folder}/bad_meta.j2:3:1",
        f"{folder}/bad_syntax.j2:7:1",
        f"{folder}/no_post.j2:6:1",
        f"{folder}/odd_block.j2:6:1",
    }
    assert {p.split(": ", 1)[0] for p in found} == expected, found
    assert any("unknown field" in p or "variabels" in p for p in found)
    assert any("tweet" in p for p in found)


def test_templates_of_caches_until_a_file_changes(tmp_path: Path) -> None:
    path = write(tmp_path, "hello", FRONT + "{% block post %}Hello {{ name }}{% endblock %}\n")
    first = templates_of(tmp_path)
    assert templates_of(tmp_path) is first
    path.write_text(FRONT + "{% block post %}Hi {{ name }}{% endblock %}\n", encoding="utf-8")
    import os

    os.utime(path, (1, 1))
    second = templates_of(tmp_path)
    assert second is not first
    assert second.get("hello").render(ENTITIES["saas"], "x", {"name": "A"}).body == "Hi A"
