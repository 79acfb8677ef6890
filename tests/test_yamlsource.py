"""YAML with positions: safe_load semantics, plus where every key and value is."""

from __future__ import annotations

import os
import re
from datetime import date

import pytest
import yaml

from sopbench.yamlsource import Pos, parse_yaml


def messages(text: str) -> list[str]:
    return [f"{p.line}:{p.column}: {p.message}" for p in parse_yaml(text, "x.yaml").problems]


def test_values_match_safe_load() -> None:
    text = """\
name: Spring Cup
count: 32
ratio: 0.5
flag: true
off_flag: no
nothing: ~
day: 2027-03-14
hex: 0x1F
items: [a, 1, {b: 2}]
nested:
  deep:
    - x
    - y: z
"""
    doc = parse_yaml(text, "x.yaml")
    assert doc.problems == []
    assert doc.data == yaml.safe_load(text)
    assert doc.data["day"] == date(2027, 3, 14)
    assert doc.path == "x.yaml"


def test_positions_of_keys_and_values() -> None:
    text = """\
sop_id: demo
steps:
  - id: first
    with: {title: "Go?", approvers: [manager, owner]}
  - id: second
"""
    doc = parse_yaml(text, "x.yaml")
    assert doc.source.key(("sop_id",)) == Pos(1, 1)
    assert doc.source.value(("sop_id",)) == Pos(1, 9)
    assert doc.source.value(("steps",)) == Pos(3, 3)
    assert doc.source.value(("steps", 0)) == Pos(3, 5)
    assert doc.source.key(("steps", 0, "id")) == Pos(3, 5)
    assert doc.source.value(("steps", 0, "id")) == Pos(3, 9)
    assert doc.source.key(("steps", 0, "with", "title")) == Pos(4, 12)
    assert doc.source.value(("steps", 0, "with", "title")) == Pos(4, 19)
    assert doc.source.value(("steps", 0, "with", "approvers", 1)) == Pos(4, 47)
    assert doc.source.value(("steps", 1, "id")) == Pos(5, 9)


def test_unknown_paths_fall_back_to_the_nearest_ancestor() -> None:
    doc = parse_yaml("steps:\n  - id: a\n    with: {x: 1}\n", "x.yaml")
    assert doc.source.value(("steps", 0, "with", "missing", 3)) == Pos(3, 11)
    assert doc.source.key(("steps", 0)) == Pos(2, 5)  # a list item has no key: its value
    assert doc.source.value(("nothing", "here")) == Pos(1, 1)
    problem = doc.problem_at_key(("steps", 0, "with", "x"), "bad")
    assert str(problem) == "x.yaml:3:12: bad"
    assert str(doc.problem_at_value(("steps", 0, "with", "x"), "bad")) == "x.yaml:3:15: bad"


def test_block_scalar_flag() -> None:
    text = "a: |\n  one\n  two\nb: >\n  folded\nc: plain\nd: 'quoted'\n"
    doc = parse_yaml(text, "x.yaml")
    assert doc.source.value(("a",)) == Pos(1, 4, block=True)
    assert doc.source.value(("b",)) == Pos(4, 4, block=True)
    assert doc.source.value(("c",)).block is False
    assert doc.source.value(("d",)).block is False
    assert doc.data["a"] == "one\ntwo\n"


def test_search_inside_a_value() -> None:
    text = (
        'a: x\nmsg: "Hello {{ steps.one.x }}"\nblock: |\n  line {{ inputs.a }}\n  {{ inputs.a }}\n'
    )
    doc = parse_yaml(text, "x.yaml")
    assert doc.search(("msg",), re.compile(r"steps\.one")) == Pos(2, 16)
    assert doc.search(("block",), re.compile(r"inputs\.a")) == Pos(4, 11)
    assert doc.search(("block",), re.compile(r"inputs\.a"), line=5) == Pos(5, 6)
    assert doc.search(("block",), re.compile(r"x(?P<at>y)?z")) is None
    assert doc.search(("a",), re.compile(r"Hello")) is None, "search stays inside the value"
    assert doc.search(("nowhere",), re.compile(r"a")) is None
    named = re.compile(r"\{\{\s*(?P<at>steps)")
    assert doc.search(("msg",), named) == Pos(2, 16)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: 1\na: 2\n", ["2:1: duplicate key 'a' (first defined on line 1)"]),
        (
            "steps:\n  - id: x\n    type: manual\n    type: approval\n",
            ["4:5: duplicate key 'type' (first defined on line 3)"],
        ),
        (
            "a:\n  b:\n    c: {d: 1, d: 2}\n",
            ["3:15: duplicate key 'd' (first defined on line 3)"],
        ),
        (
            "a: [{x: 1, y: 2, x: 3}]\nb: 1\nb: 2\n",
            [
                "1:18: duplicate key 'x' (first defined on line 1)",
                "3:1: duplicate key 'b' (first defined on line 2)",
            ],
        ),
    ],
)
def test_duplicate_keys_at_any_depth(text: str, expected: list[str]) -> None:
    assert messages(text) == expected


