"""Checks that need more than one file: ids across files, entities, roles, channels.

They read the parsed YAML data (not only fully valid models), so a file with
a local problem still gets its cross-file problems reported in the same pass.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from sopbench.errors import Problem
from sopbench.expressions import is_template
from sopbench.model.registry import step_param_models
from sopbench.model.steps import nested_step_fields
from sopbench.model.workspace import CROSS_ENTITY
from sopbench.suggest import did_you_mean
from sopbench.yamlsource import DataPath, YamlDocument

if TYPE_CHECKING:
    from sopbench.library import Workspace

__all__ = ["cross_check"]

_ROLE_FIELDS = {
    "approval": ("approvers",),
    "manual": ("assignee",),
    "media_request": ("approvers",),
    "content_generate": ("reviewers",),
}


def _raw_steps(raw: Any, at: DataPath) -> Iterator[tuple[DataPath, dict[str, Any]]]:
    """Every raw step dict with its data path, nested ones included."""
    if not isinstance(raw, list):
        return
    models = step_param_models()
    for index, step in enumerate(raw):
        if not isinstance(step, dict):
            continue
        step_at = (*at, index)
        yield step_at, step
        kind = step.get("type")
        model = models.get(kind) if isinstance(kind, str) else None
        params = step.get("with")
        if model is not None and isinstance(params, dict):
            for key in nested_step_fields(model):
                yield from _raw_steps(params.get(key), (*step_at, "with", key))


class _Checker:
    def __init__(self, workspace: Workspace) -> None:
        self.ws = workspace
        self.problems: list[Problem] = []
        self.bad_paths: set[str] = set()
        people = workspace.people
        self.roles: set[str] | None = None
        if people is not None:
            self.roles = set(people.roles) | {r for p in people.people.values() for r in p.roles}
        self.entity_ids: set[str] | None = None
        if workspace.entities is not None:
            self.entity_ids = set(workspace.entities.entities) | {CROSS_ENTITY}

    def add(self, doc: YamlDocument, at: DataPath, message: str) -> None:
        self.problems.append(doc.problem_at_value(at, message))
        self.bad_paths.add(doc.path)

    def sop_documents(self) -> list[YamlDocument]:
        workspace_files = {"entities.yaml", "people.yaml", "connections.yaml"}
        return [
            doc
            for doc in self.ws.documents.values()
            if isinstance(doc.data, dict)
            and not (
                PurePosixPath(doc.path).parent.name == "sops"
                and PurePosixPath(doc.path).name in workspace_files
            )
        ]

    def run(self) -> None:
        sops = self.sop_documents()
        all_ids = {d.data.get("sop_id") for d in sops if isinstance(d.data.get("sop_id"), str)}
        first_path: dict[str, str] = {}
        for doc in sops:
            sop_id = doc.data.get("sop_id")
            if isinstance(sop_id, str):
                stem = PurePosixPath(doc.path).stem
                if sop_id != stem:
                    self.add(
                        doc,
                        ("sop_id",),
                        f"sop_id '{sop_id}' differs from the file name "
                        f"'{PurePosixPath(doc.path).name}'; rename the file or the sop_id",
                    )
                if sop_id in first_path:
                    self.add(
                        doc,
                        ("sop_id",),
                        f"duplicate sop_id '{sop_id}' (also in {first_path[sop_id]})",
                    )
                else:
                    first_path[sop_id] = doc.path
            self.entity(doc)
            for at, step in _raw_steps(doc.data.get("steps"), ("steps",)):
                self.step(doc, at, step, all_ids)
        self.people()
        self.entities()

    def entity(self, doc: YamlDocument) -> None:
        entity = doc.data.get("entity")
        if self.entity_ids is None or not isinstance(entity, str) or entity in self.entity_ids:
            return
        self.add(
            doc,
            ("entity",),
            f"unknown entity '{entity}'{did_you_mean(entity, self.entity_ids)}"
            " (entities are declared in sops/entities.yaml)",
        )

    def step(
        self, doc: YamlDocument, at: DataPath, step: dict[str, Any], sop_ids: set[Any]
    ) -> None:
        kind = step.get("type")
        params = step.get("with")
        if not isinstance(params, dict) or not isinstance(kind, str):
            return
        with_at = (*at, "with")
        for field in _ROLE_FIELDS.get(kind, ()):
            self.role_list(doc, (*with_at, field), params.get(field))
        target = params.get("sop")
        if kind == "cross_entity_trigger" and isinstance(target, str) and not is_template(target):
            if target not in sop_ids:
                self.add(
                    doc, (*with_at, "sop"), f"unknown SOP '{target}'{did_you_mean(target, sop_ids)}"
                )
        if kind == "approval":
            self.enough_approvers(doc, with_at, params)
        if kind == "notification":
            self.channel(doc, with_at, params.get("channel"))
        self.connection(doc, (*with_at, "connection"), params.get("connection"))

    def role_list(self, doc: YamlDocument, at: DataPath, value: Any) -> None:
        if self.roles is None:
            return
        roles = value if isinstance(value, list) else [value]
        for index, role in enumerate(roles):
            if isinstance(role, str) and not is_template(role) and role not in self.roles:
                where = (*at, index) if isinstance(value, list) else at
                self.add(
                    doc,
                    where,
                    f"unknown role '{role}'{did_you_mean(role, self.roles)}"
                    " (roles come from sops/people.yaml)",
                )

    def enough_approvers(self, doc: YamlDocument, at: DataPath, params: dict[str, Any]) -> None:
        people = self.ws.people
        required, roles = params.get("required", 1), params.get("approvers")
        if people is None or not isinstance(required, int) or not isinstance(roles, list):
            return
        holders = {pid for role in roles if isinstance(role, str) for pid in people.holders(role)}
        if required > len(holders):
            self.add(
                doc,
                (*at, "required"),
                f"required: {required} approvals needed but only "
                f"{len(holders)} person(s) hold the roles {', '.join(map(str, roles))}",
            )

    def channel(self, doc: YamlDocument, at: DataPath, channel: Any) -> None:
        entities = self.ws.entities
        entity_id = doc.data.get("entity")
        if (
            entities is None
            or not isinstance(channel, str)
            or channel == "log"
            or is_template(channel)
        ):
            return
        entity = entities.entities.get(entity_id) if isinstance(entity_id, str) else None
        if entity is not None and channel not in entity.channels:
            self.add(
                doc,
                (*at, "channel"),
                f"unknown channel '{channel}' for entity '{entity_id}'"
                f"{did_you_mean(channel, entity.channels)}; use `log` or a channel of the entity",
            )

    def connection(self, doc: YamlDocument, at: DataPath, name: Any) -> None:
        connections = self.ws.connections
        if connections is None or not isinstance(name, str) or is_template(name):
            return
        if name not in connections.connections:
            self.add(
                doc,
                at,
                f"unknown connection '{name}'"
                f"{did_you_mean(name, connections.connections)} (see sops/connections.yaml)",
            )

    def people(self) -> None:
        people, doc = self.ws.people, self.ws.documents.get("sops/people.yaml")
        if people is None or doc is None or self.entity_ids is None:
            return
        for pid, person in people.people.items():
            for index, entity in enumerate(person.entities):
                if entity != "*" and entity not in self.entity_ids:
                    self.add(
                        doc,
                        ("people", pid, "entities", index),
                        f"unknown entity '{entity}'{did_you_mean(entity, self.entity_ids)}",
                    )
            if people.roles:
                for index, role in enumerate(person.roles):
                    if role not in people.roles:
                        self.add(
                            doc,
                            ("people", pid, "roles", index),
                            f"unknown role '{role}'{did_you_mean(role, people.roles)}"
                            " (declare it under `roles:`)",
                        )

    def entities(self) -> None:
        entities, doc = self.ws.entities, self.ws.documents.get("sops/entities.yaml")
        if entities is None or doc is None:
            return
        for eid, entity in entities.entities.items():
            for index, member in enumerate(entity.members):
                if member not in entities.entities:
                    self.add(
                        doc,
                        ("entities", eid, "members", index),
                        f"unknown entity '{member}'{did_you_mean(member, entities.entities)}",
                    )
            for name, channel in entity.channels.items():
                self.connection(
                    doc, ("entities", eid, "channels", name, "connection"), channel.connection
                )


def cross_check(workspace: Workspace) -> set[str]:
    """Add cross-file problems to ``workspace``; returns the paths that got any."""
    checker = _Checker(workspace)
    checker.run()
    workspace.problems.extend(checker.problems)
    return checker.bad_paths
