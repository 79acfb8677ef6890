"""Per-platform publishing rules: length, hashtags, markdown and links.

The lengths are the platforms' published limits (X 280 for standard
accounts, LinkedIn 3,000, Instagram and TikTok captions 2,200, YouTube titles
100 and descriptions 5,000, Discord messages 2,000, Twitch stream titles
140). ``max_hashtags`` is the house rule drafts are held to (Instagram's own
cap is stricter than its old 30; we keep every platform to a handful).
Whatnot publishes no text limits; its numbers are house limits.
:func:`violations` is what a reviewer sees before approving a draft;
:func:`fit` and :func:`truncate` shorten text at a sentence or word boundary.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Literal

from sopbench.errors import NotFound
from sopbench.suggest import did_you_mean

__all__ = [
    "PLATFORMS",
    "Markdown",
    "PlatformRules",
    "Style",
    "apply_links",
    "apply_markdown",
    "count_hashtags",
    "fit",
    "get_platform",
    "measure",
    "truncate",
    "violations",
]

Style = Literal["short", "post", "chat", "email", "video", "stream"]
"""Which variant of a content template a platform uses."""

Markdown = Literal["none", "no_tables", "full"]
"""``none``: plain text only; ``no_tables``: markdown without tables (Discord); ``full``."""

LinkPolicy = Literal["clickable", "not_clickable", "none"]

URL = re.compile(r"https?://[^\s)>\]]+")
HASHTAG = re.compile(r"(?<![\w#&])#[A-Za-z][\w]*")
ELLIPSIS = "…"


@dataclass(frozen=True)
class PlatformRules:
    """What a draft for one platform must respect."""

    id: str
    name: str
    style: Style
    max_length: int
    """Most characters in the body (hashtags included)."""
    max_hashtags: int
    markdown: Markdown
    links: LinkPolicy
    """``not_clickable``: URLs in the body are replaced by ``link_text``; ``none``: dropped."""
    link_weight: int | None = None
    """Every URL counts as this many characters (X shortens links to 23)."""
    title_length: int | None = None
    """Longest title or subject line, for platforms that have one."""
    link_text: str = "link in bio"
    note: str = ""

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "name": self.name,
            "style": self.style,
            "max_length": self.max_length,
            "max_hashtags": self.max_hashtags,
            "markdown": self.markdown,
            "tables": self.markdown == "full",
            "links": self.links,
            "link_weight": self.link_weight,
            "title_length": self.title_length,
            "note": self.note,
        }


PLATFORMS: dict[str, PlatformRules] = {
    rules.id: rules
    for rules in (
        PlatformRules(
            "discord",
            "Discord",
            "chat",
            2000,
            0,
            "no_tables",
            "clickable",
            note="Webhook message content is at most 2,000 characters; markdown without tables; "
            "hashtags mean nothing on Discord.",
        ),
        PlatformRules(
            "x",
            "X",
            "short",
            280,
            2,
            "none",
            "clickable",
            link_weight=23,
            note="280 characters for standard accounts; every link counts as 23.",
        ),
        PlatformRules(
            "linkedin",
            "LinkedIn",
            "post",
            3000,
            5,
            "none",
            "clickable",
            note="3,000 characters; about 210 show before 'see more', so lead with the news.",
        ),
        PlatformRules(
            "facebook",
            "Facebook",
            "post",
            63206,
            3,
            "none",
            "clickable",
            note="63,206 characters; the first ~480 show before 'see more'.",
        ),
        PlatformRules(
            "instagram",
            "Instagram",
            "post",
            2200,
            5,
            "none",
            "not_clickable",
            note="2,200-character captions, at most 5 hashtags; links in captions do not work.",
        ),
        PlatformRules(
            "tiktok",
            "TikTok",
            "short",
            2200,
            5,
            "none",
            "not_clickable",
            note="2,200-character captions; links in captions do not work.",
        ),
        PlatformRules(
            "youtube",
            "YouTube",
            "video",
            5000,
            3,
            "none",
            "clickable",
            title_length=100,
            note="Titles 100 and descriptions 5,000 characters; the first 3 hashtags show "
            "above the title.",
        ),
        PlatformRules(
            "twitch",
            "Twitch",
            "stream",
            140,
            0,
            "none",
            "none",
            title_length=140,
            note="The stream title (140 characters) is the go-live text; no links.",
        ),
        PlatformRules(
            "whatnot",
            "Whatnot",
            "stream",
            1000,
            3,
            "none",
            "not_clickable",
            title_length=60,
            link_text="link in profile",
            note="House limits (Whatnot publishes none): show title 60, description 1,000.",
        ),
        PlatformRules(
            "email",
            "Email",
            "email",
            20000,
            0,
            "full",
            "clickable",
            title_length=78,
            note="Subject lines up to 78 characters; the body is markdown rendered to HTML.",
        ),
    )
}


def get_platform(platform: str) -> PlatformRules:
    """The rules of ``platform``; :class:`NotFound` with a suggestion when unknown."""
    try:
        return PLATFORMS[platform]
    except KeyError:
        hint = did_you_mean(platform, PLATFORMS).strip(" ()") or "known: " + ", ".join(PLATFORMS)
        raise NotFound(f"unknown platform '{platform}'", hint=hint) from None


def measure(text: str, rules: PlatformRules) -> int:
    """Length of ``text`` as the platform counts it."""
    if rules.link_weight is None:
        return len(text)
    return len(URL.sub("x" * rules.link_weight, text))


def count_hashtags(text: str) -> int:
    """Hashtags in ``text``; ``#fragment`` parts of URLs are not hashtags."""
    return len(HASHTAG.findall(URL.sub("", text)))


