"""The ``with`` parameters of the built-in step types, one model each.

Which type uses which model is said once, in the table of
:mod:`sopbench.model.registry`.

Strings in ``with`` are templates. At load time a field whose value is a
template (``"{{ ... }}"``) is accepted whatever the field's type, because its
value is only known when the run renders it; the engine validates the
rendered values against the same model before the step runs.

Fields that hold nested steps (``condition.then``/``else``, ``loop.steps``)
are declared with :data:`StepList`; they are validated as steps of their own
and are never rendered as part of the parent's ``with``.
"""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, Field, WithJsonSchema, model_validator

from sopbench.model.common import Duration, Identifier, InputSpec, Strict

__all__ = [
    "NESTED_STEPS_SCHEMA",
    "ApiCallParams",
    "ApprovalParams",
    "ConditionParams",
    "ContentGenerateParams",
    "CreateRecordParams",
    "CreateTaskParams",
    "CrossEntityTriggerParams",
    "DelayParams",
    "FieldUpdateParams",
    "HttpTarget",
    "LoopParams",
    "ManualParams",
    "MediaRequestParams",
    "NotebookParams",
    "NotificationParams",
    "Rule",
    "SocialPostParams",
    "StepList",
    "StepParams",
    "TransformParams",
    "ValidationParams",
    "WebhookParams",
    "nested_step_fields",
]

NESTED_STEPS_SCHEMA: dict[str, Any] = {"type": "array", "items": {"x-sopbench": "step"}}
"""Placeholder schema of nested step lists; :mod:`sopbench.schema` points it at Step."""

StepList = Annotated[list[dict[str, Any]], WithJsonSchema(NESTED_STEPS_SCHEMA)]
"""A list of nested steps, each validated as a step of its own."""


class StepParams(Strict):
    """Base of every step type's ``with`` model."""

    result_fields: ClassVar[tuple[str, ...]] = ()
    """What the step leaves readable as ``steps.<id>.<field>``."""


@cache
def nested_step_fields(model: type[BaseModel]) -> list[str]:
    """The ``with`` keys (aliases) of ``model`` that hold nested step lists."""
    names = []
    for name, info in model.model_fields.items():
        if info.metadata and any(isinstance(m, WithJsonSchema) for m in info.metadata):
            schema = next(m for m in info.metadata if isinstance(m, WithJsonSchema))
            if schema.json_schema == NESTED_STEPS_SCHEMA:
                names.append(info.alias or name)
    return names


