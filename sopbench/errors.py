"""The one exception tree of sopbench.

Every error sopbench raises on purpose is a :class:`SopbenchError`. The CLI
turns any of them into a one-line message (exit 1, or 2 for usage errors);
nothing else is ever shown as a traceback to a user::

    SopbenchError
    ├── UsageError                 wrong command-line use (exit 2)
    ├── ConfigError                bad settings, home folder or .env
    │   ├── SecretMissing          a secret named in the workspace is not set
    │   └── SecretTooShort         a secret's value is too short to be masked safely
    ├── WorkspaceInvalid           SOP files failed validation (carries all problems)
    ├── NotFound                   unknown SOP, run, task, draft, entity ...
    ├── StoreError                 the database could not be opened or migrated
    ├── InputError                 run inputs or form fields do not fit their types
    ├── ExpressionError            a template failed to render or was refused
    ├── StepFailed                 a step failed while a run executed it
    │   └── ConnectionNotConfigured  a step needs a connection that is not set up
    ├── IntegrationError           an outside service answered with an error
    ├── DecisionRefused            a human-task decision is not allowed
    │   └── AlreadyDecided         someone else decided first
    └── ConcurrencyLimited         a SOP's concurrency limit refused a run

Subclasses take keyword fields (``path=``, ``line=``, ``column=``,
``sop_id=``, ``step_id=``, ``run_id=``) and use their docstring's first line
as the default message; ``hint`` says what to do next.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

__all__ = [
    "AlreadyDecided",
    "ConcurrencyLimited",
    "ConfigError",
    "ConnectionNotConfigured",
    "DecisionRefused",
    "ExpressionError",
    "InputError",
    "IntegrationError",
    "NotFound",
    "Problem",
    "SecretMissing",
    "SecretTooShort",
    "SignInFailed",
    "SopbenchError",
    "StepFailed",
    "StoreError",
    "UsageError",
    "WorkspaceInvalid",
]


class SopbenchError(Exception):
    """sopbench could not do what was asked."""

    exit_code: ClassVar[int] = 1
    default_hint: ClassVar[str] = ""

    def __init__(
        self,
        message: str | None = None,
        *,
        path: str | None = None,
        line: int | None = None,
        column: int | None = None,
        sop_id: str | None = None,
        step_id: str | None = None,
        run_id: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.message = message or (type(self).__doc__ or "error").strip().splitlines()[0]
        self.path = path
        self.line = line
        self.column = column
        self.sop_id = sop_id
        self.step_id = step_id
        self.run_id = run_id
        self.hint = hint if hint is not None else self.default_hint
        super().__init__(self.message)

    def location(self) -> str:
        """``path:line:col`` (as much of it as is known), or ``""``."""
        if not self.path:
            return ""
        parts = [self.path]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)

    def context(self) -> str:
        """``run X, step Y`` style context, or ``""``."""
        bits = []
        if self.run_id:
            bits.append(f"run {self.run_id}")
        if self.sop_id and not self.path:
            bits.append(f"SOP {self.sop_id}")
        if self.step_id:
            bits.append(f"step {self.step_id}")
        return ", ".join(bits)

    def __str__(self) -> str:
        text = self.message
        ctx = self.context()
        if ctx:
            text = f"{ctx}: {text}"
        loc = self.location()
        if loc:
            text = f"{loc}: {text}"
        if self.hint:
            text = f"{text} ({self.hint})"
        return text


class UsageError(SopbenchError):
    """The command was used the wrong way."""

    exit_code = 2


class ConfigError(SopbenchError):
    """The sopbench configuration is not usable."""


class SecretMissing(ConfigError):
    """A secret named in the workspace is not set."""

    def __init__(self, name: str, **fields: object) -> None:
        self.secret_name = name
        super().__init__(
            f"secret {name} is not set",
            hint=f"set {name} in the environment or in the workspace's .env file",
            **fields,  # type: ignore[arg-type]
        )


class SecretTooShort(ConfigError):
    """A secret's value is too short to be masked safely."""

    def __init__(self, name: str, *, length: int, minimum: int, **fields: object) -> None:
        self.secret_name = name
        self.length = length
        self.minimum = minimum
        super().__init__(
            f"secret {name} is {length} character(s) long; sopbench needs at least {minimum}: "
            "every copy of a secret is masked wherever results are kept, and masking a value "
            "that short would also hide ordinary text (years, numbers, words), so the masking "
            "of it could not be trusted",
            hint=f"give {name} a value of at least {minimum} characters (a longer token or "
            "password from the service) in the environment or the workspace's .env file",
            **fields,  # type: ignore[arg-type]
        )


@dataclass(frozen=True, order=True)
class Problem:
    """One problem found while validating a workspace, at ``path:line:col``."""

    path: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}: {self.message}"


class WorkspaceInvalid(SopbenchError):
    """The workspace has invalid files."""

    default_hint = "fix the files listed, then run `sopbench validate`"

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems)
        first = str(self.problems[0]) if self.problems else "no problems recorded"
        more = len(self.problems) - 1
        summary = first if more <= 0 else f"{first} (and {more} more problem(s))"
        super().__init__(summary)


class NotFound(SopbenchError):
    """Nothing with that id exists."""


class StoreError(SopbenchError):
    """The database could not be used."""


class InputError(SopbenchError):
    """A value does not fit the declared input type."""


class ExpressionError(SopbenchError):
    """A template or expression could not be evaluated."""


class StepFailed(SopbenchError):
    """A step failed."""


class ConnectionNotConfigured(StepFailed):
    """The connection this step needs is not configured."""


class IntegrationError(SopbenchError):
    """An outside service answered with an error."""

    def __init__(
        self,
        message: str | None = None,
        *,
        service: str = "",
        status: int | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
        **fields: object,
    ) -> None:
        self.service = service
        self.status = status
        self.request_id = request_id
        self.retry_after = retry_after
        """Seconds the service asked us to wait (``Retry-After``), when it said."""
        super().__init__(message, **fields)  # type: ignore[arg-type]


class DecisionRefused(SopbenchError):
    """This decision is not allowed."""


class AlreadyDecided(DecisionRefused):
    """The task was already decided."""


class SignInFailed(SopbenchError):
    """A reviewer could not be signed in (unknown person, no or wrong access code)."""


class ConcurrencyLimited(SopbenchError):
    """The SOP's concurrency limit refused a new run."""
