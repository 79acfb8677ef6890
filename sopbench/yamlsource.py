"""YAML with positions: ``yaml.safe_load`` semantics, plus where each value came from.

SOP authors need every problem reported as ``path:line:col``. PyYAML's
``safe_load`` throws the node positions away, so this module composes the
node tree (libyaml when available) and builds plain Python values itself,
recording the position of every key and value by its data path
(``("steps", 2, "with", "title")``). Duplicate keys, which ``safe_load``
silently lets win, are reported instead; so are tags that ``safe_load`` would
refuse (``!!python/object``: never executed) and values it cannot build
(``2027-13-45``). Aliases are expanded, within a limit, so a "billion laughs"
file is a problem rather than a hung process.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from sopbench.errors import Problem

__all__ = ["LazySourceMap", "Pos", "SourceMap", "YamlDocument", "parse_yaml"]

DataPath = tuple[str | int, ...]

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_STR_TAG = "tag:yaml.org,2002:str"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_PLAIN_TAGS: dict[type[Node], str] = {
    MappingNode: "tag:yaml.org,2002:map",
    SequenceNode: "tag:yaml.org,2002:seq",
}
_KINDS = {"tag:yaml.org,2002:timestamp": "date", "tag:yaml.org,2002:int": "number"}
_LINE_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")  # YAML's line breaks
_MAX_NODES = 100_000  # far beyond any real SOP; stops alias bombs


class _TooLarge(Exception):
    """Raised when alias expansion builds more than :data:`_MAX_NODES` values."""


@dataclass(frozen=True, slots=True)
class Pos:
    """1-based line and column; ``block`` is True for ``|`` / ``>`` scalars."""

    line: int
    column: int
    block: bool = False


@dataclass(slots=True)
class SourceMap:
    """Positions of values and keys by data path."""

    values: dict[DataPath, Pos] = field(default_factory=dict)
    keys: dict[DataPath, Pos] = field(default_factory=dict)
    ends: dict[DataPath, Pos] = field(default_factory=dict)
    """Where each value's text ends (exclusive), for searching inside it."""

    def value(self, path: DataPath) -> Pos:
        """Position of the value at ``path``, or of its nearest known ancestor."""
        return self._nearest(self.values, path)

    def key(self, path: DataPath) -> Pos:
        """Position of the key naming ``path`` (falls back to the value)."""
        if path in self.keys:
            return self.keys[path]
        return self._nearest(self.values, path)

    @staticmethod
    def _nearest(table: dict[DataPath, Pos], path: DataPath) -> Pos:
        for end in range(len(path), -1, -1):
            pos = table.get(path[:end])
            if pos is not None:
                return pos
        return Pos(1, 1)


class LazySourceMap(SourceMap):
    """The positions of a file that is parsed again only when a position is asked for.

    Documents restored from the load cache carry this instead of their full
    position table: positions are needed only to report a problem.
    """

    def __init__(self, file: Path, shown: str) -> None:  # no super(): the tables are lazy
        self._file = file
        self._shown = shown
        self._loaded: SourceMap | None = None

    def _load(self) -> SourceMap:
        if self._loaded is None:
            text = self._file.read_text(encoding="utf-8", errors="replace")
            self._loaded = parse_yaml(text, self._shown).source
        return self._loaded

    @property
    def values(self) -> dict[DataPath, Pos]:  # type: ignore[override]
        return self._load().values

    @property
    def keys(self) -> dict[DataPath, Pos]:  # type: ignore[override]
        return self._load().keys

    @property
    def ends(self) -> dict[DataPath, Pos]:  # type: ignore[override]
        return self._load().ends


