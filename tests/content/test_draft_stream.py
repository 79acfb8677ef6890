"""DraftStream: the body a reviewer watches stream in is exactly the stored body."""

from __future__ import annotations

import random

import pytest

from sopbench.content.draft_stream import DraftStream, shape
from sopbench.content.platforms import ELLIPSIS, PLATFORMS, get_platform, violations

TAGS = ["#CornerShop", "#Refurbished"]


def run(platform: str, pieces: list[str], tags: list[str] | None = None) -> tuple[list[str], str]:
    seen: list[str] = []
    stream = DraftStream(get_platform(platform), tags or [], seen.append)
    for piece in pieces:
        stream.feed(piece)
    live = len(seen)
    body, _ = stream.finish()
    assert "".join(seen) == body
    return seen[:live], body


def test_plain_words_stream_live_and_the_result_is_the_batch_result() -> None:
    pieces = [
        '"',
        "Spring",
        " LAN",
        " Cup",
        " is",
        " on",
        " Saturday",
        ".",
        " Bring",
        " a",
        " rig",
        '!"',
    ]
    live, body = run("linkedin", pieces, TAGS)
    assert body == shape("".join(pieces), TAGS, get_platform("linkedin"))[0]
    assert body == "Spring LAN Cup is on Saturday. Bring a rig!"
    # word by word: a word is passed on once a space follows it
    assert live[:3] == ["Spring", " LAN", " Cup"]
    assert "".join(live) == "Spring LAN Cup is on Saturday. Bring a"


def test_markdown_on_a_plain_text_platform_is_held_until_the_end() -> None:
    pieces = ["Big", " news", " today", ":", " **free", " upgrades**", " for", " all", "."]
    live, body = run("facebook", pieces)
    assert body == "Big news today: free upgrades for all."  # ** removed, not shown then removed
    assert "".join(live) == "Big news"  # "today:" waited for a space; then came **


def test_a_link_where_links_are_not_clickable_swallows_the_colon_before_it() -> None:
    pieces = ["Tickets", " here", ":", " https://shop.example/t", " now", "."]
    live, body = run("instagram", pieces)
    rules = get_platform("instagram")
    assert body == shape("".join(pieces), [], rules)[0]
    assert ":" not in body and "https" not in body and rules.link_text in body
    assert "".join(live) == "Tickets"  # "here:" waited for what followed


def test_a_long_answer_streams_half_the_room_then_ends_truncated() -> None:
    pieces = [f" word{i}" for i in range(200)]
    live, body = run("x", pieces, TAGS)
    rules = get_platform("x")
    assert body == shape("".join(pieces), TAGS, rules)[0]
    assert body.endswith(ELLIPSIS) and not violations(body, rules)
    shown = len("".join(live))
    assert 0 < shown <= rules.max_length // 2


def test_when_a_rule_rewrites_text_already_shown_the_shown_text_is_kept() -> None:
    # truncation strips trailing dashes back past what was already passed on
    pieces = ["Deals", *[" -"] * 200]
    live, body = run("x", pieces)
    assert shape("".join(pieces), [], get_platform("x"))[0] == "Deals" + ELLIPSIS
    assert body == "".join(live) + ELLIPSIS and body.startswith("Deals - - -")
    assert not violations(body, get_platform("x"))


VOCAB = [
    "Hello", " world", ".", " **big", " deal**", " *sale*", " #LAN", "\n", "\n\n", ": ",
    " https://x.co/a", " [site](https://s.io)", '"', " `code`", "\n| a | b |\n|---|---|\n| 1 | 2 |",
    "\n- item", "\n> quote", "\n# Head", "  ", " the", " party", "!", "__u__", ",", " -", "\t",
    " é", " 🎮",
]  # fmt: skip


@pytest.mark.parametrize("seed", range(4))
def test_any_answer_on_any_platform_streams_to_the_stored_body(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(250):
        platform = rng.choice(sorted(PLATFORMS))
        pieces = [rng.choice(VOCAB) for _ in range(rng.randint(0, 150))]
        tags = rng.choice([[], TAGS])
        _, body = run(platform, pieces, tags)  # asserts join == body
        assert body == shape("".join(pieces), tags, get_platform(platform))[0]
