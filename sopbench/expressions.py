"""Templates and expressions: Jinja2 in an immutable sandbox.

One language everywhere a SOP computes something. A value that is exactly
one ``{{ expr }}`` keeps its native type (lists stay lists); any other string
containing ``{{``/``{%`` renders to text. Data from outside (form input, API
responses, LLM text) is only ever passed *into* a render as a value: the
engine never renders the result of a render again, so such data can never
run as a template.

The sandbox refuses attribute walks to internals (``__class__``,
``__globals__``, ``mro``, ...), cannot mutate data, and caps the size of
ranges, repetitions, powers, format widths and string results, and the
loop iterations of one render, so a template cannot exhaust memory or the
CPU.
"""

from __future__ import annotations

import math
import re
import string
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache, wraps
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, Undefined, nodes
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.filters import do_center, do_format, do_indent, do_replace
from jinja2.sandbox import ImmutableSandboxedEnvironment, safe_range
from jinja2.visitor import NodeTransformer

from sopbench.errors import ExpressionError

__all__ = [
    "CONTEXT_NAMES",
    "TemplateInfo",
    "analyse",
    "environment",
    "is_template",
    "render_value",
    "truthy",
]

CONTEXT_NAMES = frozenset({"inputs", "steps", "vars", "entity", "run", "item", "now"})
MAX_SIZE = 100_000  # longest string or list a template may build
MAX_POWER = 1_000
MAX_BITS = 8 * MAX_SIZE  # largest integer (in bits) a template may build
MAX_ITERATIONS = 100_000  # loop iterations (ranges included) of one render
_SINGLE = re.compile(r"^\s*\{\{(?P<expr>(?:(?!\{\{|\}\}).)*)\}\}\s*$", re.DOTALL)
_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?")
_DIGITS = re.compile(r"\d+")
_budget: ContextVar[list[int] | None] = ContextVar("sopbench_template_budget", default=None)


def truthy(value: Any) -> bool:
    """Truth of a rendered value; the text forms of false count as false."""
    if isinstance(value, str):
        return value.strip().lower() not in ("", "false", "0", "no", "none", "null")
    return bool(value)


def _sized(value: Any) -> Any:
    if isinstance(value, str | list | tuple | bytes | dict) and len(value) > MAX_SIZE:
        raise SecurityError(f"result longer than {MAX_SIZE} is refused")
    if isinstance(value, int) and value.bit_length() > MAX_BITS:
        raise SecurityError(f"integers above {MAX_BITS} bits are refused")
    return value


def _spend(count: int = 1) -> None:
    budget = _budget.get()
    if budget is not None:
        budget[0] -= count
        if budget[0] < 0:
            raise SecurityError(f"more than {MAX_ITERATIONS} loop iterations are refused")


def _counted(values: Iterable[Any]) -> Iterator[Any]:
    for value in values:
        _spend()
        yield value


class _Range:
    """``range`` whose iteration counts against the render's loop budget."""

    def __init__(self, *args: int) -> None:
        self._range = safe_range(*args)

    def __len__(self) -> int:
        return len(self._range)

    def __getitem__(self, index: Any) -> Any:
        return self._range[index]

    def __iter__(self) -> Iterator[int]:
        return _counted(self._range)

    def __contains__(self, value: object) -> bool:
        return value in self._range

    def __repr__(self) -> str:
        return repr(self._range)


def _check_width(width: Any, what: str) -> None:
    if isinstance(width, int) and width > MAX_SIZE:
        raise SecurityError(f"{what} wider than {MAX_SIZE} is refused")


def _check_percent(fmt: str) -> None:
    """Refuse ``%``-formats with huge or ``*`` widths (``'%999999999d' % 1``)."""
    for match in _PERCENT_SPEC.finditer(fmt):
        for group in match.groups():
            if group == "*":
                raise SecurityError("`*` widths in format strings are refused")
            if group:
                _check_width(int(group), "format width")