@dataclass(slots=True)
class YamlDocument:
    """One parsed file: its data (``None`` if unreadable), positions and problems."""

    path: str
    data: Any
    source: SourceMap
    problems: list[Problem]
    lines: list[str] = field(default_factory=list)
    """The file's text, line by line (empty when it could not be read)."""

    def search(self, path: DataPath, pattern: re.Pattern[str], *, line: int = 0) -> Pos | None:
        """Where ``pattern`` first matches inside the source text of the value at ``path``.

        With ``line``, only that line of the value is searched. When the pattern
        has a group named ``at``, its start is returned. None when the value
        has no recorded text or the pattern is not found.
        """
        start, end = self.source.values.get(path), self.source.ends.get(path)
        if start is None or end is None:
            return None
        for number in range(start.line, end.line + 1):
            if (line and number != line) or number > len(self.lines):
                continue
            text = self.lines[number - 1]
            low = start.column - 1 if number == start.line else 0
            high = end.column - 1 if number == end.line else len(text)
            found = pattern.search(text, low, high)
            if found:
                group = "at" if "at" in pattern.groupindex else 0
                return Pos(number, found.start(group) + 1)
        return None

    def problem_at_value(self, path: DataPath, message: str) -> Problem:
        pos = self.source.value(path)
        return Problem(self.path, pos.line, pos.column, message)

    def problem_at_key(self, path: DataPath, message: str) -> Problem:
        pos = self.source.key(path)
        return Problem(self.path, pos.line, pos.column, message)


def _pos(node: Node) -> Pos:
    mark = node.start_mark
    return Pos(
        mark.line + 1, mark.column + 1, node.__class__ is ScalarNode and node.style in ("|", ">")
    )


