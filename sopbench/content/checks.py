"""Cross-checks between SOP files and the content data they name.

A ``content_generate`` step's ``template`` must be a template of
``sops/templates/`` and get every variable the template requires; its
``platforms`` must be known platforms. A ``media_request`` step's
``prompt_id`` must be in the prompt library, for the SOP's own entity
(cross-entity SOPs may use any). Problems are ``path:line:col``, like every
other validation problem; values that are templates are known only at run
time and are left alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sopbench.content.platforms import PLATFORMS
from sopbench.content.prompts import PromptLibrary, prompt_library_of
from sopbench.content.templates import TemplateLibrary, templates_of
from sopbench.errors import Problem
from sopbench.expressions import is_template
from sopbench.library import Workspace
from sopbench.model.registry import step_param_models
from sopbench.model.steps import nested_step_fields
from sopbench.model.workspace import CROSS_ENTITY
from sopbench.suggest import did_you_mean
from sopbench.yamlsource import DataPath, YamlDocument

__all__ = ["content_problems", "palettes"]


def palettes(workspace: Workspace) -> dict[str, list[str]]:
    """Entity id to its brand colours."""
    entities = workspace.entities.entities if workspace.entities else {}
    return {eid: list(entity.brand_colors) for eid, entity in entities.items()}


def _steps(raw: Any, at: DataPath) -> Iterator[tuple[DataPath, dict[str, Any]]]:
    if not isinstance(raw, list):
        return
    models = step_param_models()
    for index, step in enumerate(raw):
        if not isinstance(step, dict):
            continue
        yield (*at, index), step
        model = models.get(step.get("type", ""))
        params = step.get("with")
        if model is not None and isinstance(params, dict):
            for key in nested_step_fields(model):
                yield from _steps(params.get(key), (*at, index, "with", key))


def _check_content(
    doc: YamlDocument, at: DataPath, params: dict[str, Any], templates: TemplateLibrary
) -> list[Problem]:
    problems = []
    with_at = (*at, "with")
    platforms = params.get("platforms")
    for index, platform in enumerate(platforms if isinstance(platforms, list) else []):
        if isinstance(platform, str) and not is_template(platform) and platform not in PLATFORMS:
            problems.append(
                doc.problem_at_value(
                    (*with_at, "platforms", index),
                    f"unknown platform '{platform}'{did_you_mean(platform, PLATFORMS)}; "
                    f"use one of: {', '.join(PLATFORMS)}",
                )
            )
    name = params.get("template")
    if not isinstance(name, str) or is_template(name):
        return problems
    template = templates.templates.get(name)
    if template is None:
        problems.append(
            doc.problem_at_value(
                (*with_at, "template"),
                f"unknown content template '{name}'{did_you_mean(name, templates.templates)}; "
                "templates are the *.j2 files of sops/templates/",
            )
        )
        return problems
    given = params.get("variables")
    given = given if isinstance(given, dict) else {}
    missing = [
        var for var, spec in template.meta.variables.items() if spec.required and var not in given
    ]
    if missing:
        problems.append(
            doc.problem_at_value(
                (*with_at, "variables") if "variables" in params else (*with_at, "template"),
                f"template '{name}' needs the variable(s) {', '.join(missing)}",
            )
        )
    return problems


def _check_media(
    doc: YamlDocument, at: DataPath, params: dict[str, Any], entity: Any, prompts: PromptLibrary
) -> list[Problem]:
    prompt_id = params.get("prompt_id")
    if not isinstance(prompt_id, str) or is_template(prompt_id):
        return []
    where = (*at, "with", "prompt_id")
    prompt = prompts.prompts.get(prompt_id)
    if prompt is None:
        return [
            doc.problem_at_value(
                where,
                f"unknown media prompt '{prompt_id}'{did_you_mean(prompt_id, prompts.prompts)}; "
                "`sopbench prompts` lists them",
            )
        ]
    owner = prompts.entity_of(prompt)
    if entity not in (CROSS_ENTITY, owner):
        return [
            doc.problem_at_value(
                where, f"media prompt '{prompt_id}' belongs to {owner}, not to {entity}"
            )
        ]
    return []


def content_problems(
    workspace: Workspace,
    *,
    templates: TemplateLibrary | None = None,
    prompts: PromptLibrary | None = None,
) -> list[Problem]:
    """Every problem of the templates, the prompt library and the SOP steps that use them."""
    templates = templates or templates_of(workspace.home)
    prompts = prompts or prompt_library_of(workspace.home, palettes=palettes(workspace))
    problems = [*templates.problems, *prompts.problems]
    for sop in workspace.sops.values():
        doc = workspace.documents.get(sop.path)
        if doc is None or not isinstance(doc.data, dict):
            continue
        for at, step in _steps(doc.data.get("steps"), ("steps",)):
            params = step.get("with")
            if not isinstance(params, dict):
                continue
            if step.get("type") == "content_generate":
                problems += _check_content(doc, at, params, templates)
            elif step.get("type") == "media_request":
                problems += _check_media(doc, at, params, sop.entity, prompts)
    return sorted(set(problems))
