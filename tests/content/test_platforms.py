"""Platform rules: limits, markdown, links, smart truncation and reviewer-facing violations."""

from __future__ import annotations

import pytest

from sopbench.content.platforms import (
    ELLIPSIS,
    PLATFORMS,
    apply_links,
    apply_markdown,
    count_hashtags,
    fit,
    get_platform,
    measure,
    truncate,
    violations,
)
from sopbench.errors import NotFound

REQUIRED = [
    "discord",
    "x",
    "linkedin",
    "facebook",
    "instagram",
    "tiktok",
    "youtube",
    "twitch",
    "whatnot",
    "email",
]

TABLE = (
    "Intro\n\n| Change | Type |\n|---|---|\n| Recurring bookings | New |\n| Fixed e-mails | Fix |\n"
)


def test_every_required_platform_has_rules() -> None:
    assert set(REQUIRED) <= set(PLATFORMS)
    for rules in PLATFORMS.values():
        assert rules.max_length > 0 and rules.max_hashtags >= 0
        assert rules.as_dict()["tables"] == (rules.markdown == "full")


def test_published_limits() -> None:
    assert get_platform("x").max_length == 280
    assert get_platform("discord").max_length == 2000
    assert get_platform("linkedin").max_length == 3000
    assert get_platform("instagram").max_length == 2200
    assert get_platform("youtube").title_length == 100
    assert get_platform("twitch").max_length == 140


def test_unknown_platform_suggests_the_near_miss() -> None:
    with pytest.raises(NotFound) as caught:
        get_platform("linkdin")
    assert "linkedin" in str(caught.value)


def test_x_counts_every_link_as_23() -> None:
    rules = get_platform("x")
    url = "https://docs.summitcloud.example/changelog/a-very-long-path-indeed"
    assert measure(f"See {url}", rules) == 4 + 23
    assert measure(f"See {url}", get_platform("linkedin")) == 4 + len(url)


def test_discord_turns_tables_into_lists_and_keeps_markdown() -> None:
    text = apply_markdown("**Bold** " + TABLE, get_platform("discord"))
    assert "|---|" not in text
    assert "- Recurring bookings: New" in text
    assert "**Bold**" in text
    assert violations(text, get_platform("discord")) == []


def test_three_column_tables_keep_their_labels() -> None:
    table = "| Item | Price | Stock |\n|---|---|---|\n| RTX 4070 | $549 | 3 |\n"
    assert "- RTX 4070: Price: $549, Stock: 3" in apply_markdown(table, get_platform("discord"))


def test_plain_text_platforms_lose_markdown() -> None:
    source = "## Title\n\n**Bold** and `code`\n\n- item\n\n[Docs](https://docs.example/x)"
    text = apply_markdown(source, get_platform("linkedin"))
    assert text.splitlines()[0] == "Title"
    assert "**" not in text and "`" not in text
    assert "• item" in text
    assert "Docs: https://docs.example/x" in text
    assert violations(text, get_platform("linkedin")) == []


def test_email_keeps_tables() -> None:
    assert apply_markdown(TABLE, get_platform("email")) == TABLE


def test_links_are_replaced_where_they_do_not_work() -> None:
    text = "Sign up: https://play.summitpc.example/e/1 today"
    assert apply_links(text, get_platform("instagram")) == "Sign up (link in bio) today"
    assert "https://" not in apply_links(text, get_platform("twitch"))
    assert apply_links(text, get_platform("x")) == text


def test_truncate_prefers_a_sentence_end() -> None:
    text = "First sentence is here. Second sentence is a little longer than the first one."
    assert truncate(text, 40) == "First sentence is here."


def test_truncate_falls_back_to_a_word_boundary() -> None:
    text = "one two three four five six seven eight nine ten eleven twelve"
    cut = truncate(text, 30)
    assert len(cut) <= 30 and cut.endswith(ELLIPSIS)
    assert cut[:-1] in text and not cut[:-1].endswith(" ")
    assert text.startswith(cut[:-1]) and text[len(cut) - 1] == " "


def test_truncate_never_cuts_inside_a_link() -> None:
    text = "Read all about it at https://summitgroup.example/news/a-long-story-about-us now"
    cut = truncate(text, 50)
    assert "https://summitgroup" not in cut or "a-long-story-about-us" in cut
    assert len(cut) <= 50


def test_truncate_measures_links_as_the_platform_does() -> None:
    rules = get_platform("x")
    text = ("word " * 60) + "https://example.com/" + "x" * 200
    cut = truncate(text, rules.max_length, rules)
    assert measure(cut, rules) <= rules.max_length


def test_fit_drops_hashtags_before_cutting_the_body() -> None:
    rules = get_platform("x")
    body = "a" * 270
    kept_body, tags = fit(body, ["#One", "#Two", "#Three"], rules)
    assert kept_body == body
    assert tags == ["#One"]
    long_body = "word " * 100
    cut, tags = fit(long_body, ["#One", "#Two"], rules)
    text = f"{cut}\n\n{' '.join(tags)}" if tags else cut
    assert measure(text, rules) <= rules.max_length
    assert cut.endswith(ELLIPSIS)


def test_fit_caps_hashtags_and_skips_ones_already_in_the_body() -> None:
    rules = get_platform("instagram")
    tags = [f"#Tag{i}" for i in range(10)]
    _, kept = fit("Body mentions #tag0 already", tags, rules)
    assert kept == tags[1:6]
    assert fit("Body", tags, get_platform("discord"))[1] == []


def test_hashtags_in_links_are_not_counted() -> None:
    assert count_hashtags("See https://example.com/page#signup #LANParty") == 1


def test_violations_explain_what_to_fix() -> None:
    rules = get_platform("x")
    found = violations("x" * 300 + " #a #b #c", rules)
    assert any("too many" in v for v in found)
    assert any("3 hashtags, at most 2" in v for v in found)
    assert violations(TABLE, get_platform("discord")) == ["Discord cannot show markdown tables"]
    assert any("link in bio" in v for v in violations("https://a.example", get_platform("tiktok")))
    long_title = "t" * 101
    assert any("title" in v for v in violations("ok", get_platform("youtube"), title=long_title))
