"""Placeholders for what only a real run can know, so every SOP can be dry-run.

A dry-run never calls out, so an API step's response body, a CRM record's
fields or a media asset are unknown. Later templates that read them
(``{{ steps.lookup.json.account.id }}``) must still render, or a dry-run of a
perfectly good SOP would fail. In a dry-run, step results are exposed to
templates through :func:`lenient`: a missing or empty field reads as a
:class:`Simulated` value that renders as ``<simulated steps.lookup.json.account.id>``
and keeps answering further lookups the same way.

``Simulated`` is a ``str`` so it stores and prints as its text; it iterates as
empty, so loops over unknown lists run zero times.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

_JINJA_MARKERS = frozenset(
    {
        "unsafe_callable",
        "alters_data",
        "jinja_pass_arg",
        "jinja_async_variant",
        "contextfunction",
        "evalcontextfunction",
        "environmentfunction",
    }
)

__all__ = ["Simulated", "SimulatedResult", "is_simulated", "lenient"]


class Simulated(str):
    """An unknown value at ``path``; looking inside it gives more unknowns."""

    path: str

    def __new__(cls, path: str) -> Simulated:
        value = super().__new__(cls, f"<simulated {path}>")
        value.path = path
        return value

    def __getattr__(self, name: str) -> Simulated:
        # Private names and the markers Jinja's sandbox probes (unsafe_callable,
        # alters_data...) are not data: answering them would make calls unsafe.
        if name.startswith("_") or name in _JINJA_MARKERS:
            raise AttributeError(name)
        return Simulated(f"{self.path}.{name}")

    def get(self, key: Any, default: Any = None) -> Any:
        """``json.get('qty', 2)`` on an unknown: the default when there is one."""
        return default if default is not None else Simulated(f"{self.path}.{key}")

    def __call__(self, *args: Any, **kwargs: Any) -> Simulated:
        """``json.get('id')`` and friends: calling an unknown gives an unknown."""
        return Simulated(f"{self.path}()")

    def __getitem__(self, key: Any) -> Simulated:
        return Simulated(f"{self.path}[{key!r}]")

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0

    def __bool__(self) -> bool:
        return True  # a real run would have a value here


def is_simulated(value: object) -> bool:
    """True for a :class:`Simulated` value, also after it was stored as text."""
    if isinstance(value, Simulated):
        return True
    return isinstance(value, str) and value.startswith("<simulated ") and value.endswith(">")


class SimulatedResult(dict[str, Any]):
    """A dry-run step result: missing keys read as :class:`Simulated`."""

    path: str = ""

    def __missing__(self, key: str) -> Simulated:
        return Simulated(f"{self.path}.{key}")

    def get(self, key: str, default: Any = None) -> Any:
        if key in self:
            return self[key]
        return default if default is not None else Simulated(f"{self.path}.{key}")


def lenient(value: Any, path: str) -> Any:
    """``value`` with its mappings lenient and its ``None`` fields simulated."""
    if isinstance(value, Mapping):
        result = SimulatedResult(
            {
                key: Simulated(f"{path}.{key}") if item is None else lenient(item, f"{path}.{key}")
                for key, item in value.items()
            }
        )
        result.path = path
        return result
    if isinstance(value, list):
        return [lenient(item, f"{path}[{index}]") for index, item in enumerate(value)]
    return value
