"""Content templates: reusable drafts that need no LLM.

A template is one file, ``sops/templates/<name>.j2``: YAML front matter
between ``---`` lines, then Jinja2 blocks, one per style of platform::

    ---
    description: Announce news (a contract win, a launch, a milestone).
    variables:
      headline: {required: true, example: "Summit Federal IT awarded Help Desk Modernization"}
      link: {example: "https://summitfederal.example/news"}
    hashtags: ["#Announcement"]
    link: link                      # the variable holding the main link
    voices:                         # phrases in each entity's voice; `default` for the rest
      default: {opener: "News from {{ entity.name }}:"}
      computer_store: {opener: "GG, squad!"}
    ---
    {% block title %}{{ headline }}{% endblock %}
    {% block post %}{{ tone.opener }} {{ headline }}{% endblock %}
    {% block short %}...{% endblock %}

Blocks: ``post`` (required), ``short``, ``chat``, ``email``, ``video``,
``stream`` and ``title``. A platform renders the block of its style, falling
back to ``post`` (``stream`` falls back to ``short`` first). Blocks see the
variables, ``entity`` (its entities.yaml entry), ``voice``, ``tone`` (the
voice phrases, rendered) and ``platform`` (its rules), plus three filters:
``sentence`` (end with punctuation), ``nice_date`` (``Sunday, March 14 at
5 PM``; ``nice_date('short')``: ``Sun Mar 14, 5 PM``) and ``money``
(``$2.4M``, ``$12,500``). Rendering uses the sandboxed environment of
:mod:`sopbench.expressions` (an overlay adding those filters); variables
are passed in as values and never rendered again.

After rendering, the text is adapted to the platform (markdown, links),
hashtags are added (template, variables, then the entity's unless
``entity_hashtags: false``) within the platform's limit, and the whole is
fitted to the platform's length at a sentence or word boundary.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, Template, TemplateSyntaxError, UndefinedError
from jinja2.exceptions import SecurityError
from pydantic import Field, model_validator

from sopbench.content.platforms import (
    PlatformRules,
    apply_links,
    apply_markdown,
    fit,
    get_platform,
    truncate,
    violations,
)
from sopbench.errors import ExpressionError, InputError, NotFound, Problem
from sopbench.expressions import environment
from sopbench.model.common import Identifier, Strict
from sopbench.suggest import did_you_mean
from sopbench.validation import validate_model
from sopbench.yamlsource import parse_yaml

__all__ = [
    "BLOCKS",
    "ContentTemplate",
    "RenderedDraft",
    "TemplateLibrary",
    "TemplateMeta",
    "load_templates",
]

TEMPLATES_FOLDER = "templates"
SUFFIX = ".j2"
BLOCKS = ("post", "short", "chat", "email", "video", "stream", "title")
RESERVED = frozenset({"entity", "platform", "tone", "voice", "hashtags"})
_FALLBACK: dict[str, tuple[str, ...]] = {
    "post": ("post",),
    "short": ("short", "post"),
    "chat": ("chat", "post"),
    "email": ("email", "post"),
    "video": ("video", "post"),
    "stream": ("stream", "short", "post"),
}


class VariableSpec(Strict):
    """A value the template needs from the SOP's ``variables``."""

    description: str | None = None
    required: bool = False
    default: Any = None
    example: Any = Field(default=None, description="Used by previews, docs and tests.")