def test_first_of_duplicate_keys_is_kept() -> None:
    doc = parse_yaml("name: first\nname: second\n", "x.yaml")
    assert doc.data == {"name": "first"}
    assert doc.source.value(("name",)) == Pos(1, 7)


def test_anchors_and_aliases() -> None:
    text = "base: &people [ann, bob]\ncopy: *people\n"
    doc = parse_yaml(text, "x.yaml")
    assert doc.problems == []
    assert doc.data == {"base": ["ann", "bob"], "copy": ["ann", "bob"]}
    assert doc.source.value(("copy", 1)) == Pos(1, 21)  # where the value is written


def test_merge_keys() -> None:
    text = """\
base: &base {a: 1, b: 2, c: 3}
before:
  b: 20
  <<: *base
after:
  <<: *base
  c: 30
many:
  <<: [{a: first}, {a: second, d: 4}]
"""
    doc = parse_yaml(text, "x.yaml")
    assert doc.problems == []
    assert doc.data["before"] == {"a": 1, "b": 20, "c": 3}
    assert doc.data["after"] == {"a": 1, "b": 2, "c": 30}
    assert doc.data["many"] == {"a": "first", "d": 4}
    assert doc.data == yaml.safe_load(text)
    # explicit keys keep their own positions, merged ones point into the anchor
    assert doc.source.value(("before", "b")) == Pos(3, 6)
    assert doc.source.value(("before", "a")) == Pos(1, 17)
    assert doc.source.value(("after", "c")) == Pos(7, 6)


def test_merge_of_a_non_mapping_is_a_problem() -> None:
    assert messages("a:\n  <<: [1]\n  b: 2\n") == ["2:8: '<<' merges mappings only"]


def test_problems_inside_aliased_nodes_are_reported_once() -> None:
    text = "a: &x {k: 1, k: 2}\nb: *x\nc:\n  <<: *x\n"
    assert messages(text) == ["1:14: duplicate key 'k' (first defined on line 1)"]


def test_yaml_1_1_words_as_keys_stay_text() -> None:
    doc = parse_yaml("on: push\nyes: 1\nno: 2\nnull: 3\n1.5: x\n3: y\n", "x.yaml")
    assert doc.data == {"on": "push", "yes": 1, "no": 2, "null": 3, "1.5": "x", 3: "y"}
    assert doc.source.key(("on",)) == Pos(1, 1)


def test_yaml_1_1_words_as_values_are_booleans() -> None:
    assert parse_yaml("a: yes\nb: off\n", "x.yaml").data == {"a": True, "b": False}


def test_complex_keys_are_problems() -> None:
    assert messages("? [a, b]\n: 1\n") == [
        "1:3: a key must be a plain value, not a list or mapping"
    ]


@pytest.mark.parametrize(
    ("text", "tag"),
    [
        ("a: !!python/object:os.system {}\n", "!!python/object:os.system"),
        ('a: !!python/object/apply:os.system ["echo hi"]\n', "!!python/object/apply:os.system"),
        ("a: !!python/name:os.system\n", "!!python/name:os.system"),
        ("a: !!python/tuple [1, 2]\n", "!!python/tuple"),
        ("a: !!set {x, y}\n", "!!set"),
        ("a: !custom value\n", "!custom"),
    ],
)
def test_unsafe_and_unknown_tags_are_problems(text: str, tag: str) -> None:
    assert messages(text) == [
        f"1:4: the tag '{tag}' is not allowed: sopbench reads plain YAML only "
        "(text, numbers, true/false, dates, lists and mappings); remove the tag"
    ]


