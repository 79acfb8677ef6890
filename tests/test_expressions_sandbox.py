"""The template sandbox: escape attempts are refused or harmless; outside data stays data.

Every attempt below is rendered against a realistic context. An attempt is
either refused (:class:`ExpressionError`) or renders to a harmless value
that the test spells out; no attempt may change the context it ran on.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from sopbench.errors import ExpressionError
from sopbench.expressions import render_value
from sopbench.store import Database
from sopbench.testing.recorder import Recorder


def _context() -> dict[str, Any]:
    return {
        "inputs": {"items": [3, 1, 2], "tags": ["a", "b"], "d": {"a": 1}, "note": "{{ 7*7 }}"},
        "steps": {"fetch": {"status": 200, "json": {"body": "{{ 6*7 }}"}}},
        "vars": {"total": 6},
        "entity": {"id": "shop", "name": "Corner Shop"},
        "run": {"id": "run_1", "dry_run": False},
    }


REFUSED = [
    # attribute walks to internals
    ("{{ ''.__class__ }}", "unsafe"),
    ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "unsafe"),
    ("{{ [].__class__.__base__.__subclasses__() }}", "unsafe"),
    ("{{ (1).__class__ }}", "unsafe"),
    ("{{ now.__globals__ }}", "unsafe"),
    ("{{ now.__globals__['__builtins__']['__import__']('os') }}", "unsafe"),
    ("{{ inputs.__init__ }}", "unsafe"),
    ("{{ inputs.__class__.__init__.__globals__ }}", "unsafe"),
    ("{{ inputs.items.__len__() }}", "unsafe"),
    ("{{ now().__class__ }}", "unsafe"),
    ("x{{ ''['__class__'] }}", "unsafe"),
    ("{{ inputs['__class__'] }}", "unsafe"),
    ("{{ inputs | attr('__class__') }}", "unsafe"),
    ("{{ inputs | attr('__class__') | attr('__mro__') }}", "undefined"),
    ("{{ inputs.tags | map(attribute='__class__') | list }}", "unsafe"),
    ("{{ inputs.tags | sort(attribute='__class__') }}", "unsafe"),
    ("{{ namespace.__init__.__globals__ }}", "unsafe"),
    ("{{ self.__init__.__globals__ }}", "unsafe"),
    ("{% for x in [1] %}{{ loop.__class__ }}{% endfor %}", "unsafe"),
    ("{% for x in [1] %}{{ loop._after }}{% endfor %}", "unsafe"),
    # no way to the process, its modules or its environment
    ("{{ os.system('id') }}", "'os' is undefined"),
    ("{{ __import__('os') }}", "'__import__' is undefined"),
    ("{{ sys.modules }}", "'sys' is undefined"),
    ("{{ config }}", "'config' is undefined"),
    ("{{ environ }}", "'environ' is undefined"),
    ("{{ lipsum() }}", "'lipsum' is undefined"),
    ("{{ cycler(1, 2) }}", "'cycler' is undefined"),
    ("{{ joiner() }}", "'joiner' is undefined"),
    # format-string tricks
    ("{{ '{0.__class__}'.format(inputs) }}", "unsafe"),
    ("{{ '{0.__class__.__mro__}'.format(1) }}", "unsafe"),
    ("{{ '{x.__class__}'.format_map({'x': inputs}) }}", "unsafe"),
    ("{{ '{0.__init__.__globals__}'.format(now) }}", "unsafe"),
    ("{{ '{:>999999999}'.format(1) }}", "format width wider than 100000"),
    ("{{ '{:>{w}}'.format(1, w=999999999) }}", "nested fields in format specs"),
    ("{{ '%999999999d' % 1 }}", "format width wider than 100000"),
    ("{{ '%*d' % (999999999, 1) }}", "`*` widths"),
    ("{{ '%999999999s' | format('a') }}", "format width wider than 100000"),
    ("{{ 'x' | center(999999999) }}", "center wider than 100000"),
    ("{{ 'x\ny' | indent(999999999) }}", "indent wider than 100000"),
    ("{{ 'a'.zfill(10**9) }}", "zfill wider than 100000"),
    ("{{ 'a'.ljust(10**10) }}", "ljust wider than 100000"),
    # mutation in an immutable sandbox
    ("{{ inputs.d.update({'b': 2}) }}", "unsafe"),
    ("{{ inputs.d.pop('a') }}", "unsafe"),
    ("{{ inputs.tags.append('c') }}", "unsafe"),
    ("{{ vars.clear() }}", "unsafe"),
    ("{{ inputs.tags.sort() }}", "unsafe"),
    ("{{ steps.fetch.json.setdefault('x', 1) }}", "unsafe"),
    # sizes: ranges, repetitions, powers, doubling
    ("{{ range(10**9) | list }}", "Range too big"),
    ("{{ range(100000000) | length }}", "Range too big"),
    ("{{ 'a' * 10**9 }}", "result longer than 100000"),
    ("{{ [1] * 10**9 }}", "result longer than 100000"),
    ("{{ ['a' * 1000] * 1000 }}", "result longer than 100000"),
    ("{{ 2 ** 100000 }}", "powers above 1000"),
    ("{{ (10 ** 1000) ** 1000 }}", "integers above 800000 bits"),
    ("{{ ('a' * 100000) | replace('a', 'aa') }}", "result longer than 100000"),
    (
        "{% set ns = namespace(s='ab') %}{% for i in range(40) %}"
        "{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s | length }}",
        "result longer than 100000",
    ),
    (
        "{% set ns = namespace(s='ab') %}{% for i in range(40) %}"
        "{% set ns.s = [ns.s, ns.s] | join %}{% endfor %}{{ ns.s | length }}",
        "result longer than 100000",
    ),
    # CPU: deeply nested loops and runaway recursion
    (
        "{% for a in range(100000) %}{% for b in range(100000) %}x{% endfor %}{% endfor %}",
        "more than 100000 loop iterations",
    ),
    (
        "{% for a in range(1000) %}{% for b in range(1000) %}{% for c in range(1000) %}"
        "{% endfor %}{% endfor %}{% endfor %}",
        "more than 100000 loop iterations",
    ),
    (
        "{% set s = 'a' * 100000 %}{% for a in s %}{% for b in s %}{% endfor %}{% endfor %}",
        "more than 100000 loop iterations",
    ),
    ("{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}", "RecursionError"),
    # filters misused fail the template, never the engine
    ("{{ 'x' | truncate(-1) }}", "AssertionError"),
    ("{{ {'a': 1} | dictsort(by='x') }}", "FilterArgumentError"),
    ("{{ 'x' | xmlattr }}", "AttributeError"),
    ("{% include 'other' %}", "no loader"),
    # values JSON (and PostgreSQL) cannot hold
    ("{{ 1e308 * 10 }}", "inf is not a finite number"),
    ("{{ (1e308 * 10) - (1e308 * 10) }}", "nan is not a finite number"),
    # reading what is not there
    ("{{ inputs.nope }}", "has no attribute 'nope'"),
    ("{{ [inputs.nope] }}", "has no attribute 'nope'"),
]

HARMLESS = [
    ("{{ '%s' % inputs.d }}", "{'a': 1}"),
    ("x{{ self }}", "x<TemplateReference None>"),
    ("{{ inputs.note }}", "{{ 7*7 }}"),
    ("{{ steps.fetch.json.body }}", "{{ 6*7 }}"),
    ("Note: {{ inputs.note }}", "Note: {{ 7*7 }}"),
    ("{{ inputs.note ~ '!' }}", "{{ 7*7 }}!"),
    ("{{ 9 ** 9 ** 9 }}", 9**81),  # Jinja's ** groups to the left: (9**9)**9
    ("{{ '{:>6}'.format('hi') }}", "    hi"),
    ("{{ '%05.1f' % 3.14159 }}", "003.1"),
    ("{{ 'hello' | center(9) }}", "  hello  "),
    ("{{ range(3) | list }}", [0, 1, 2]),
    ("{% for x in range(3) %}{{ loop.index }}{% endfor %}", "123"),
    ("{% set x | upper %}abc{% endset %}{{ x }}", "ABC"),
    ("{% filter upper %}abc{% endfilter %}", "ABC"),
    (
        "{% macro m(a) %}[{{ a }}{{ caller() }}]{% endmacro %}{% call m(1) %}in{% endcall %}",
        "[1in]",
    ),
    ("{{ inputs | dictsort | length }}", 4),
]


@pytest.mark.parametrize(("template", "reason"), REFUSED, ids=[t for t, _ in REFUSED])
def test_escape_attempts_are_refused(template: str, reason: str) -> None:
    context = _context()
    with pytest.raises(ExpressionError) as caught:
        render_value(template, context)
    assert reason in str(caught.value)
    assert context == _context()  # nothing was changed


@pytest.mark.parametrize(("template", "expected"), HARMLESS, ids=[t for t, _ in HARMLESS])
def test_other_attempts_are_harmless(template: str, expected: Any) -> None:
    context = _context()
    assert render_value(template, context) == expected
    assert context == _context()


def test_the_corpus_is_large() -> None:
    assert len(REFUSED) + len(HARMLESS) >= 20


def test_outside_data_is_never_evaluated_again() -> None:
    context = _context()
    once = render_value({"a": "{{ inputs.note }}", "b": ["{{ steps.fetch.json.body }}"]}, context)
    assert once == {"a": "{{ 7*7 }}", "b": ["{{ 6*7 }}"]}
    context["vars"] = {"copied": once["a"]}
    assert render_value("{{ vars.copied }} and {{ vars.copied | upper }}", context) == (
        "{{ 7*7 }} and {{ 7*7 }}"
    )


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ inputs.items }}", [3, 1, 2]),
        ("  {{ inputs.items | sort }}  ", [1, 2, 3]),
        ("{{ vars.total }}", 6),
        ("{{ vars.total / 4 }}", 1.5),
        ("{{ inputs.d }}", {"a": 1}),
        ("{{ vars.total > 5 }}", True),
        ("{{ none }}", None),
        ("{{ vars.total }} items", "6 items"),
        ("{{ inputs.items }}{{ vars.total }}", "[3, 1, 2]6"),
    ],
)
def test_one_expression_keeps_its_native_type(template: str, expected: Any) -> None:
    rendered = render_value(template, _context())
    assert rendered == expected and type(rendered) is type(expected)


def test_inputs_items_is_the_input_named_items() -> None:
    context = _context()
    assert render_value("{{ inputs.items }}", context) == [3, 1, 2]
    assert render_value("{{ inputs.items | sum }}", context) == 6
    assert render_value("{{ inputs['items'] | length }}", context) == 3
    # a dict without such a key still has its (read-only) methods
    assert render_value("{{ inputs.d.items() | list }}", context) == [("a", 1)]
    assert render_value("{{ inputs.d.keys() | list }}", context) == ["a"]


def test_now_is_a_fresh_utc_time() -> None:
    value = render_value("{{ now() }}", _context())
    assert isinstance(value, datetime) and value.utcoffset() is not None


# -- end to end: form input, API response and run input stay literal through a run --------

LITERAL_SOP = """\
sop_id: literal_data
entity: shop
name: Data stays data
inputs:
  note: {type: string, required: true}
  items: {type: list, required: true}