# -- markdown ------------------------------------------------------------------

_TABLE_SEPARATOR = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def _tables_to_lists(text: str) -> str:
    """Markdown tables become bullet lists: ``- first cell: header: value, header: value``
    (``- first cell: value`` for two-column tables)."""
    lines = text.split("\n")
    out: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        following = lines[index + 1] if index + 1 < len(lines) else ""
        if line.lstrip().startswith("|") and _TABLE_SEPARATOR.match(following):
            headers = _cells(line)
            index += 2
            while index < len(lines) and lines[index].lstrip().startswith("|"):
                cells = _cells(lines[index])
                labelled = len(headers) > 2  # one value column needs no label
                rest = [
                    f"{header}: {cell}" if header and labelled else cell
                    for header, cell in zip(headers[1:], cells[1:], strict=False)
                    if cell
                ]
                out.append(f"- {cells[0]}" + (f": {', '.join(rest)}" if rest else ""))
                index += 1
            continue
        out.append(line)
        index += 1
    return "\n".join(out)


def _plain(text: str) -> str:
    """Markdown to plain text that reads well where markdown is not rendered."""
    text = _tables_to_lists(text)
    text = re.sub(r"\[([^\]]+)\]\((https?://[^)\s]+)\)", r"\1: \2", text)
    text = re.sub(r"^\s{0,3}#{1,6}\s+", "", text, flags=re.MULTILINE)
    text = re.sub(r"\*\*(.+?)\*\*|__(.+?)__", lambda m: m.group(1) or m.group(2), text)
    text = re.sub(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])", r"\1", text)
    text = re.sub(r"`([^`]+)`", r"\1", text)
    text = re.sub(r"^(\s*)[-*+]\s+", r"\1• ", text, flags=re.MULTILINE)
    return re.sub(r"^\s*>\s?", "", text, flags=re.MULTILINE)


def apply_markdown(text: str, rules: PlatformRules) -> str:
    """Text the platform can show: tables turned into lists, or all markdown removed."""
    if rules.markdown == "full":
        return text
    if rules.markdown == "no_tables":
        return _tables_to_lists(text)
    return _plain(text)


def apply_links(text: str, rules: PlatformRules) -> str:
    """URLs as the platform handles them."""
    if rules.links == "clickable":
        return text
    replacement = f"({rules.link_text})" if rules.links == "not_clickable" else ""
    text = re.sub(r"\[([^\]]+)\]\((https?://[^)\s]+)\)", r"\1", text)
    text = re.sub(r"[:\s]*" + URL.pattern, " " + replacement if replacement else "", text)
    return re.sub(r"[ \t]+\n", "\n", re.sub(r" {2,}", " ", text)).strip()