def _check_braces(fmt: str) -> None:
    """Refuse ``str.format`` specs with huge or nested widths (``'{:>999999999}'``)."""
    try:
        parts = list(string.Formatter().parse(fmt))
    except ValueError:
        return  # formatting reports it
    for _, _, spec, _ in parts:
        if spec and "{" in spec:
            raise SecurityError("nested fields in format specs are refused")
        for digits in _DIGITS.findall(spec or ""):
            _check_width(int(digits), "format width")


def _weight(value: Any) -> int:
    try:
        return max(len(value), 1)
    except TypeError:
        return 1


def _safe_center(value: Any, width: int = 80) -> str:
    _check_width(width, "center")
    return do_center(value, width)


def _safe_indent(value: Any, width: int | str = 4, first: bool = False, blank: bool = False) -> str:
    lines = str(value).count("\n") + 1
    _check_width(_weight(width) * lines if isinstance(width, str) else width * lines, "indent")
    return do_indent(value, width, first, blank)


def _safe_format(value: Any, *args: Any, **kwargs: Any) -> str:
    _check_percent(str(value))
    return str(_sized(do_format(value, *args, **kwargs)))


@wraps(do_replace)
def _safe_replace(eval_ctx: Any, value: Any, old: Any, new: Any, count: int | None = None) -> str:
    text = str(value)
    hits = text.count(str(old)) if count is None else min(count, text.count(str(old)))
    if len(text) + hits * (len(str(new)) - len(str(old))) > MAX_SIZE:
        raise SecurityError(f"result longer than {MAX_SIZE} is refused")
    return do_replace(eval_ctx, value, old, new, count)


_WIDTH_METHODS = frozenset({"center", "ljust", "rjust", "zfill"})
_SIZED_FILTER = "sopbench_sized"
_COUNTED_FILTER = "sopbench_counted"


def _filter(node: nodes.Expr, name: str) -> nodes.Filter:
    return nodes.Filter(node, name, [], [], None, None, lineno=node.lineno)


class _Guard(NodeTransformer):
    """Checks the size of every call, filter and ``~`` result; counts loop iterations.

    Doubling a value in a loop (``ns.s ~ ns.s``, ``[s, s] | join``) is so
    refused at the first step past :data:`MAX_SIZE`, and nested loops stop
    at :data:`MAX_ITERATIONS` in all.
    """

    def _wrap(self, node: nodes.Node) -> nodes.Node:
        inner = self.generic_visit(node)
        assert isinstance(inner, nodes.Expr)
        return _filter(inner, _SIZED_FILTER)

    visit_Call = visit_Filter = visit_Concat = _wrap

    def _keep(self, node: nodes.Node, field_name: str) -> nodes.Node:
        """Nodes whose field must stay a Call/Filter node: guard only inside it."""
        kept = getattr(node, field_name)
        self.generic_visit(node)
        if kept is not None:
            setattr(node, field_name, self.generic_visit(kept))
        return node

    def visit_CallBlock(self, node: nodes.CallBlock) -> nodes.Node:
        return self._keep(node, "call")

    def visit_FilterBlock(self, node: nodes.FilterBlock) -> nodes.Node:
        return self._keep(node, "filter")

    def visit_AssignBlock(self, node: nodes.AssignBlock) -> nodes.Node:
        return self._keep(node, "filter")

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        assert isinstance(node.iter, nodes.Expr)
        node.iter = _filter(node.iter, _COUNTED_FILTER)
        return node


