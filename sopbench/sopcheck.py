"""Checks of one SOP file: steps, ``with`` models, templates, inputs and examples.

Every problem of the file is collected (never the first only), each at the
YAML node it concerns. Step ``with`` blocks are validated against their step
type's model; nested step lists (``then``/``else``/``steps``) are walked as
steps of their own. Templates are parsed, and what they read is checked:
names must exist, ``inputs.x`` must be a declared input and ``steps.x`` a
step that has finished before the template is rendered.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from jinja2 import TemplateSyntaxError

from sopbench.errors import InputError, Problem
from sopbench.expressions import CONTEXT_NAMES, analyse, environment, is_template
from sopbench.model.common import InputSpec
from sopbench.model.inputs import coerce_inputs, coerce_value
from sopbench.model.registry import step_param_models
from sopbench.model.sop import SopFile, StepSpec
from sopbench.model.steps import StepParams, nested_step_fields
from sopbench.suggest import did_you_mean
from sopbench.validation import describe_value, not_a_template, validate_model
from sopbench.yamlsource import DataPath, Pos, YamlDocument

__all__ = ["check_sop"]


@dataclass
class _Scope:
    """What a template may read at one point of the SOP."""

    visible: frozenset[str]
    later: frozenset[str]
    local_names: frozenset[str] = frozenset()
    own: str | None = None


@dataclass
class _SopChecker:
    doc: YamlDocument
    inputs: dict[str, InputSpec]
    problems: list[Problem] = field(default_factory=list)
    first_id_line: dict[str, int] = field(default_factory=dict)
    all_ids: list[str] = field(default_factory=list)

    # -- steps -------------------------------------------------------------

    def steps(
        self, raw: Any, at: DataPath, scope: _Scope
    ) -> tuple[list[StepSpec | None], set[str]]:
        """Validate a list of raw steps; returns the models and every id inside."""
        built: list[StepSpec | None] = []
        ids: set[str] = set()
        if not isinstance(raw, list):
            return built, ids
        visible = set(scope.visible)
        for index, item in enumerate(raw):
            step_at = (*at, index)
            step, inner = self.step(
                item, step_at, _Scope(frozenset(visible), scope.later, scope.local_names)
            )
            built.append(step)
            ids |= inner
            visible |= inner
        return built, ids

    def step(self, raw: Any, at: DataPath, scope: _Scope) -> tuple[StepSpec | None, set[str]]:
        if not isinstance(raw, dict):
            self.problems.append(
                self.doc.problem_at_value(at, "a step is a mapping with at least `id` and `type`")
            )
            return None, set()
        step_id = raw.get("id")
        ids = {step_id} if isinstance(step_id, str) else set()
        self._check_duplicate_id(step_id, at)
        step = validate_model(self.doc, StepSpec, raw, base=at, problems=self.problems)
        params_model = self._step_type(raw.get("type"), at)
        raw_with = raw.get("with", {})
        own_scope = _Scope(scope.visible, scope.later, scope.local_names, own=step_id)
        self._templates(raw.get("when"), (*at, "when"), own_scope)
        if params_model is None or not isinstance(raw_with, dict):
            return step, ids
        nested = nested_step_fields(params_model)
        needed = [
            info.alias or name
            for name, info in params_model.model_fields.items()
            if info.is_required()
        ]
        params = None
        if "with" not in raw and needed:
            kind = str(raw["type"])
            article = "an" if kind[:1] in "aeiou" else "a"
            fields = ", ".join(f"`{name}`" for name in needed)
            self.problems.append(
                self.doc.problem_at_value(
                    at, f"missing `with:`; {article} {kind} step needs {fields} under it"
                )
            )
        else:
            params = validate_model(
                self.doc,
                params_model,
                raw_with,
                base=(*at, "with"),
                problems=self.problems,
                keep=lambda error: not_a_template(error) and not _inside(error, nested),
            )
        for key, value in raw_with.items():
            if key not in nested:
                self._templates(value, (*at, "with", key), own_scope)
        children: dict[str, list[StepSpec]] = {}
        child_names = scope.local_names | self._loop_names(raw_with, nested)
        for key in nested:
            child_scope = _Scope(scope.visible, scope.later, child_names)
            built, inner = self.steps(raw_with.get(key), (*at, "with", key), child_scope)
            ids |= inner
            children[key] = [s for s in built if s is not None]
        if step is not None:
            self._attach(step, params, children)
        return step, ids

    @staticmethod
    def _loop_names(raw_with: dict[str, Any], nested: list[str]) -> frozenset[str]:
        if "steps" in nested and "over" in raw_with:
            name = raw_with.get("as", "item")
            return frozenset({name}) if isinstance(name, str) else frozenset()
        return frozenset()

    @staticmethod
    def _attach(
        step: StepSpec, params: StepParams | None, children: dict[str, list[StepSpec]]
    ) -> None:
        step._params = params
        step._children = children

    def _check_duplicate_id(self, step_id: Any, at: DataPath) -> None:
        if not isinstance(step_id, str):
            return
        line = self.doc.source.value((*at, "id")).line
        if step_id in self.first_id_line:
            self.problems.append(
                self.doc.problem_at_value(
                    (*at, "id"),
                    f"duplicate step id '{step_id}' "
                    f"(first used on line {self.first_id_line[step_id]})",
                )
            )
        else:
            self.first_id_line[step_id] = line
            self.all_ids.append(step_id)

    def _step_type(self, kind: Any, at: DataPath) -> type[StepParams] | None:
        if not isinstance(kind, str):
            return None  # StepSpec validation reports a missing or non-text type
        models = step_param_models()
        if kind not in models:
            self.problems.append(
                self.doc.problem_at_value(
                    (*at, "type"), f"unknown step type '{kind}'{did_you_mean(kind, models)}"
                )
            )
            return None
        return models[kind]

    # -- templates ---------------------------------------------------------

    def _templates(self, value: Any, at: DataPath, scope: _Scope) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                self._templates(item, (*at, key), scope)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                self._templates(item, (*at, index), scope)
        elif is_template(value):
            self._template(value, at, scope)

    def _template(self, source: str, at: DataPath, scope: _Scope) -> None:
        pos = self.doc.source.value(at)
        lines = self.doc.lines
        literal = 0 < pos.line <= len(lines) and lines[pos.line - 1][pos.column - 1 :][:1] == "|"

        def report(message: str, template_line: int = 1, needle: str | None = None) -> None:
            line = pos.line + template_line if literal else 0
            found = None
            if needle is not None:
                for pattern in (rf"(?:\{{\{{|\{{%)[^}}]*?(?P<at>{needle})", needle):
                    compiled = re.compile(pattern)
                    found = self.doc.search(at, compiled, line=line) or self.doc.search(
                        at, compiled
                    )
                    if found:
                        break
            if found is None and line and line <= len(lines):
                text = lines[line - 1]
                found = Pos(line, len(text) - len(text.lstrip()) + 1)
            where = found or pos
            problem = Problem(self.doc.path, where.line, where.column, message)
            if problem not in self.problems:
                self.problems.append(problem)

        try:
            info = analyse(source)
        except TemplateSyntaxError as exc:
            report(f"template syntax error: {exc.message}", exc.lineno or 1)
            return
        known = (CONTEXT_NAMES - {"item"}) | scope.local_names | set(environment().globals)
        for name in sorted(info.names - known):
            hint = did_you_mean(name, known)
            if not hint and name == "item":
                loop_names = " or ".join(f"'{n}'" for n in sorted(scope.local_names))
                hint = (
                    f" (this loop names its items {loop_names} with `as`)"
                    if loop_names
                    else " (`item` exists only inside a loop's steps)"
                )
            report(f"unknown name '{name}' in template{hint}", needle=_name_pattern(name))
        for step_id, line in info.steps:
            message = self._step_reference(step_id, scope)
            if message:
                report(message, line, _reference_pattern("steps", step_id))
        for name, line in info.inputs:
            if name not in self.inputs:
                hint = did_you_mean(name, self.inputs) or " (declare it under `inputs:`)"
                report(f"unknown input '{name}'{hint}", line, _reference_pattern("inputs", name))

    def _step_reference(self, step_id: str, scope: _Scope) -> str | None:
        if step_id in scope.visible:
            return None
        if step_id == scope.own:
            return f"step '{step_id}' cannot read its own result"
        if step_id in scope.later:
            return (
                f"step '{step_id}' has not run yet here: it comes later, encloses this step "
                "or is in another branch"
            )
        return f"unknown step '{step_id}'{did_you_mean(step_id, scope.later | scope.visible)}"

    # -- inputs ------------------------------------------------------------

    def input_defaults(self) -> None:
        for name, spec in self.inputs.items():
            if spec.default is None:
                continue
            if spec.required:
                self.problems.append(
                    self.doc.problem_at_key(
                        ("inputs", name, "required"),
                        f"input '{name}' has a default, so it is never missing: "
                        "drop `required` or the default",
                    )
                )
            try:
                coerce_value(spec, spec.default, name=name)
            except InputError as exc:
                self.problems.append(
                    self.doc.problem_at_value(
                        ("inputs", name, "default"), f"default of {exc.message}"
                    )
                )
                # reported once here, not again for every example and schedule
                self.inputs[name] = spec.model_copy(update={"default": None})

    def schedule_inputs(self, raw: Any) -> None:
        """A schedule's ``inputs`` must start a run: known names, right types, required given."""
        if not isinstance(raw, list):
            return
        for index, trigger in enumerate(raw):
            schedule = trigger.get("schedule") if isinstance(trigger, dict) else None
            if not isinstance(schedule, dict) or not isinstance(schedule.get("inputs", {}), dict):
                continue
            given = _given(schedule.get("inputs"))
            # Templates are rendered when the schedule fires: check their names only.
            rendered_later = {name for name, value in given.items() if is_template(value)}
            specs = {n: s for n, s in self.inputs.items() if n not in rendered_later}
            values = {
                n: v for n, v in given.items() if n not in rendered_later or n not in self.inputs
            }
            at = ("triggers", index, "schedule", *(("inputs",) if "inputs" in schedule else ()))
            try:
                coerce_inputs(specs, values)
            except InputError as exc:
                self.problems.append(
                    self.doc.problem_at_value(at, f"schedule inputs: {exc.message}")
                )

    def examples(self, raw: Any) -> None:
        if not isinstance(raw, list):
            return
        for index, example in enumerate(raw):
            if not isinstance(example, dict):
                continue
            try:
                coerce_inputs(self.inputs, example)
            except InputError as exc:
                self.problems.append(
                    self.doc.problem_at_value(
                        ("examples", index), f"example {index + 1}: {exc.message}"
                    )
                )


