"""Static analysis of templates: what a template reads, and where.

(Rendering is tested with the engine; these tests cover ``is_template`` and
``analyse``, which the loader uses to check names and step references.)
"""

from __future__ import annotations

import pytest
from jinja2 import TemplateSyntaxError

from sopbench.expressions import CONTEXT_NAMES, analyse, environment, is_template


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("{{ inputs.x }}", True),
        ("Hello {{ name }}!", True),
        ("{% if x %}y{% endif %}", True),
        ("a {{ b", True),  # still meant as a template: its syntax error is reported
        ("plain text", False),
        ("{ not: a template }", False),
        ("{# only a comment #}", False),
        ("", False),
        (5, False),
        (None, False),
        (["{{ x }}"], False),
        ({"a": "{{ x }}"}, False),
    ],
)
def test_is_template(value: object, expected: bool) -> None:
    assert is_template(value) is expected


def test_simple_references() -> None:
    info = analyse(
        "{{ inputs.event_name }} on {{ inputs.event_date }} by {{ steps.sign_off.decided_by }}"
    )
    assert info.names == {"inputs", "steps"}
    assert info.inputs == [("event_name", 1), ("event_date", 1)]
    assert info.steps == [("sign_off", 1)]


def test_references_inside_expressions_and_blocks() -> None:
    source = "\n".join(
        [
            "{% if steps.approve.decision == 'approved' %}",
            "{{ inputs['budget'] * 2 }}",
            "{% for row in steps.fetch.json['rows'] %}{{ row.name | upper }}{% endfor %}",
            "{% endif %}",
        ]
    )
    info = analyse(source)
    assert info.names == {"steps", "inputs"}
    assert sorted(info.steps) == [("approve", 1), ("fetch", 3)]
    assert info.inputs == [("budget", 2)]


def test_line_numbers_follow_the_template() -> None:
    info = analyse("line one\n\n{{ steps.a.x }}\nfour {{ inputs.b }}\n")
    assert info.steps == [("a", 3)]
    assert info.inputs == [("b", 4)]


def test_every_reference_is_listed_even_when_repeated() -> None:
    info = analyse("{{ steps.a.x }} {{ steps.a.y }} {{ inputs.q | default(inputs.q) }}")
    assert info.steps == [("a", 1), ("a", 1)]
    assert info.inputs == [("q", 1), ("q", 1)]


def test_names_assigned_in_the_template_are_not_free() -> None:
    info = analyse(
        "{% set total = inputs.a + 1 %}{% for x in vars.items %}{{ x }}{{ total }}{% endfor %}"
    )
    assert info.names == {"inputs", "vars"}


def test_unknown_names_are_reported_as_free_names() -> None:
    assert analyse("{{ item }}").names == {"item"}
    assert analyse("{{ secrets.API_KEY }}").names == {"secrets"}
    assert analyse("{{ now() }}").names == {"now"}
    assert analyse("{{ range(3) | list }}").names == {"range"}


def test_dynamic_keys_are_not_references() -> None:
    info = analyse("{{ steps[vars.which].x }} {{ inputs[0] }}")
    assert info.steps == []
    assert info.inputs == []
    assert info.names == {"steps", "vars", "inputs"}


def test_only_direct_children_of_steps_and_inputs_count() -> None:
    info = analyse("{{ vars.steps.x }} {{ run.inputs.y }}")
    assert info.steps == [] and info.inputs == []


def test_keywords_and_literals_are_not_names() -> None:
    assert analyse("{{ true }} {{ none }} {{ 1 if inputs.a else 2 }}").names == {"inputs"}


@pytest.mark.parametrize(
    "source",
    [
        "{{ inputs.x | upper }",
        "{{ inputs.x == }}",
        "{% if x %}no end",
        "{% if x %}a{% endfor %}",
        "{{ }}",
        "{% frobnicate %}",
    ],
)
def test_syntax_errors_raise_with_a_line(source: str) -> None:
    with pytest.raises(TemplateSyntaxError) as caught:
        analyse(source)
    assert caught.value.lineno >= 1


def test_syntax_error_line_in_a_multi_line_template() -> None:
    with pytest.raises(TemplateSyntaxError) as caught:
        analyse("one\ntwo\nthree {{ a | }}\nfour")
    assert caught.value.lineno == 3


def test_context_names() -> None:
    assert {"inputs", "steps", "vars", "entity", "run", "item", "now"} == CONTEXT_NAMES


def test_the_environment_is_a_strict_immutable_sandbox() -> None:
    from jinja2 import StrictUndefined
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    env = environment()
    assert isinstance(env, ImmutableSandboxedEnvironment)
    assert env.undefined is StrictUndefined
    assert environment() is env
    for name in ("lipsum", "cycler", "joiner"):
        assert name not in env.globals