class _SopSandbox(ImmutableSandboxedEnvironment):
    """The sandbox plus limits on operators, filters and loops that can blow up."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def getattr(self, obj: Any, attribute: str) -> Any:
        # Data first: `inputs.items` is the input named items, not dict.items.
        if isinstance(obj, dict) and attribute in obj:
            return obj[attribute]
        return super().getattr(obj, attribute)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        fmt = str(value.__self__)

        def checked(*args: Any, **kwargs: Any) -> str:
            _check_braces(fmt)
            return str(_sized(wrapped(*args, **kwargs)))

        return checked

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        # str.center/ljust/rjust/zfill build their result before any size check
        name = getattr(__obj, "__name__", "")
        if isinstance(getattr(__obj, "__self__", None), str) and name in _WIDTH_METHODS:
            if args:
                _check_width(args[0], name)
        return super().call(__context, __obj, *args, **kwargs)

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**":
            if isinstance(right, int | float) and abs(right) > MAX_POWER:
                raise SecurityError(f"powers above {MAX_POWER} are refused")
            if isinstance(left, int) and isinstance(right, int):
                if abs(left).bit_length() * abs(right) > MAX_BITS:
                    raise SecurityError(f"integers above {MAX_BITS} bits are refused")
            return _sized(left**right)
        if operator == "*":
            for a, b in ((left, right), (right, left)):
                if isinstance(a, str | list | tuple) and isinstance(b, int):
                    size = len(a) if isinstance(a, str) else sum(_weight(x) for x in a)
                    if size * b > MAX_SIZE:
                        raise SecurityError(f"result longer than {MAX_SIZE} is refused")
            return _sized(left * right)
        if operator == "%" and isinstance(left, str):
            _check_percent(left)
            return _sized(left % right)
        if operator == "%":
            return left % right
        return _sized(left + right)

    def _generate(
        self,
        source: nodes.Template,
        name: str | None,
        filename: str | None,
        defer_init: bool = False,
    ) -> str:
        guarded = _Guard().visit(source)
        assert isinstance(guarded, nodes.Template)
        return super()._generate(guarded, name, filename, defer_init=defer_init)


@lru_cache(maxsize=1)
def environment() -> ImmutableSandboxedEnvironment:
    """The one shared, sandboxed Jinja2 environment."""
    env = _SopSandbox(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
    env.globals.pop("lipsum", None)
    env.globals.pop("cycler", None)
    env.globals.pop("joiner", None)
    env.globals["range"] = _Range
    env.filters.update(
        {
            _SIZED_FILTER: _sized,
            _COUNTED_FILTER: _counted,
            "center": _safe_center,
            "indent": _safe_indent,
            "format": _safe_format,
            "replace": _safe_replace,
        }
    )
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


def _defined(value: Any) -> Any:
    """``value``, refused when it is (or holds) an undefined value.

    ``{{ inputs.nope }}`` evaluates to an undefined object rather than
    failing; it must fail here, with the reason, not later as a crash.
    """
    if isinstance(value, Undefined):
        value._fail_with_undefined_error()
    if isinstance(value, float) and not math.isfinite(value):
        raise ArithmeticError(f"{value} is not a finite number")
    if isinstance(value, list | tuple):
        for item in value:
            _defined(item)
    elif isinstance(value, dict):
        for item in value.values():
            _defined(item)
    return value


def _render_string(text: str, context: Mapping[str, Any]) -> Any:
    if not is_template(text):
        return text
    single = _SINGLE.match(text)
    if single:
        return _defined(_compile_expression(single.group("expr").strip())(**context))
    return _sized(_compile_template(text).render(**context))


def render_value(
    value: Any, context: Mapping[str, Any], *, skip: frozenset[str] = frozenset()
) -> Any:
    """Render every template string inside ``value`` (dicts and lists walked).

    Keys listed in ``skip`` (top level only) are returned untouched: nested
    step lists render when their own steps run.
    """
    scope = {"now": _now, **context}
    token = _budget.set([MAX_ITERATIONS])
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
    except (MemoryError, RecursionError) as exc:
        raise ExpressionError(f"template too large: {type(exc).__name__}") from None
    except Exception as exc:  # a filter misused (FilterArgumentError, AssertionError...)
        raise ExpressionError(f"template failed: {type(exc).__name__}: {exc}") from None
    finally:
        _budget.reset(token)


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