class TemplateMeta(Strict):
    """The front matter of a template file."""

    description: str
    variables: dict[Identifier, VariableSpec] = Field(default_factory=dict)
    hashtags: list[str] = Field(default_factory=list, description="Topic hashtags.")
    link: Identifier | None = Field(default=None, description="The variable holding the link.")
    entity_hashtags: bool = Field(
        default=True, description="Add the entity's hashtags (off for messages to one person)."
    )
    voices: dict[str, dict[Identifier, str]] = Field(
        default_factory=dict, description="Entity id (or `default`) to phrases in its voice."
    )

    @model_validator(mode="after")
    def _consistent(self) -> TemplateMeta:
        clash = sorted(RESERVED & set(self.variables))
        if clash:
            raise ValueError(f"variable names {clash} are reserved; rename them")
        if self.link is not None and self.link not in self.variables:
            raise ValueError(f"`link: {self.link}` names no declared variable")
        default = self.voices.get("default", {})
        for entity, phrases in self.voices.items():
            missing = sorted(set(phrases) - set(default))
            if entity != "default" and missing:
                raise ValueError(
                    f"voices.{entity} has phrases {missing} that voices.default lacks; "
                    "every phrase needs a default"
                )
        bad = [tag for tag in self.hashtags if not re.fullmatch(r"#[A-Za-z]\w*", tag)]
        if bad:
            raise ValueError(f"hashtags must look like #Word, not {bad[0]!r}")
        return self


@dataclass(frozen=True)
class RenderedDraft:
    """One template rendered for one entity and platform."""

    template: str
    entity: str
    platform: str
    body: str
    hashtags: list[str]
    title: str | None
    violations: list[str]
    voice_warnings: list[str]

    @property
    def text(self) -> str:
        """What gets published: the body, then the hashtags."""
        return f"{self.body}\n\n{' '.join(self.hashtags)}" if self.hashtags else self.body

    def as_dict(self) -> dict[str, Any]:
        return {
            "template": self.template,
            "entity": self.entity,
            "platform": self.platform,
            "title": self.title,
            "body": self.body,
            "hashtags": self.hashtags,
            "text": self.text,
            "violations": self.violations,
            "voice_warnings": self.voice_warnings,
        }


@dataclass
class ContentTemplate:
    """A loaded, compiled template."""

    name: str
    path: str
    meta: TemplateMeta
    compiled: Template
    first_line: int

    @property
    def blocks(self) -> set[str]:
        return set(self.compiled.blocks)

    def example_variables(self) -> dict[str, Any]:
        return {
            name: spec.example
            for name, spec in self.meta.variables.items()
            if spec.example is not None
        }

    def _values(self, variables: Mapping[str, Any]) -> dict[str, Any]:
        missing = [
            name
            for name, spec in self.meta.variables.items()
            if spec.required and variables.get(name) in (None, "")
        ]
        if missing:
            raise InputError(
                f"template '{self.name}' needs {', '.join(missing)}",
                hint="pass them under the content_generate step's `variables`",
            )
        values = {name: spec.default for name, spec in self.meta.variables.items()}
        values.update({k: v for k, v in variables.items() if k not in RESERVED})
        return values

    def _block(self, name: str, context: dict[str, Any]) -> str:
        render = self.compiled.blocks[name]
        try:
            return "".join(render(self.compiled.new_context(context)))
        except (UndefinedError, SecurityError, TypeError, ValueError, LookupError) as exc:
            raise ExpressionError(
                f"template '{self.name}' block '{name}' failed: {exc}", path=self.path
            ) from None

    def _tone(self, entity_id: str, context: dict[str, Any]) -> dict[str, str]:
        phrases = {**self.meta.voices.get("default", {}), **self.meta.voices.get(entity_id, {})}
        env = content_environment()
        tone = {}
        for key, phrase in phrases.items():
            try:
                tone[key] = env.from_string(phrase).render(context).strip()
            except (UndefinedError, SecurityError, TemplateSyntaxError) as exc:
                raise ExpressionError(
                    f"template '{self.name}' voice phrase '{key}' failed: {exc}", path=self.path
                ) from None
        return tone

    def render(
        self,
        entity: Mapping[str, Any],
        platform: str | PlatformRules,
        variables: Mapping[str, Any] | None = None,
        *,
        extra_hashtags: list[str] | None = None,
    ) -> RenderedDraft:
        """The draft for ``entity`` (its entities.yaml data plus ``id``) on ``platform``."""
        rules = platform if isinstance(platform, PlatformRules) else get_platform(platform)
        entity_id = str(entity.get("id", ""))
        values = self._values(variables or {})
        voice = dict(entity.get("voice") or {})
        context: dict[str, Any] = {
            **values,
            "entity": dict(entity),
            "voice": voice,
            "platform": rules.as_dict(),
        }
        context["tone"] = self._tone(entity_id, context)
        block = next(b for b in _FALLBACK[rules.style] if b in self.compiled.blocks)
        body = _tidy(self._block(block, context))
        body = apply_links(apply_markdown(body, rules), rules)
        tags = _dedupe(
            [
                *self.meta.hashtags,
                *(extra_hashtags or []),
                *_as_tags(values.get("hashtags")),
                *(_as_tags(entity.get("hashtags")) if self.meta.entity_hashtags else []),
            ]
        )
        body, tags = fit(body, tags, rules)
        title = None
        if "title" in self.compiled.blocks and rules.title_length is not None:
            raw_title = " ".join(_tidy(self._block("title", context)).split())
            title = truncate(apply_markdown(raw_title, get_platform("x")), rules.title_length)
        text = f"{body}\n\n{' '.join(tags)}" if tags else body
        return RenderedDraft(
            template=self.name,
            entity=entity_id,
            platform=rules.id,
            body=body,
            hashtags=tags,
            title=title,
            violations=violations(text, rules, title=title),
            voice_warnings=voice_warnings(f"{title or ''}\n{text}", voice),
        )