Form = dict[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")], InputSpec]


class ManualParams(StepParams):
    """A checklist item for a person; the run waits until it is completed."""

    result_fields = ("completed_by", "fields")
    instructions: str = Field(description="What the person must do, step by step.")
    assignee: str | None = Field(default=None, description="Role (from people.yaml) to do it.")
    checklist: list[str] = Field(default_factory=list, description="Items to tick off.")
    due: Duration | None = Field(default=None, description="How long the person has.")
    on_timeout: Literal["fail", "continue"] = Field(
        default="fail", description="What happens when `due` passes."
    )
    form: Form = Field(default_factory=dict, description="Fields the person fills in.")


class ApprovalParams(StepParams):
    """A human decision by N of M people holding the approver roles."""

    result_fields = ("decision", "decided_by", "comment", "fields")
    title: str
    description: str | None = None
    approvers: list[str] = Field(min_length=1, description="Roles allowed to decide.")
    required: int = Field(default=1, ge=1, description="How many approvals are needed.")
    timeout: Duration | None = Field(default=None, description="How long to wait.")
    on_timeout: Literal["reject", "fail"] = Field(
        default="reject", description="Never approve on timeout: reject or fail."
    )
    form: Form = Field(default_factory=dict)
    subject: Any = Field(
        default=None,
        description="What is being approved; its fingerprint is checked before use.",
    )


class NotificationParams(StepParams):
    """A message to a discord / email / log channel of the entity."""

    result_fields = ("delivered", "message_id")
    channel: str = Field(default="log", description="An entity channel name, or `log`.")
    message: str
    subject: str | None = Field(default=None, description="Email subject line.")
    level: Literal["info", "warning", "error"] = "info"


class Rule(Strict):
    check: str | bool = Field(description="An expression that must be true.")
    message: str = Field(description="Shown when the check is false.")


class ValidationParams(StepParams):
    """Rules checked against run data; failing rules fail the step with every message."""

    result_fields = ("passed",)
    rules: list[Rule] = Field(min_length=1)


class CreateTaskParams(StepParams):
    """A task in the CRM (Zoho Tasks)."""

    result_fields = ("record_id",)
    connection: str = Field(default="zoho", description="A CRM connection name.")
    subject: str
    due_date: str | None = None
    owner: str | None = None
    priority: Literal["High", "Highest", "Normal", "Low", "Lowest"] | None = None
    related_module: str | None = None
    related_id: str | None = None
    fields: dict[str, Any] = Field(default_factory=dict)


class CreateRecordParams(StepParams):
    """A CRM record; with `duplicate_check_fields` an existing match is updated."""

    result_fields = ("record_id",)
    connection: str = "zoho"
    module: str = Field(description="CRM module, or an entity CRM mapping name.")
    fields: dict[str, Any] = Field(min_length=1)
    duplicate_check_fields: list[str] = Field(default_factory=list)


class FieldUpdateParams(StepParams):
    """Update fields of one CRM record."""

    result_fields = ("record_id",)
    connection: str = "zoho"
    module: str
    record_id: str
    fields: dict[str, Any] = Field(min_length=1)


class HttpTarget(StepParams):
    url: str | None = Field(default=None, description="Full URL (or use `connection`).")
    connection: str | None = Field(default=None, description="A named connection.")
    path: str | None = Field(default=None, description="Path appended to the connection.")
    headers: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_target(self) -> HttpTarget:
        if (self.url is None) == (self.connection is None):
            raise ValueError("give exactly one of `url` or `connection`")
        if self.path is not None and self.connection is None:
            raise ValueError("`path` needs a `connection`; with `url` put the path in the URL")
        return self


class ApiCallParams(HttpTarget):
    """An HTTP request; the response is kept.

    Sent with the connection's auth (`bearer`, `header`, `basic` or `query`),
    timeout and retry options. GET, HEAD, PUT and DELETE are retried within
    the call on 429, 5xx and timeouts (obeying `Retry-After` up to the
    connection's `max_wait`); POST and PATCH are repeated only by the step's
    `retry`, and carry an `Idempotency-Key`.
    """

    result_fields = ("status", "json", "headers")
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"] = "GET"
    params: dict[str, Any] = Field(default_factory=dict)
    json_body: Any = Field(default=None, alias="json")
    expect: list[int] = Field(
        default_factory=list, description="Accepted status codes (default: any 2xx)."
    )


class WebhookParams(HttpTarget):
    """An outbound POST carrying an `Idempotency-Key` header.

    The key is derived from the run id and the step path: the same on every
    retry and after a crash. The POST is never repeated within one call; the
    step's `retry` repeats it after a failure.
    """

    result_fields = ("status",)
    body: Any = None


class ConditionParams(StepParams):
    """Branch on an expression."""

    result_fields = ("branch",)
    if_: str | bool = Field(alias="if", description="Expression choosing the branch.")
    then: StepList = Field(default_factory=list)
    else_: StepList = Field(default_factory=list, alias="else")


class LoopParams(StepParams):
    """Run nested steps once per item of a list."""

    result_fields = ("items", "results")
    over: str | list[Any] = Field(description="A list, or an expression giving one.")
    as_: Identifier = Field(default="item", alias="as", description="Name of each item.")
    steps: StepList = Field(min_length=1)
    max_items: int = Field(default=1000, ge=1, description="Refuse longer lists.")


class DelayParams(StepParams):
    """A durable wait; the process may exit and a worker wakes the run."""

    result_fields = ("resumed_at",)
    duration: Duration | None = None
    until: str | None = Field(default=None, description="ISO date-time, or an expression.")

    @model_validator(mode="after")
    def _one_of(self) -> DelayParams:
        if (self.duration is None) == (self.until is None):
            raise ValueError("give exactly one of `duration` or `until`")
        return self


class TransformParams(StepParams):
    """Compute values into `vars`."""

    result_fields = ("<each name set>",)
    set: dict[Identifier, Any] = Field(min_length=1)


class ContentGenerateParams(StepParams):
    """Drafts per platform from a template or an LLM prompt, in the entity voice."""

    result_fields = ("draft_ids",)
    template: str | None = Field(default=None, description="A content template name.")
    prompt: str | None = Field(default=None, description="Instructions for the LLM.")
    platforms: list[str] = Field(min_length=1)
    variables: dict[str, Any] = Field(default_factory=dict)
    account: str | None = None
    publish_at: str | None = None
    review: Literal["wait", "none"] = Field(
        default="none", description="`wait` pauses until every draft is decided."
    )
    reviewers: list[str] = Field(default_factory=lambda: ["manager"])

    @model_validator(mode="after")
    def _one_source(self) -> ContentGenerateParams:
        if (self.template is None) == (self.prompt is None):
            raise ValueError("give exactly one of `template` or `prompt`")
        return self


class SocialPostParams(StepParams):
    """Publish or schedule approved drafts."""

    result_fields = ("post_ids",)
    drafts: str | list[str]
    via: Literal["mixpost", "discord"] = "mixpost"
    connection: str | None = None
    publish_at: str | None = Field(default=None, description="Schedule instead of now.")


class MediaRequestParams(StepParams):
    """A Canva image or Sora 2 video from a library prompt, after approval."""

    result_fields = ("request_id", "asset")
    prompt_id: str
    overrides: dict[str, Any] = Field(default_factory=dict)
    approvers: list[str] = Field(default_factory=lambda: ["manager"], min_length=1)
    wait: bool = True
    connection: str | None = None


class CrossEntityTriggerParams(StepParams):
    """Start another SOP (any entity) as a child run."""

    result_fields = ("run_id", "status", "outputs")
    sop: str = Field(description="The child SOP's sop_id.")
    inputs: dict[str, Any] = Field(default_factory=dict)
    wait: bool = False


class NotebookParams(StepParams):
    """Run a notebook with papermill; the executed copy is kept in reports/."""

    result_fields = ("output_path", "<glued values>")
    path: str = Field(description="Notebook path, relative to the workspace.")
    parameters: dict[str, Any] = Field(default_factory=dict)
    kernel: str | None = None