def test_python_tags_are_not_executed(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(os, "system", calls.append)
    doc = parse_yaml('a: !!python/object/apply:os.system ["echo hacked"]\n', "x.yaml")
    assert calls == []
    assert doc.data == {"a": ["echo hacked"]}  # the plain list, never the call


def test_standard_tags_still_work() -> None:
    doc = parse_yaml("a: !!str 5\nb: !!int '7'\nc: !!map {x: 1}\nd: !!seq [1]\n", "x.yaml")
    assert doc.problems == []
    assert doc.data == {"a": "5", "b": 7, "c": {"x": 1}, "d": [1]}


def test_impossible_dates_are_problems_not_crashes() -> None:
    doc = parse_yaml("a: 2027-13-45\nb: 2027-02-29\nc: '2027-02-30'\n", "x.yaml")
    assert [f"{p.line}:{p.column}: {p.message}" for p in doc.problems] == [
        "1:4: cannot read '2027-13-45' as a date (month must be in 1..12); "
        "correct it, or quote it to keep it as text",
        "2:4: cannot read '2027-02-29' as a date (day is out of range for month); "
        "correct it, or quote it to keep it as text",
    ]
    assert doc.data == {"a": "2027-13-45", "b": "2027-02-29", "c": "2027-02-30"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "a: 1\n b: 2\n",
            "2:3: YAML syntax error: mapping values are not allowed in this context; "
            "check the indentation of this line, or quote a value that contains ': '",
        ),
        (
            "a:\n  b: 1\n c: 2\n",
            "3:2: YAML syntax error: did not find expected key (while parsing a block mapping "
            "that starts on line 1); check the indentation of this line",
        ),
        (
            'a: "open\nb: 1\n',
            "1:4: YAML syntax error: the quote opened here is never closed "
            "(found unexpected end of stream on line 3, column 1)",
        ),
        (
            "a: 'open\n",
            "1:4: YAML syntax error: the quote opened here is never closed "
            "(found unexpected end of stream on line 2, column 1)",
        ),
        (
            "a: [1, 2\nb: 1\n",
            "1:4: YAML syntax error: the `[` opened here is not closed properly "
            "(did not find expected ',' or ']' on line 2, column 2); "
            "check for a missing `,` or `]`",
        ),
        (
            "a: {x: 1\nb: 1\n",
            "1:4: YAML syntax error: the `{` opened here is not closed properly "
            "(did not find expected ',' or '}' on line 2, column 2); "
            "check for a missing `,` or `}`",
        ),
        (
            "a:\n\tb: 1\n",
            "2:1: YAML syntax error: a tab character here; "
            "YAML is indented with spaces, never tabs",
        ),
        (
            "x: |\n  a\n\tb\n",
            "3:1: YAML syntax error: a tab character here; "
            "YAML is indented with spaces, never tabs",
        ),
        (
            'a: "\\q"\n',
            "1:5: YAML syntax error: found unknown escape character (while parsing a quoted "
            "scalar); in double quotes write \\\\ for a backslash, or use single quotes",
        ),
        ("a: *nowhere\n", "1:4: YAML syntax error: found undefined alias"),
        (
            "a: @x\n",
            "1:4: YAML syntax error: found character that cannot start any token "
            "(while scanning for the next token)",
        ),
    ],
)
def test_syntax_errors_point_at_the_cause(text: str, expected: str) -> None:
    doc = parse_yaml(text, "x.yaml")
    assert doc.data is None
    assert messages(text) == [expected]


@pytest.mark.parametrize("text", ["a: 1\n---\nb: 2\n", "---\na: 1\n---\na: 2\n"])
def test_multi_document_files_are_refused(text: str) -> None:
    (message,) = messages(text)
    assert "YAML syntax error: a second YAML document starts here" in message
    assert message.startswith(f"{text.count(chr(10), 0, text.rindex('---')) + 1}:1: ")


def test_one_explicit_document_is_fine() -> None:
    assert parse_yaml("---\na: 1\n...\n", "x.yaml").data == {"a": 1}


@pytest.mark.parametrize("text", ["", "   \n", "# only a comment\n", "---\n"])
def test_empty_documents_have_no_data_and_no_problems(text: str) -> None:
    doc = parse_yaml(text, "x.yaml")
    assert doc.data is None
    assert doc.problems == []


def test_alias_bombs_are_stopped() -> None:
    lines = ['a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for index in range(8):
        prev, name = chr(ord("a") + index), chr(ord("b") + index)
        lines.append(f"{name}: &{name} [{', '.join([f'*{prev}'] * 9)}]")
    doc = parse_yaml("\n".join(lines) + "\n", "x.yaml")
    assert doc.data is None
    assert [p.message for p in doc.problems] == [
        "the file expands to more than 100000 values (aliases used recursively?); "
        "write the values out instead"
    ]


def test_lines_are_kept_for_searching() -> None:
    doc = parse_yaml("a: 1\r\nb: 2\r\n", "x.yaml")
    assert doc.lines[:2] == ["a: 1", "b: 2"]
    assert doc.source.value(("b",)) == Pos(2, 4)
