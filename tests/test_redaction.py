"""Masking works on data, not on JSON text: any character, numbers and keys untouched."""

from __future__ import annotations

import base64
import html
import json
from urllib.parse import quote, quote_plus

import pytest

from sopbench.redaction import MASK, MIN_SECRET_LENGTH, Redactor, redact_data, redact_text

ODD = [
    'say "cheese"-42',  # a double quote
    "back\\slash-key",  # a backslash
    "tab\tinside-it",  # a tab
    "pässwörd-ünï",  # non-ASCII letters
    "20270314",  # digits only, the digits of a date
]


@pytest.mark.parametrize("secret", ODD)
def test_every_character_is_masked_in_nested_data(secret: str) -> None:
    value = {
        "headers": {"authorization": f"Bearer {secret}"},
        "list": [secret, 1, None, True, {"deep": (f"x{secret}y", 2.5)}],
    }
    masked = redact_data(value, [secret])
    assert masked == {
        "headers": {"authorization": "Bearer ***"},
        "list": [MASK, 1, None, True, {"deep": ("x***y", 2.5)}],
    }
    assert secret not in repr(masked)


def test_numbers_dates_and_keys_are_never_touched() -> None:
    secret = "20270314"
    value = {
        "date": "2027-03-14",
        "number": 20270314,
        "float": 20270314.0,
        "flag": False,
        secret: "the key stays",
        "text": f"order {secret} shipped",
    }
    assert redact_data(value, [secret]) == {
        "date": "2027-03-14",
        "number": 20270314,
        "float": 20270314.0,
        "flag": False,
        secret: "the key stays",
        "text": "order *** shipped",
    }


def test_the_json_form_stays_valid_json() -> None:
    secret = "20270314"
    value = {"when": "2027-03-14T09:00:00", "id": 20270314, "note": f'a "{secret}" \\ b'}
    text = json.dumps(redact_data(value, [secret]))
    assert json.loads(text) == {
        "when": "2027-03-14T09:00:00",
        "id": 20270314,
        "note": 'a "***" \\ b',
    }


@pytest.mark.parametrize("secret", ODD)
def test_the_spellings_a_secret_travels_in_are_masked(secret: str) -> None:
    forms = {
        "query": f"https://api.example/x?token={quote(secret, safe='')}&n=1",
        "form": f"token={quote_plus(secret, safe='')}",
        "userinfo": f"https://svc:{quote(secret, safe='')}@api.example/",
        "json text": json.dumps({"key": secret}),
        "json text, utf-8": json.dumps({"key": secret}, ensure_ascii=False),
        "basic": "Basic " + base64.b64encode(secret.encode()).decode(),
    }
    masked = redact_data(forms, [secret])
    for name, text in masked.items():
        assert MASK in text, name
        assert secret not in text and quote(secret, safe="") not in text, name
    assert masked["query"] == "https://api.example/x?token=***&n=1"
    assert masked["userinfo"] == "https://svc:***@api.example/"


def test_a_secret_inside_another_is_masked_whole() -> None:
    short, long = "abcdefgh", "xx-abcdefgh-yy"
    assert redact_text(f"{long} and {short}", [short, long]) == "*** and ***"


def test_values_under_the_minimum_are_not_masked() -> None:
    assert MIN_SECRET_LENGTH == 8
    assert redact_text("the year 2027", ["2027"]) == "the year 2027"
    redactor = Redactor(["2027", "long-enough-1"])
    assert redactor.secrets == frozenset({"long-enough-1"})
    assert not Redactor(["short"])


def test_nothing_to_mask_gives_the_same_object() -> None:
    value = {"a": ["b"]}
    assert Redactor().data(value) is value
    assert Redactor(["long-enough-1"]).text("plain") == "plain"
    assert "long-enough-1" not in repr(Redactor(["long-enough-1"]))


def test_mixed_and_other_escapes_are_masked() -> None:
    secret = 'hoök"to\\ken-42'
    texts = [
        "POST /hooks/ho%C3%B6k%22to\\ken-42?wait=true",  # httpx leaves a backslash unencoded
        "ho%c3%b6k%22to%5cken-42",  # lower-case hex
        repr(f"x{secret}y"),  # a Python repr (\\ for the backslash)
        "<p>" + html.escape(secret) + "</p>",  # an HTML error page
        json.dumps({"t": secret}),
        str(secret.encode("utf-8")),  # b'ho\xc3\xb6k...', as httpcore logs headers
    ]
    masked = [redact_text(text, [secret]) for text in texts]
    assert all("ken-42" not in text for text in masked), masked
    assert masked[0] == "POST /hooks/***?wait=true"
    rocket = "rocket-\U0001f680-launch"
    assert redact_text(json.dumps({"t": rocket}), [rocket]) == '{"t": "***"}'  # a surrogate pair
    assert redact_text("the rocket- launch", [rocket]) == "the rocket- launch"
