"""The YAML contract: pydantic models of SOP files and workspace files."""

from sopbench.model.common import Duration, InputSpec, format_duration, parse_duration
from sopbench.model.inputs import coerce_inputs, coerce_value
from sopbench.model.registry import (
    BUILTIN_STEP_TYPES,
    StepType,
    StepTypes,
    step_param_models,
    step_types,
)
from sopbench.model.sop import Concurrency, RetryPolicy, Schedule, SopFile, StepSpec, Trigger
from sopbench.model.steps import StepParams, nested_step_fields
from sopbench.model.workspace import (
    CROSS_ENTITY,
    Channel,
    Connection,
    ConnectionsFile,
    EntitiesFile,
    Entity,
    PeopleFile,
    Person,
    Voice,
)

__all__ = [
    "BUILTIN_STEP_TYPES",
    "CROSS_ENTITY",
    "Channel",
    "Concurrency",
    "Connection",
    "ConnectionsFile",
    "Duration",
    "EntitiesFile",
    "Entity",
    "InputSpec",
    "PeopleFile",
    "Person",
    "RetryPolicy",
    "Schedule",
    "SopFile",
    "StepParams",
    "StepSpec",
    "StepType",
    "StepTypes",
    "Trigger",
    "Voice",
    "coerce_inputs",
    "coerce_value",
    "format_duration",
    "nested_step_fields",
    "parse_duration",
    "step_param_models",
    "step_types",
]
