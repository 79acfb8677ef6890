"""A SOP file: identity, typed inputs, triggers, concurrency and steps."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, PrivateAttr, Tag, field_validator

from sopbench.cron import parse_cron
from sopbench.model.common import Duration, Identifier, InputSpec, Strict
from sopbench.model.steps import StepParams

__all__ = [
    "Concurrency",
    "EventTrigger",
    "RetryPolicy",
    "Schedule",
    "ScheduleTrigger",
    "SopFile",
    "StepSpec",
    "Trigger",
]


class RetryPolicy(Strict):
    """How often and how patiently a failing step is tried again."""

    max_attempts: int = Field(default=3, ge=1, le=100, description="Tries in all, first included.")
    backoff: Duration = Field(
        default=timedelta(seconds=2), description="Wait before the second try; doubles."
    )
    max_backoff: Duration = Field(
        default=timedelta(hours=1),
        le=timedelta(hours=24),
        description=(
            "Longest wait between tries (at most 24h). A service asking for a longer wait "
            "(Retry-After) fails the step instead."
        ),
    )
    jitter: bool = Field(default=True, description="Randomise waits so retries do not align.")


class StepSpec(Strict):
    """One step: common fields; ``with`` is checked against the type's model."""

    id: Identifier = Field(description="Unique in the SOP, nested steps included.")
    type: str = Field(description="One of the registered step types.")
    name: str | None = Field(default=None, description="Short title shown to people.")
    description: str | None = Field(default=None, description="Longer explanation.")
    when: str | bool | None = Field(default=None, description="Skip the step when false.")
    with_: dict[str, Any] = Field(
        default_factory=dict, alias="with", description="The step type's own fields (below)."
    )
    retry: RetryPolicy | None = Field(default=None, description="Try a failing step again.")
    timeout: Duration | None = Field(default=None, description="Limit on one try of the step.")
    on_error: Literal["fail", "continue"] = Field(
        default="fail", description="`continue` records the failure and goes on."
    )

    # Plain defaults (no factories): pydantic inspects factories on every instance.
    _params: StepParams | None = PrivateAttr(default=None)
    _children: dict[str, list[StepSpec]] | None = PrivateAttr(default=None)

    @property
    def params(self) -> StepParams | None:
        """The ``with`` model as validated at load time (templates still unrendered)."""
        return self._params

    @property
    def children(self) -> dict[str, list[StepSpec]]:
        """Nested step lists by ``with`` key (``then``, ``else``, ``steps``)."""
        return self._children or {}

    def title(self) -> str:
        return self.name or self.id.replace("_", " ")


class Schedule(Strict):
    """A cron schedule in an IANA time zone."""

    cron: str = Field(description="Five fields: minute hour day-of-month month day-of-week.")
    timezone: str = Field(default="UTC", description="IANA name, such as America/Denver.")
    catchup: Literal["none", "latest", "all"] = Field(
        default="latest", description="What to fire after downtime."
    )
    inputs: dict[str, Any] = Field(default_factory=dict)

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, value: str) -> str:
        parse_cron(value)
        return value

    @field_validator("timezone")
    @classmethod
    def _valid_zone(cls, value: str) -> str:
        from sopbench.cron import load_zone

        load_zone(value)
        return value


class ScheduleTrigger(Strict):
    schedule: Schedule


class EventTrigger(Strict):
    event: str = Field(pattern=r"^[a-z][a-z0-9_.]*$", description="e.g. repair.completed")


class ManualTrigger(Strict):
    manual: Literal[True] = True


def _trigger_kind(value: Any) -> str | None:
    if isinstance(value, dict) and len(value) == 1:
        return str(next(iter(value)))
    if isinstance(value, ScheduleTrigger | EventTrigger | ManualTrigger):
        return next(iter(type(value).model_fields))
    return None


Trigger = Annotated[
    Annotated[ScheduleTrigger, Tag("schedule")]
    | Annotated[EventTrigger, Tag("event")]
    | Annotated[ManualTrigger, Tag("manual")],
    Discriminator(
        _trigger_kind,
        custom_error_type="trigger_kind",
        custom_error_message="a trigger is one of `schedule:`, `event:` or `manual: true`",
    ),
]


class Concurrency(Strict):
    """How many runs of this SOP may be active at once, and what to do beyond."""

    limit: int = Field(default=1, ge=1)
    policy: Literal["queue", "skip"] = "queue"


class SopFile(Strict):
    """One SOP, one file: ``sops/<entity-folder>/<sop_id>.yaml``."""

    sop_id: Identifier = Field(description="Unique in the workspace; equals the file stem.")
    entity: str = Field(description="An entity id from entities.yaml, or cross_entity.")
    name: str
    description: str | None = None
    version: int | str | None = None
    owner: str | None = Field(default=None, description="Role responsible for the SOP.")
    tags: list[str] = Field(default_factory=list)
    inputs: dict[Identifier, InputSpec] = Field(default_factory=dict)
    examples: list[dict[str, Any]] = Field(default_factory=list)
    triggers: list[Trigger] = Field(default_factory=list)
    concurrency: Concurrency | None = None
    outputs: dict[Identifier, Any] = Field(
        default_factory=dict, description="Values a parent run reads as `outputs`."
    )
    steps: list[StepSpec] = Field(min_length=1)

    _path: str = PrivateAttr(default="")

    @property
    def path(self) -> str:
        return self._path

    def walk(self) -> list[tuple[str, StepSpec]]:
        """Every step, nested ones included, with its static path (``each.child``)."""
        found: list[tuple[str, StepSpec]] = []

        def visit(steps: list[StepSpec], prefix: str) -> None:
            for step in steps:
                path = f"{prefix}{step.id}"
                found.append((path, step))
                for child_steps in step.children.values():
                    visit(child_steps, f"{path}.")

        visit(self.steps, "")
        return found

    def step_types(self) -> set[str]:
        return {step.type for _, step in self.walk()}