# -- fitting -------------------------------------------------------------------

_SENTENCE_END = re.compile(r"[.!?](?=\s)|\n")


def truncate(text: str, limit: int, rules: PlatformRules | None = None) -> str:
    """``text`` cut to ``limit`` (as the platform counts), at a sentence end if one is
    near, else at a word boundary with an ellipsis; never inside a URL."""
    size = (lambda t: measure(t, rules)) if rules is not None else len
    text = text.strip()
    if size(text) <= limit:
        return text
    if limit <= 1:
        return ELLIPSIS[:limit]
    # the longest prefix that fits with an ellipsis
    low, high = 0, len(text)
    while low < high:
        mid = (low + high + 1) // 2
        if size(text[:mid].rstrip() + ELLIPSIS) <= limit:
            low = mid
        else:
            high = mid - 1
    head = text[:low]
    for url in URL.finditer(text):
        if url.start() < low < url.end():
            head = text[: url.start()]
    sentence_ends = [m.end() for m in _SENTENCE_END.finditer(head)]
    if sentence_ends and sentence_ends[-1] >= 0.5 * len(head):
        return head[: sentence_ends[-1]].rstrip()
    space = max(head.rfind(" "), head.rfind("\n"))
    if space >= 0.5 * len(head):
        head = head[:space]
    return head.rstrip(" ,;:-\u2013\u2014\n") + ELLIPSIS


def fit(body: str, hashtags: list[str], rules: PlatformRules) -> tuple[str, list[str]]:
    """Body and hashtags that together respect the platform's limits.

    Hashtags are capped at ``max_hashtags``; when the body is too long, hashtags
    are dropped from the end first (down to one), then the body is truncated.
    """
    tags = [tag for tag in hashtags if tag.lower() not in body.lower()][: rules.max_hashtags]

    def joined(text: str, chosen: list[str]) -> str:
        return f"{text}\n\n{' '.join(chosen)}" if chosen else text

    while tags and measure(joined(body, tags), rules) > rules.max_length and len(tags) > 1:
        tags = tags[:-1]
    if measure(joined(body, tags), rules) <= rules.max_length:
        return body, tags
    room = rules.max_length - (measure(joined("", tags), rules) if tags else 0)
    if tags and room < rules.max_length // 2:
        tags, room = [], rules.max_length
    return truncate(body, room, rules), tags


def violations(text: str, rules: PlatformRules, *, title: str | None = None) -> list[str]:
    """Every rule ``text`` breaks on the platform, as sentences a reviewer can act on."""
    problems = []
    length = measure(text, rules)
    if length > rules.max_length:
        problems.append(
            f"{rules.name}: {length} characters, the limit is {rules.max_length} "
            f"({length - rules.max_length} too many)"
        )
    tags = count_hashtags(text)
    if tags > rules.max_hashtags:
        problems.append(f"{rules.name}: {tags} hashtags, at most {rules.max_hashtags}")
    if rules.markdown != "full":
        lines = text.split("\n")
        if any(
            line.lstrip().startswith("|") and _TABLE_SEPARATOR.match(nxt)
            for line, nxt in itertools.pairwise(lines)
        ):
            problems.append(f"{rules.name} cannot show markdown tables")
    if rules.markdown == "none" and re.search(r"\*\*.+?\*\*|^#{1,6}\s", text, re.MULTILINE):
        problems.append(f"{rules.name} shows markdown as plain text (** and # would be visible)")
    if rules.links != "clickable" and URL.search(text):
        what = "are not clickable" if rules.links == "not_clickable" else "are not allowed"
        problems.append(f"links on {rules.name} {what}; say '{rules.link_text}' instead")
    if title is not None and rules.title_length is not None and len(title) > rules.title_length:
        problems.append(
            f"{rules.name}: title has {len(title)} characters, the limit is {rules.title_length}"
        )
    return problems
