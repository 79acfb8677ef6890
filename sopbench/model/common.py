"""Shared pieces of the YAML contract: durations, identifiers, typed inputs."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    model_validator,
)

__all__ = [
    "IDENTIFIER",
    "Duration",
    "Identifier",
    "InputSpec",
    "InputType",
    "Strict",
    "format_duration",
    "parse_duration",
]

IDENTIFIER = r"^[a-z][a-z0-9_]*$"
_DURATION = re.compile(r"^(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_UNIT_SECONDS = (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60), ("s", 1))


class Strict(BaseModel):
    """Base of every contract model: unknown fields are errors, not ignored."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


def parse_duration(value: Any) -> Any:
    """``30s``, ``15m``, ``48h``, ``7d``, ``2w`` or combinations like ``1h30m``."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError("expected a duration like 30s, 15m, 48h or 7d")
    if isinstance(value, int):
        return timedelta(seconds=value)
    if isinstance(value, str):
        match = _DURATION.match(value.strip())
        if match and any(match.groups()):
            weeks, days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
            return timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes, seconds=seconds)
    raise ValueError(f"invalid duration {value!r}; write it like 30s, 15m, 48h or 7d")


def format_duration(value: timedelta) -> str:
    """The shortest ``1h30m`` form of a duration."""
    remaining = int(value.total_seconds())
    if remaining == 0:
        return "0s"
    parts = []
    for unit, size in _UNIT_SECONDS:
        count, remaining = divmod(remaining, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^(\d+w)?(\d+d)?(\d+h)?(\d+m)?(\d+s)?$",
            "description": "A duration such as 30s, 15m, 48h or 7d.",
        }
    ),
]

Identifier = Annotated[str, Field(pattern=IDENTIFIER, max_length=64)]

InputType = Literal[
    "string", "text", "integer", "number", "boolean", "date", "datetime", "enum", "list"
]


class InputSpec(Strict):
    """A typed input of a SOP, or a field of a form a person fills in."""

    type: InputType = Field(default="string", description="The value's type.")
    label: str | None = Field(default=None, description="Shown next to the field in forms.")
    description: str | None = None
    required: bool = Field(default=False, description="A run cannot start without it.")
    default: Any = Field(default=None, description="Used when the value is not given.")
    minimum: float | None = Field(
        default=None, description="Smallest number, or fewest characters/items."
    )
    maximum: float | None = Field(
        default=None, description="Largest number, or most characters/items."
    )
    values: list[str | int] | None = Field(
        default=None, description="The allowed values of an `enum`."
    )
    items: Literal["string", "integer", "number", "boolean", "date"] | None = Field(
        default=None, description="The type of each element of a `list`."
    )

    @model_validator(mode="after")
    def _consistent(self) -> InputSpec:
        if self.type == "enum" and not self.values:
            raise ValueError("an enum input needs `values`, the list of allowed values")
        if self.type != "enum" and self.values is not None:
            raise ValueError("`values` only applies to inputs of type enum")
        if self.items is not None and self.type != "list":
            raise ValueError("`items` only applies to inputs of type list")
        if self.type in ("boolean", "date", "datetime", "enum") and (
            self.minimum is not None or self.maximum is not None
        ):
            raise ValueError(f"`minimum`/`maximum` do not apply to {self.type} inputs")
        if self.minimum is not None and self.maximum is not None and self.minimum > self.maximum:
            raise ValueError("`minimum` is larger than `maximum`")
        return self