class _Builder:
    """Turns a composed node tree into plain values, recording positions."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.source = SourceMap()
        self.problems: list[Problem] = []
        self._scalars = SafeConstructor()
        self._built = 0

    def build(self, node: Node, at: DataPath) -> Any:
        self._built += 1
        if self._built > _MAX_NODES:
            raise _TooLarge
        self.source.values[at] = _pos(node)
        self.source.ends[at] = Pos(node.end_mark.line + 1, node.end_mark.column + 1)
        if isinstance(node, ScalarNode):
            return self._scalar(node)
        if type(node) in _PLAIN_TAGS and node.tag != _PLAIN_TAGS[type(node)]:
            self._problem(node, _tag_message(node.tag))
        if isinstance(node, SequenceNode):
            return [self.build(child, (*at, index)) for index, child in enumerate(node.value)]
        if isinstance(node, MappingNode):
            return self._mapping(node, at)
        return None  # pragma: no cover - composer yields only the three kinds

    def _scalar(self, node: ScalarNode) -> Any:
        if node.tag == _STR_TAG:
            return node.value
        try:
            return self._scalars.construct_object(node, deep=True)
        except ConstructorError:
            self._problem(node, _tag_message(node.tag))
        except (ValueError, OverflowError) as exc:
            self._problem(
                node,
                f"cannot read {node.value!r} as a {_KINDS.get(node.tag, 'value')} ({exc}); "
                "correct it, or quote it to keep it as text",
            )
        return node.value

    def _mapping(self, node: MappingNode, at: DataPath) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        first_seen: dict[Any, int] = {}
        merges: list[Node] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                merges.append(value_node)
                continue
            if not isinstance(key_node, ScalarNode):
                self._problem(key_node, "a key must be a plain value, not a list or mapping")
                continue
            key = self._scalar(key_node)
            if isinstance(key, bool | float) or key is None:
                key = key_node.value  # `on:`/`yes:` keys stay text, as authors mean them
            if key in first_seen:
                self._problem(
                    key_node,
                    f"duplicate key '{key}' (first defined on line {first_seen[key]})",
                )
                continue
            first_seen[key] = key_node.start_mark.line + 1
            self.source.keys[(*at, key)] = _pos(key_node)
            result[key] = self.build(value_node, (*at, key))
        for value_node in merges:
            self._merge(result, value_node, at)
        return result

    def _merge(self, result: dict[Any, Any], value_node: Node, at: DataPath) -> None:
        """``<<: *base`` adds the keys of the merged mappings not already set.

        Keys written in the mapping itself win, wherever the ``<<`` line is;
        with several sources (``<<: [*a, *b]``) the first one wins.
        """
        sources = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
        for source in sources:
            if not isinstance(source, MappingNode):
                self._problem(source, "'<<' merges mappings only")
                continue
            merged = _Builder(self.path)
            merged._built = self._built
            values = merged._mapping(source, at)
            self._built = merged._built
            self.problems.extend(merged.problems)
            for key, value in values.items():
                if key in result:
                    continue
                result[key] = value
                prefix = (*at, key)
                for mine, theirs in (
                    (self.source.values, merged.source.values),
                    (self.source.keys, merged.source.keys),
                    (self.source.ends, merged.source.ends),
                ):
                    mine.update(
                        (path, pos) for path, pos in theirs.items() if path[: len(prefix)] == prefix
                    )

    def _problem(self, node: Node, message: str) -> None:
        pos = _pos(node)
        self.problems.append(Problem(self.path, pos.line, pos.column, message))


def _tag_message(tag: str) -> str:
    shown = tag.replace("tag:yaml.org,2002:", "!!")
    return (
        f"the tag '{shown}' is not allowed: sopbench reads plain YAML only "
        "(text, numbers, true/false, dates, lists and mappings); remove the tag"
    )


def _syntax_message(exc: yaml.MarkedYAMLError, lines: list[str]) -> tuple[int, int, str]:
    """Line, column and a readable message for a YAML syntax error."""
    mark = exc.problem_mark or exc.context_mark
    line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    problem = exc.problem or "invalid YAML"
    context, start = exc.context or "", exc.context_mark
    text = lines[line - 1] if 0 < line <= len(lines) else ""
    if "tab character" in problem or text[column - 1 : column] == "\t":
        return line, column, "a tab character here; YAML is indented with spaces, never tabs"
    if "another document" in problem:
        return (
            line,
            column,
            "a second YAML document starts here; a sopbench file holds exactly one, "
            "so remove this `---` and what follows (or move it to its own file)",
        )
    if start is not None and (start.line, start.column) != (line - 1, column - 1):
        where = f"{problem} on line {line}, column {column}"
        if "quoted scalar" in context and "end of stream" in problem:
            return (
                start.line + 1,
                start.column + 1,
                f"the quote opened here is never closed ({where})",
            )
        if context.startswith("while parsing a flow"):
            bracket = "[" if "sequence" in context else "{"
            closer = "]" if bracket == "[" else "}"
            return (
                start.line + 1,
                start.column + 1,
                f"the `{bracket}` opened here is not closed properly ({where}); "
                f"check for a missing `,` or `{closer}`",
            )
        if start.line + 1 != line:
            context = f"{context} that starts on line {start.line + 1}"
    what = f"{problem} ({context})" if context else problem
    if "escape" in problem:
        what += "; in double quotes write \\\\ for a backslash, or use single quotes"
    elif "mapping values are not allowed" in problem:
        what += "; check the indentation of this line, or quote a value that contains ': '"
    elif "expected key" in problem or "expected '-'" in problem:
        what += "; check the indentation of this line"
    return line, column, what


def parse_yaml(text: str, path: str) -> YamlDocument:
    """Parse one YAML document; syntax errors become problems, never exceptions."""
    lines = _LINE_BREAK.split(text)
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        line, column, what = _syntax_message(exc, lines)
        problem = Problem(path, line, column, f"YAML syntax error: {what}")
        return YamlDocument(path, None, SourceMap(), [problem], lines)
    except yaml.YAMLError as exc:
        return YamlDocument(path, None, SourceMap(), [Problem(path, 1, 1, f"YAML error: {exc}")])
    if root is None:
        return YamlDocument(path, None, SourceMap(), [], lines)
    builder = _Builder(path)
    try:
        data = builder.build(root, ())
    except _TooLarge:
        message = (
            f"the file expands to more than {_MAX_NODES} values (aliases used "
            "recursively?); write the values out instead"
        )
        return YamlDocument(path, None, SourceMap(), [Problem(path, 1, 1, message)], lines)
    problems = list(dict.fromkeys(builder.problems))  # aliases repeat their problems
    return YamlDocument(path, data, builder.source, problems, lines)