def _name_pattern(name: str) -> str:
    return rf"(?<![\w.]){re.escape(name)}\b"


def _reference_pattern(root: str, key: str) -> str:
    """``steps.x`` or ``steps['x']`` in template source."""
    key = re.escape(key)
    return rf"\b{root}\s*(?:\.\s*{key}\b|\[\s*['\"]{key}['\"])"


def _given(raw: Any) -> dict[str, Any]:
    return {str(k): v for k, v in raw.items()} if isinstance(raw, dict) else {}


def _declared_inputs(raw: Any) -> dict[str, InputSpec]:
    if not isinstance(raw, dict):
        return {}
    specs = {}
    for name, spec in raw.items():
        try:
            specs[str(name)] = InputSpec.model_validate(spec if spec is not None else {})
        except ValueError:
            specs[str(name)] = InputSpec()  # its problem is reported by SopFile validation
    return specs


def check_sop(doc: YamlDocument) -> SopFile | None:
    """The validated SOP of ``doc``, or None; problems are appended to ``doc.problems``."""
    data = doc.data
    if not isinstance(data, dict):
        what = "empty" if data is None else describe_value(data)
        doc.problems.append(
            doc.problem_at_value((), f"a SOP file must be a mapping of fields, this one is {what}")
        )
        return None
    checker = _SopChecker(doc, _declared_inputs(data.get("inputs")))
    raw_steps = data.get("steps")
    all_ids = _collect_ids(raw_steps)
    steps, _ = checker.steps(raw_steps, ("steps",), _Scope(frozenset(), frozenset(all_ids)))
    end_scope = _Scope(frozenset(all_ids), frozenset())
    checker._templates(data.get("outputs"), ("outputs",), end_scope)
    checker.input_defaults()
    checker.examples(data.get("examples"))
    checker.schedule_inputs(data.get("triggers"))
    merged = dict(data)
    if isinstance(raw_steps, list) and all(s is not None for s in steps) and steps:
        merged["steps"] = steps
    sop = validate_model(doc, SopFile, merged, problems=doc.problems, keep=_not_a_step_error)
    doc.problems.extend(checker.problems)
    if sop is None or doc.problems:
        return None
    sop._path = doc.path
    return sop


def _inside(error: dict[str, Any], nested: list[str]) -> bool:
    """An error inside a nested step list: the step walker reports those itself."""
    loc = error["loc"]
    return len(loc) > 1 and loc[0] in nested


def _not_a_step_error(error: dict[str, Any]) -> bool:
    """SopFile errors inside a step are dropped: the step walker reported them."""
    loc = error["loc"]
    return not (len(loc) > 1 and loc[0] == "steps")


def _collect_ids(raw: Any) -> set[str]:
    """Every step id in a raw step list, nested steps included."""
    ids: set[str] = set()
    if not isinstance(raw, list):
        return ids
    models = step_param_models()
    for step in raw:
        if not isinstance(step, dict):
            continue
        if isinstance(step.get("id"), str):
            ids.add(step["id"])
        raw_with = step.get("with")
        kind = step.get("type")
        model = models.get(kind) if isinstance(kind, str) else None
        if isinstance(raw_with, dict) and model is not None:
            for key in nested_step_fields(model):
                ids |= _collect_ids(raw_with.get(key))
    return ids
