"""Run inputs and form fields: typed values from YAML and from text."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest

from sopbench.errors import InputError
from sopbench.model import InputSpec, coerce_inputs, coerce_value


def spec(**fields: Any) -> InputSpec:
    return InputSpec.model_validate(fields)


def coerce(value: Any, **fields: Any) -> Any:
    return coerce_value(spec(**fields), value, name="x")


def refused(value: Any, **fields: Any) -> str:
    with pytest.raises(InputError) as caught:
        coerce(value, **fields)
    return caught.value.message


# -- one value -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        ("string", "hello", "hello"),
        ("string", 42, "42"),
        ("string", 1.5, "1.5"),
        ("string", date(2027, 3, 14), "2027-03-14"),
        ("text", "line one\nline two", "line one\nline two"),
        ("integer", 7, 7),
        ("integer", "7", 7),
        ("integer", " -12 ", -12),
        ("integer", "+3", 3),
        ("integer", 4.0, 4),
        ("number", 2.5, 2.5),
        ("number", 3, 3),
        ("number", "3", 3),
        ("number", "2.75", 2.75),
        ("number", "1e3", 1000.0),
        ("boolean", True, True),
        ("boolean", False, False),
        ("boolean", "yes", True),
        ("boolean", "TRUE", True),
        ("boolean", "on", True),
        ("boolean", "1", True),
        ("boolean", "no", False),
        ("boolean", "off", False),
        ("boolean", "0", False),
        ("date", date(2027, 3, 14), date(2027, 3, 14)),
        ("date", "2027-03-14", date(2027, 3, 14)),
        ("datetime", "2027-03-14T09:30:00", datetime(2027, 3, 14, 9, 30)),
        ("datetime", "2027-03-14 09:30", datetime(2027, 3, 14, 9, 30)),
        ("datetime", datetime(2027, 3, 14, 9, 30), datetime(2027, 3, 14, 9, 30)),
        ("datetime", date(2027, 3, 14), datetime(2027, 3, 14)),
    ],
)
def test_coercion(kind: str, value: Any, expected: Any) -> None:
    result = coerce(value, type=kind)
    assert result == expected
    assert type(result) is type(expected)


def test_aware_datetimes_keep_their_offset() -> None:
    result = coerce("2027-03-14T09:30:00-06:00", type="datetime")
    assert result.utcoffset() is not None
    assert result.isoformat() == "2027-03-14T09:30:00-06:00"


@pytest.mark.parametrize(
    ("kind", "value", "message"),
    [
        ("string", True, "input 'x': expected text, got true"),
        ("string", None, "input 'x': expected text, got nothing (null)"),
        ("string", ["a"], "input 'x': expected text, got a list"),
        ("string", {"a": 1}, "input 'x': expected text, got a mapping"),
        ("integer", "seven", "input 'x': expected a whole number, got 'seven'"),
        ("integer", "3.5", "input 'x': expected a whole number, got '3.5'"),
        ("integer", 3.5, "input 'x': expected a whole number, got 3.5"),
        ("integer", True, "input 'x': expected a whole number, got true/false"),
        ("integer", "", "input 'x': expected a whole number, got ''"),
        ("number", "lots", "input 'x': expected a number, got 'lots'"),
        ("number", False, "input 'x': expected a number, got true/false"),
        ("number", "nan", "input 'x': expected a number, got 'nan'"),
        ("number", "inf", "input 'x': expected a number, got 'inf'"),
        ("number", float("nan"), "input 'x': expected a number, got nan"),
        ("boolean", "maybe", "input 'x': expected true or false, got 'maybe'"),
        ("boolean", 1, "input 'x': expected true or false, got 1"),
        ("date", "14/03/2027", "input 'x': expected a date like 2027-03-14, got '14/03/2027'"),
        ("date", "2027-02-30", "input 'x': expected a date like 2027-03-14, got '2027-02-30'"),
        (
            "date",
            datetime(2027, 3, 14, 9, 0),
            "input 'x': expected a date like 2027-03-14, got a date and time",
        ),
        ("date", 20270314, "input 'x': expected a date like 2027-03-14, got 20270314"),
        (
            "datetime",
            "soon",
            "input 'x': expected a date and time like 2027-03-14T09:00, got 'soon'",
        ),
    ],
)
def test_refused_values(kind: str, value: Any, message: str) -> None:
    assert refused(value, type=kind) == message


# -- bounds ------------------------------------------------------------------------


def test_number_bounds() -> None:
    assert coerce(2, type="integer", minimum=2, maximum=64) == 2
    assert coerce("64", type="integer", minimum=2, maximum=64) == 64
    assert refused(1, type="integer", minimum=2) == "input 'x': value 1 is below the minimum 2"
    assert (
        refused("65", type="integer", maximum=64) == "input 'x': value 65 is above the maximum 64"
    )
    assert refused(-0.5, type="number", minimum=0) == "input 'x': value -0.5 is below the minimum 0"
    assert coerce(0.0, type="number", minimum=0) == 0.0


def test_length_bounds_for_text_and_lists() -> None:
    assert coerce("abc", type="string", minimum=3, maximum=3) == "abc"
    assert refused("ab", type="string", minimum=3) == "input 'x': length 2 is below the minimum 3"
    assert refused("a, b, c", type="list", maximum=2) == (
        "input 'x': length 3 is above the maximum 2"
    )


# -- enum ----------------------------------------------------------------------------


def test_enum_values() -> None:
    games = {"type": "enum", "values": ["Valorant", "Rocket League"]}
    assert coerce("Valorant", **games) == "Valorant"
    assert refused("Valorent", **games) == (
        "input 'x': expected one of Valorant, Rocket League, got 'Valorent' "
        "(did you mean 'Valorant'?)"
    )
    assert refused("Chess", **games) == (
        "input 'x': expected one of Valorant, Rocket League, got 'Chess'"
    )


def test_enum_matches_numbers_given_as_text() -> None:
    sizes = {"type": "enum", "values": [1, 2, 4]}
    assert coerce("2", **sizes) == 2
    assert coerce(4, **sizes) == 4
    assert refused(True, **sizes) == "input 'x': expected one of 1, 2, 4, got true"


# -- lists ---------------------------------------------------------------------------


def test_list_from_yaml_json_and_comma_text() -> None:
    assert coerce(["a", "b"], type="list") == ["a", "b"]
    assert coerce('["a", "b, c"]', type="list") == ["a", "b, c"]
    assert coerce("a, b ,, c", type="list") == ["a", "b", "c"]
    assert coerce("single", type="list") == ["single"]
    assert coerce("[1, 2]", type="list", items="integer") == [1, 2]
    assert coerce("1, 2", type="list", items="integer") == [1, 2]
    assert coerce(["2027-01-01"], type="list", items="date") == [date(2027, 1, 1)]
    assert coerce("yes, no", type="list", items="boolean") == [True, False]


def test_list_problems() -> None:
    assert refused("[1, 2", type="list") == (
        "input 'x': expected a JSON list like [\"a\", \"b\"], got '[1, 2'"
    )
    assert refused(5, type="list") == "input 'x': expected a list, got 5"
    assert refused({"a": 1}, type="list") == "input 'x': expected a list, got a mapping"
    assert refused("1, two", type="list", items="integer") == (
        "input 'x': expected a whole number, got 'two'"
    )


# -- a whole set of inputs -------------------------------------------------------------


SPECS = {
    "event_name": spec(type="string", required=True),
    "event_date": spec(type="date", required=True),
    "max_players": spec(type="integer", default=32, minimum=2),
    "fee": spec(type="number", default="10.5"),
    "note": spec(type="text"),
}


def test_defaults_and_optional_inputs() -> None:
    values = coerce_inputs(SPECS, {"event_name": "Cup", "event_date": "2027-03-14"})
    assert values == {
        "event_name": "Cup",
        "event_date": date(2027, 3, 14),
        "max_players": 32,
        "fee": 10.5,  # defaults are converted like given values
        "note": None,
    }


def test_given_values_win_over_defaults_and_empty_text_counts_as_missing() -> None:
    values = coerce_inputs(
        SPECS,
        {"event_name": "Cup", "event_date": date(2027, 3, 14), "max_players": "16", "note": ""},
    )
    assert values["max_players"] == 16
    assert values["note"] is None
    with pytest.raises(InputError, match="missing required input 'event_name'"):
        coerce_inputs(SPECS, {"event_name": "", "event_date": "2027-03-14"})


def test_all_problems_are_reported_in_one_error() -> None:
    with pytest.raises(InputError) as caught:
        coerce_inputs(
            SPECS,
            {"event_nmae": "Cup", "colour": "red", "max_players": 1, "fee": "free"},
        )
    assert caught.value.message == "; ".join(
        [
            "unknown input 'event_nmae' (did you mean 'event_name'?)",
            "unknown input 'colour'",
            "missing required input 'event_name'",
            "missing required input 'event_date'",
            "input 'max_players': value 1 is below the minimum 2",
            "input 'fee': expected a number, got 'free'",
        ]
    )


def test_form_fields_are_named_fields() -> None:
    form = {"rigs_ready": spec(type="integer", required=True, minimum=0)}
    with pytest.raises(InputError) as caught:
        coerce_inputs(form, {"rigs_redy": 3, "rigs_ready": -1}, what="field")
    assert caught.value.message == (
        "unknown field 'rigs_redy' (did you mean 'rigs_ready'?); "
        "field 'rigs_ready': value -1 is below the minimum 0"
    )
    assert coerce_inputs(form, {"rigs_ready": "12"}, what="field") == {"rigs_ready": 12}


def test_a_bad_default_is_a_problem_not_a_crash() -> None:
    specs = {"n": spec(type="integer", default="many")}
    with pytest.raises(InputError) as caught:
        coerce_inputs(specs, {})
    assert caught.value.message == "default of input 'n': expected a whole number, got 'many'"


def test_no_inputs() -> None:
    assert coerce_inputs({}, {}) == {}
    with pytest.raises(InputError, match="unknown input 'x'"):
        coerce_inputs({}, {"x": 1})