steps:
  - id: keep
    type: transform
    with:
      set:
        note: "{{ inputs.note }}"
        framed: "Note: {{ inputs.note }}"
        first: "{{ inputs.items[0] }}"
        count: "{{ inputs.items | length }}"
  - id: ask
    type: approval
    with:
      title: "Review {{ vars.note }}"
      approvers: [manager]
      form: {reply: {type: string}}
  - id: call
    type: api_call
    with:
      method: POST
      connection: recorder
      path: /echo
      json: {note: "{{ vars.framed }}", reply: "{{ steps.ask.fields.reply }}"}
  - id: tell
    type: notification
    with:
      channel: ops
      message: "{{ vars.framed }} / {{ steps.ask.fields.reply }} / {{ steps.call.json.json.note }}"
  - id: again
    type: transform
    with:
      set:
        echoed: "{{ steps.call.json.json.note }}"
        reply: "{{ steps.ask.fields.reply }}"
"""


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    with Recorder() as server:
        yield server


def test_template_text_in_data_stays_literal_through_a_run(
    tmp_path: Path,
    database: Database,
    db_url: str,
    recorder: Recorder,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from engine.support import make_bench

    source = tmp_path / "src"
    (source / "shop").mkdir(parents=True)
    (source / "shop" / "literal_data.yaml").write_text(LITERAL_SOP, encoding="utf-8")
    bench = make_bench(tmp_path, [source], database, db_url, recorder)
    caplog.set_level(logging.INFO, logger="sopbench.notifications")

    view = bench.start("literal_data", {"note": "{{ 7*7 }}", "items": '["{{ 1+1 }}", "b"]'})
    assert view.run.vars == {
        "note": "{{ 7*7 }}",
        "framed": "Note: {{ 7*7 }}",
        "first": "{{ 1+1 }}",
        "count": 2,
    }
    task = bench.open_task(view.run.id)
    assert task.title == "Review {{ 7*7 }}"
    bench.decide(task.id, "bob", fields={"reply": "{{ 8*8 }}"})

    done = bench.view(view.run.id)
    assert done.run.status == "succeeded", done.run.error
    (call,) = recorder.requests
    assert call.body == {"note": "Note: {{ 7*7 }}", "reply": "{{ 8*8 }}"}
    message = "Note: {{ 7*7 }} / {{ 8*8 }} / Note: {{ 7*7 }}"
    assert bench.steps(view.run.id)["tell"].rendered["message"] == message
    assert f"[shop/literal_data] {message}" in caplog.text
    assert done.run.vars["echoed"] == "Note: {{ 7*7 }}"
    assert done.run.vars["reply"] == "{{ 8*8 }}"
    assert "49" not in str(done.run.vars) and "64" not in str(done.run.vars)
