"""Templates and expressions: Jinja2 in an immutable sandbox.

One language everywhere a SOP computes something. A value that is exactly
one ``{{ expr }}`` keeps its native type (lists stay lists); any other string
containing ``{{``/``{%`` renders to text. Data from outside (form input, API
responses, LLM text) is only ever passed *into* a render as a value: the
engine never renders the result of a render again, so such data can never
run as a template.

The sandbox refuses attribute walks to internals (``__class__``,
``__globals__``, ``mro``, ...), cannot mutate data, and caps the size of
ranges, repetitions, powers and string results so a template cannot
exhaust memory or the CPU.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, nodes
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from sopbench.errors import ExpressionError

__all__ = [
    "CONTEXT_NAMES",
    "TemplateInfo",
    "analyse",
    "environment",
    "is_template",
    "render_value",
]

CONTEXT_NAMES = frozenset({"inputs", "steps", "vars", "entity", "run", "item", "now"})
MAX_SIZE = 100_000  # longest string or list a template may build
MAX_POWER = 1_000
_SINGLE = re.compile(r"^\s*\{\{(?P<expr>(?:(?!\{\{|\}\}).)*)\}\}\s*$", re.DOTALL)


def _sized(value: Any) -> Any:
    if isinstance(value, str | list | tuple | bytes) and len(value) > MAX_SIZE:
        raise SecurityError(f"result longer than {MAX_SIZE} is refused")
    return value


class _SopSandbox(ImmutableSandboxedEnvironment):
    """The sandbox plus limits on operators that can blow up sizes."""

    intercepted_binops = frozenset({"*", "**", "+"})

    def getattr(self, obj: Any, attribute: str) -> Any:
        # Data first: `inputs.items` is the input named items, not dict.items.
        if isinstance(obj, dict) and attribute in obj:
            return obj[attribute]
        return super().getattr(obj, attribute)

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**":
            if isinstance(right, int | float) and abs(right) > MAX_POWER:
                raise SecurityError(f"powers above {MAX_POWER} are refused")
            return _sized(left**right)
        if operator == "*":
            for a, b in ((left, right), (right, left)):
                if isinstance(a, str | list | tuple) and isinstance(b, int):
                    if len(a) * b > MAX_SIZE:
                        raise SecurityError(f"result longer than {MAX_SIZE} is refused")
            return _sized(left * right)
        return _sized(left + right)


@lru_cache(maxsize=1)
def environment() -> ImmutableSandboxedEnvironment:
    """The one shared, sandboxed Jinja2 environment."""
    env = _SopSandbox(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
    env.globals.pop("lipsum", None)
    env.globals.pop("cycler", None)
    env.globals.pop("joiner", None)
    return env


def is_template(text: object) -> bool:
    return isinstance(text, str) and ("{{" in text or "{%" in text)


@dataclass
class TemplateInfo:
    """What a template refers to, with the template line of each reference."""

    names: set[str] = field(default_factory=set)
    steps: list[tuple[str, int]] = field(default_factory=list)
    inputs: list[tuple[str, int]] = field(default_factory=list)


_KEYWORDS = frozenset(
    "and or not in is if else true false none True False None loop super self".split()
)
_SIMPLE_PART = re.compile(r"\{\{\s*([A-Za-z_]\w*)((?:\.[A-Za-z_]\w*)*)\s*\}\}")


def _analyse_simple(source: str) -> TemplateInfo | None:
    """Fast path for text with only ``{{ a.b.c }}`` interpolations (most templates).

    Such a template is always valid Jinja2, so its references can be read with
    a regular expression instead of a full parse. None when the fast path does
    not apply.
    """
    info = TemplateInfo()
    rest = []
    last = 0
    for match in _SIMPLE_PART.finditer(source):
        root, attrs = match.group(1), match.group(2)
        if root in _KEYWORDS:
            return None
        rest.append(source[last : match.start()])
        last = match.end()
        line = source.count("\n", 0, match.start()) + 1
        info.names.add(root)
        if attrs and root in ("steps", "inputs"):
            getattr(info, root).append((attrs.split(".")[1], line))
    rest.append(source[last:])
    remainder = "".join(rest)
    if "{{" in remainder or "{%" in remainder or "{#" in remainder:
        return None
    return info


def _analyse_tree(tree: nodes.Template) -> TemplateInfo:
    """Names read, and ``steps.x`` / ``inputs.x`` references, in one walk."""
    info = TemplateInfo()
    assigned: set[str] = set()
    for node in tree.find_all((nodes.Name, nodes.Getattr, nodes.Getitem)):
        if isinstance(node, nodes.Name):
            (info.names if node.ctx == "load" else assigned).add(node.name)
            continue
        if not isinstance(node, nodes.Getattr | nodes.Getitem):
            continue
        target = node.node
        if not (isinstance(target, nodes.Name) and target.name in ("steps", "inputs")):
            continue
        if isinstance(node, nodes.Getattr):
            key: object = node.attr
        elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
            key = node.arg.value
        else:
            continue
        if isinstance(key, str):
            getattr(info, target.name).append((key, node.lineno))
    info.names -= assigned
    return info


def analyse(source: str) -> TemplateInfo:
    """Parse ``source``; :class:`jinja2.TemplateSyntaxError` when it is not valid."""
    simple = _analyse_simple(source)
    if simple is not None:
        return simple
    return _analyse_tree(environment().parse(source))


@lru_cache(maxsize=4096)
def _compile_expression(expr: str) -> Callable[..., Any]:
    return environment().compile_expression(expr, undefined_to_none=False)


@lru_cache(maxsize=4096)
def _compile_template(source: str) -> Any:
    return environment().from_string(source)


def _now() -> datetime:
    return datetime.now(UTC)


def _render_string(text: str, context: Mapping[str, Any]) -> Any:
    if not is_template(text):
        return text
    single = _SINGLE.match(text)
    if single:
        return _compile_expression(single.group("expr").strip())(**context)
    return _sized(_compile_template(text).render(**context))


def render_value(
    value: Any, context: Mapping[str, Any], *, skip: frozenset[str] = frozenset()
) -> Any:
    """Render every template string inside ``value`` (dicts and lists walked).

    Keys listed in ``skip`` (top level only) are returned untouched: nested
    step lists render when their own steps run.
    """
    scope = {"now": _now, **context}
    try:
        return _render(value, scope, skip)
    except TemplateSyntaxError as exc:
        raise ExpressionError(f"template syntax error: {exc.message}") from None
    except UndefinedError as exc:
        raise ExpressionError(f"undefined value in template: {exc.message}") from None
    except SecurityError as exc:
        raise ExpressionError(f"refused by the template sandbox: {exc}") from None
    except (TypeError, ValueError, ArithmeticError, LookupError, OverflowError) as exc:
        raise ExpressionError(f"template failed: {type(exc).__name__}: {exc}") from None


def _render(value: Any, scope: Mapping[str, Any], skip: frozenset[str]) -> Any:
    if isinstance(value, str):
        return _render_string(value, scope)
    if isinstance(value, dict):
        return {
            key: (item if key in skip else _render(item, scope, frozenset()))
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_render(item, scope, frozenset()) for item in value]
    return value