def voice_warnings(text: str, voice: Mapping[str, Any]) -> list[str]:
    """Words the entity's voice avoids that appear in ``text`` (``guarantee`` also
    finds ``guaranteed``, not ``guarantor``)."""
    lowered = text.lower()
    return [
        f"uses '{word}', which this entity's voice avoids"
        for word in voice.get("avoid", [])
        if isinstance(word, str)
        and re.search(rf"(?<!\w){re.escape(word.lower())}(?:s|d|ed|ing)?(?!\w)", lowered)
    ]


def _as_tags(value: Any) -> list[str]:
    if isinstance(value, str):
        value = value.split()
    if not isinstance(value, list):
        return []
    return [f"#{str(v).lstrip('#')}" for v in value if str(v).strip("# ")]


def _dedupe(tags: list[str]) -> list[str]:
    seen: dict[str, str] = {}
    for tag in tags:
        seen.setdefault(tag.lower(), tag)
    return list(seen.values())


def _tidy(text: str) -> str:
    lines = [line.rstrip() for line in text.strip().split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


# -- the environment -----------------------------------------------------------


def _sentence(value: Any) -> str:
    """Text ending in punctuation: ``"We won"`` becomes ``"We won."``."""
    text = str(value).strip()
    return text if not text or text[-1] in ".!?…:" else f"{text}."


def _parse_moment(value: Any) -> date | datetime | None:
    if isinstance(value, datetime | date):
        return value
    text = str(value).strip()
    for parse in (datetime.fromisoformat, date.fromisoformat):
        try:
            moment: date | datetime = parse(text)
        except ValueError:
            continue
        if isinstance(moment, datetime) and "T" not in text and " " not in text:
            return moment.date()
        return moment
    return None


def _nice_date(value: Any, style: str = "long") -> str:
    """``2027-03-14`` as ``Sunday, March 14`` (``short``: ``Sun Mar 14``), time included."""
    moment = _parse_moment(value)
    if moment is None:
        return str(value)
    day = moment.strftime("%a %b %-d" if style == "short" else "%A, %B %-d")
    if isinstance(moment, datetime):
        clock = moment.strftime("%-I:%M %p").replace(":00 ", " ")
        return f"{day}, {clock}" if style == "short" else f"{day} at {clock}"
    return day


def _money(value: Any) -> str:
    """``2400000`` as ``$2.4M``, ``12500`` as ``$12,500``, ``140.0`` as ``$140``."""
    try:
        amount = float(value)
    except (TypeError, ValueError):
        return str(value)
    if abs(amount) >= 1_000_000:
        return f"${amount / 1_000_000:.1f}M".replace(".0M", "M")
    if amount.is_integer():
        return f"${amount:,.0f}"
    return f"${amount:,.2f}"


@lru_cache(maxsize=1)
def content_environment() -> Environment:
    """The expressions sandbox, overlaid with a few text filters for templates."""
    env = environment().overlay()
    env.filters = {
        **env.filters,
        "sentence": _sentence,
        "nice_date": _nice_date,
        "money": _money,
    }
    return env


# -- loading -------------------------------------------------------------------

_FRONT = re.compile(r"\A---[ \t]*\r?\n(?P<meta>.*?)^---[ \t]*\r?\n", re.DOTALL | re.MULTILINE)


@dataclass
class TemplateLibrary:
    """Every template of a workspace, plus the problems found loading them."""

    folder: Path
    templates: dict[str, ContentTemplate] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def get(self, name: str) -> ContentTemplate:
        try:
            return self.templates[name]
        except KeyError:
            hint = did_you_mean(name, self.templates).strip(" ()") or (
                f"templates live in {self.folder}"
            )
            raise NotFound(f"no content template named '{name}'", hint=hint) from None

    def names(self) -> list[str]:
        return sorted(self.templates)


def _load_one(path: Path, shown: str, problems: list[Problem]) -> ContentTemplate | None:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(Problem(shown, 1, 1, f"cannot read the template: {exc}"))
        return None
    match = _FRONT.match(text)
    if match is None:
        problems.append(
            Problem(shown, 1, 1, "a template starts with YAML front matter between --- lines")
        )
        return None
    doc = parse_yaml(match.group("meta"), shown)
    # front matter starts on the file's second line
    for problem in doc.problems:
        problems.append(Problem(shown, problem.line + 1, problem.column, problem.message))
    if doc.data is None:
        if not doc.problems:
            problems.append(Problem(shown, 2, 1, "the front matter is empty; add `description:`"))
        return None
    found: list[Problem] = []
    meta = validate_model(doc, TemplateMeta, doc.data, problems=found)
    problems.extend(Problem(p.path, p.line + 1, p.column, p.message) for p in found)
    body_line = text[: match.end()].count("\n") + 1
    body = "\n" * (body_line - 1) + text[match.end() :]  # Jinja line numbers = file lines
    try:
        compiled = content_environment().from_string(body)
    except TemplateSyntaxError as exc:
        problems.append(Problem(shown, exc.lineno or body_line, 1, f"template syntax: {exc}"))
        return None
    unknown = sorted(set(compiled.blocks) - set(BLOCKS))
    if unknown:
        problems.append(
            Problem(shown, body_line, 1, f"unknown block(s) {unknown}; use {', '.join(BLOCKS)}")
        )
    if "post" not in compiled.blocks:
        problems.append(Problem(shown, body_line, 1, "every template needs a `post` block"))
    if meta is None or unknown or "post" not in compiled.blocks:
        return None
    return ContentTemplate(path.stem, shown, meta, compiled, body_line)


def load_templates(home: str | Path) -> TemplateLibrary:
    """Read ``<home>/sops/templates/*.j2``; problems are collected, never raised.

    Files starting with ``_`` are left out (drafts, partials).
    """
    home = Path(home)
    folder = home / "sops" / TEMPLATES_FOLDER
    library = TemplateLibrary(folder)
    if not folder.is_dir():
        return library
    for path in sorted(folder.glob(f"*{SUFFIX}")):
        if path.name.startswith(("_", ".")):
            continue
        try:
            shown = path.relative_to(home).as_posix()
        except ValueError:
            shown = path.as_posix()
        template = _load_one(path, shown, library.problems)
        if template is not None:
            library.templates[template.name] = template
    return library


@lru_cache(maxsize=8)
def _cached(folder: str, stamp: tuple[tuple[str, float], ...]) -> TemplateLibrary:
    return load_templates(Path(folder))


def templates_of(home: str | Path) -> TemplateLibrary:
    """:func:`load_templates`, cached until a template file changes."""
    folder = Path(home) / "sops" / TEMPLATES_FOLDER
    stamp = (
        tuple((p.name, p.stat().st_mtime) for p in sorted(folder.glob(f"*{SUFFIX}")))
        if folder.is_dir()
        else ()
    )
    return _cached(str(Path(home)), stamp)
