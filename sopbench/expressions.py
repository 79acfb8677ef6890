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
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, meta, nodes
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


def _attribute_refs(tree: nodes.Template, root: str) -> Iterator[tuple[str, int]]:
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        if isinstance(node, nodes.Getattr):
            if isinstance(node.node, nodes.Name) and node.node.name == root:
                yield node.attr, node.lineno
        elif isinstance(node, nodes.Getitem):
            target, arg = node.node, node.arg
            is_root = isinstance(target, nodes.Name) and target.name == root
            if is_root and isinstance(arg, nodes.Const) and isinstance(arg.value, str):
                yield arg.value, node.lineno


def analyse(source: str) -> TemplateInfo:
    """Parse ``source``; :class:`jinja2.TemplateSyntaxError` when it is not valid."""
    tree = environment().parse(source)
    return TemplateInfo(
        names=set(meta.find_undeclared_variables(tree)),
        steps=list(_attribute_refs(tree, "steps")),
        inputs=list(_attribute_refs(tree, "inputs")),
    )


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
