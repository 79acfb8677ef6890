"""YAML with positions: ``yaml.safe_load`` semantics, plus where each value came from.

SOP authors need every problem reported as ``path:line:col``. PyYAML's
``safe_load`` throws the node positions away, so this module composes the
node tree (libyaml when available) and builds plain Python values itself,
recording the position of every key and value by its data path
(``("steps", 2, "with", "title")``). Duplicate keys, which ``safe_load``
silently lets win, are reported instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from sopbench.errors import Problem

__all__ = ["Pos", "SourceMap", "YamlDocument", "parse_yaml"]

DataPath = tuple[str | int, ...]

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_STR_TAG = "tag:yaml.org,2002:str"
_MERGE_TAG = "tag:yaml.org,2002:merge"


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


@dataclass(slots=True)
class YamlDocument:
    """One parsed file: its data (``None`` if unreadable), positions and problems."""

    path: str
    data: Any
    source: SourceMap
    problems: list[Problem]

    def problem_at_value(self, path: DataPath, message: str) -> Problem:
        pos = self.source.value(path)
        return Problem(self.path, pos.line, pos.column, message)

    def problem_at_key(self, path: DataPath, message: str) -> Problem:
        pos = self.source.key(path)
        return Problem(self.path, pos.line, pos.column, message)


def _pos(node: Node) -> Pos:
    mark = node.start_mark
    block = isinstance(node, ScalarNode) and node.style in ("|", ">")
    return Pos(mark.line + 1, mark.column + 1, block)


class _Builder:
    """Turns a composed node tree into plain values, recording positions."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.source = SourceMap()
        self.problems: list[Problem] = []
        self._scalars = SafeConstructor()

    def build(self, node: Node, at: DataPath) -> Any:
        self.source.values[at] = _pos(node)
        if isinstance(node, ScalarNode):
            return self._scalar(node)
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
        except ConstructorError as exc:
            self._problem(node, f"cannot read this value: {exc.problem}")
            return node.value

    def _mapping(self, node: MappingNode, at: DataPath) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        first_seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                self._merge(result, value_node, at)
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
        return result

    def _merge(self, result: dict[Any, Any], value_node: Node, at: DataPath) -> None:
        sources = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
        for source in sources:
            if not isinstance(source, MappingNode):
                self._problem(source, "'<<' merges mappings only")
                continue
            for key, value in self._mapping(source, at).items():
                result.setdefault(key, value)

    def _problem(self, node: Node, message: str) -> None:
        pos = _pos(node)
        self.problems.append(Problem(self.path, pos.line, pos.column, message))


def parse_yaml(text: str, path: str) -> YamlDocument:
    """Parse one YAML document; syntax errors become problems, never exceptions."""
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        what = exc.problem or "invalid YAML"
        if exc.context:
            what = f"{what} ({exc.context})"
        return YamlDocument(
            path, None, SourceMap(), [Problem(path, line, column, f"YAML syntax error: {what}")]
        )
    except yaml.YAMLError as exc:
        return YamlDocument(path, None, SourceMap(), [Problem(path, 1, 1, f"YAML error: {exc}")])
    if root is None:
        return YamlDocument(path, None, SourceMap(), [])
    builder = _Builder(path)
    data = builder.build(root, ())
    return YamlDocument(path, data, builder.source, builder.problems)
