"""Checks that need more than one file: ids across files, entities, roles, channels.

They read the parsed YAML data (not only fully valid models), so a file with
a local problem still gets its cross-file problems reported in the same pass.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import PurePosixPath
from typing import Any

from sopbench.errors import Problem
from sopbench.expressions import is_template
from sopbench.model.registry import step_param_models
from sopbench.model.steps import nested_step_fields
from sopbench.model.workspace import CROSS_ENTITY
from sopbench.suggest import did_you_mean
from sopbench.yamlsource import DataPath, YamlDocument

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


def _mapping(value: Any) -> dict[Any, Any]:
    return value if isinstance(value, dict) else {}


def _texts(value: Any) -> list[str]:
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


class _Checker:
    """Cross-file checks over the raw data of every file.

    ``entities.yaml``, ``people.yaml`` and ``connections.yaml`` are read as
    data, not as validated models, so one bad entry (a wrong time zone, a
    typo in a role) does not hide every other problem of the workspace.
    """

    def __init__(self, documents: Mapping[str, YamlDocument]) -> None:
        self.documents = documents
        self.problems: list[Problem] = []
        self.bad_paths: set[str] = set()
        self.entities_doc = self._workspace_doc("entities.yaml")
        self.people_doc = self._workspace_doc("people.yaml")
        self.connections_doc = self._workspace_doc("connections.yaml")
        self.entities: dict[Any, Any] | None = None
        self.entity_ids: set[str] | None = None
        if self.entities_doc is not None:
            self.entities = _mapping(self.entities_doc.data.get("entities"))
            self.entity_ids = {str(e) for e in self.entities} | {CROSS_ENTITY}
        self.people: dict[Any, Any] = {}
        self.declared_roles: set[str] = set()
        self.roles: set[str] | None = None
        if self.people_doc is not None:
            self.people = _mapping(self.people_doc.data.get("people"))
            self.declared_roles = {str(r) for r in _mapping(self.people_doc.data.get("roles"))}
            held = {
                r for person in self.people.values() for r in _texts(_mapping(person).get("roles"))
            }
            self.roles = self.declared_roles | held
        self.connection_names: set[str] | None = None
        if self.connections_doc is not None:
            self.connection_names = {
                str(c) for c in _mapping(self.connections_doc.data.get("connections"))
            }

    def _workspace_doc(self, name: str) -> YamlDocument | None:
        doc = self.documents.get(f"sops/{name}")
        return doc if doc is not None and isinstance(doc.data, dict) else None

    def add(self, doc: YamlDocument, at: DataPath, message: str) -> None:
        self.problems.append(doc.problem_at_value(at, message))
        self.bad_paths.add(doc.path)

    def holders(self, role: str) -> set[str]:
        return {
            str(pid)
            for pid, person in self.people.items()
            if role in _texts(_mapping(person).get("roles"))
        }

    def sop_documents(self) -> list[YamlDocument]:
        workspace_files = {"entities.yaml", "people.yaml", "connections.yaml"}
        return [
            doc
            for doc in self.documents.values()
            if isinstance(doc.data, dict)
            and not (
                PurePosixPath(doc.path).parent.name == "sops"
                and PurePosixPath(doc.path).name in workspace_files
            )
        ]

    def run(self) -> None:
        sops = self.sop_documents()
        all_ids = {d.data.get("sop_id") for d in sops if isinstance(d.data.get("sop_id"), str)}
        paths: dict[str, list[str]] = {}
        for doc in sops:
            sop_id = doc.data.get("sop_id")
            if isinstance(sop_id, str):
                paths.setdefault(sop_id, []).append(doc.path)
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
                others = [path for path in paths[sop_id] if path != doc.path]
                if others:
                    self.add(
                        doc,
                        ("sop_id",),
                        f"duplicate sop_id '{sop_id}' (also in {', '.join(others)}); "
                        "sop_ids are unique in the workspace",
                    )
            self.entity(doc)
            if isinstance(doc.data.get("owner"), str):
                self.role_list(doc, ("owner",), doc.data["owner"])
            for at, step in _raw_steps(doc.data.get("steps"), ("steps",)):
                self.step(doc, at, step, all_ids)
        self.check_people()
        self.check_entities()

    def entity(self, doc: YamlDocument) -> None:
        entity = doc.data.get("entity")
        if self.entity_ids is None or not isinstance(entity, str) or entity in self.entity_ids:
            return
        self.add(
            doc,
            ("entity",),
            f"unknown entity '{entity}'{did_you_mean(entity, self.entity_ids)}; "
            "entities are declared in sops/entities.yaml",
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
                    doc,
                    (*with_at, "sop"),
                    f"unknown SOP '{target}'{did_you_mean(target, sop_ids)}; "
                    "`sopbench list` shows the SOPs of the workspace",
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
                    f"unknown role '{role}'{did_you_mean(role, self.roles)}; "
                    "roles come from sops/people.yaml",
                )

    def enough_approvers(self, doc: YamlDocument, at: DataPath, params: dict[str, Any]) -> None:
        required, roles = params.get("required", 1), params.get("approvers")
        if self.roles is None or not isinstance(required, int) or not isinstance(roles, list):
            return
        if not roles or not all(isinstance(r, str) and r in self.roles for r in roles):
            return  # unknown or templated roles: reported elsewhere, or known only at run time
        holders = set().union(*(self.holders(role) for role in roles))
        if required > len(holders):
            names = ", ".join(sorted(holders)) or "nobody"
            self.add(
                doc,
                (*at, "required"),
                f"required: {_plural(required, 'approval', 'approvals')} needed but only "
                f"{_plural(len(holders), 'person holds', 'people hold')} the role(s) "
                f"{', '.join(roles)} ({names}); lower `required` or add people in "
                "sops/people.yaml",
            )

    def channel(self, doc: YamlDocument, at: DataPath, channel: Any) -> None:
        entity_id = doc.data.get("entity")
        if (
            self.entities is None
            or not isinstance(channel, str)
            or channel == "log"
            or is_template(channel)
            or not isinstance(entity_id, str)
            or entity_id not in self.entities
        ):
            return
        channels = _mapping(_mapping(self.entities[entity_id]).get("channels"))
        if channel not in channels:
            choices = ", ".join(["log", *sorted(map(str, channels))])
            self.add(
                doc,
                (*at, "channel"),
                f"unknown channel '{channel}' for entity '{entity_id}'"
                f"{did_you_mean(channel, channels)}; use one of: {choices}",
            )

    def connection(self, doc: YamlDocument, at: DataPath, name: Any) -> None:
        known = self.connection_names
        if known is None or not isinstance(name, str) or is_template(name) or name in known:
            return
        self.add(
            doc,
            at,
            f"unknown connection '{name}'{did_you_mean(name, known)}; "
            "connections are declared in sops/connections.yaml",
        )

    def check_people(self) -> None:
        doc = self.people_doc
        if doc is None:
            return
        for pid, person in self.people.items():
            person = _mapping(person)
            entities = person.get("entities")
            if self.entity_ids is not None and isinstance(entities, list):
                for index, entity in enumerate(entities):
                    if isinstance(entity, str) and entity != "*" and entity not in self.entity_ids:
                        self.add(
                            doc,
                            ("people", pid, "entities", index),
                            f"unknown entity '{entity}'{did_you_mean(entity, self.entity_ids)}; "
                            "use an id from sops/entities.yaml, or '*' for all",
                        )
            roles = person.get("roles")
            if self.declared_roles and isinstance(roles, list):
                for index, role in enumerate(roles):
                    if isinstance(role, str) and role not in self.declared_roles:
                        self.add(
                            doc,
                            ("people", pid, "roles", index),
                            f"unknown role '{role}'{did_you_mean(role, self.declared_roles)}; "
                            "declare it under `roles:`",
                        )

    def check_entities(self) -> None:
        doc = self.entities_doc
        if doc is None or self.entities is None:
            return
        for eid, entity in self.entities.items():
            entity = _mapping(entity)
            members = entity.get("members")
            if isinstance(members, list):
                for index, member in enumerate(members):
                    if isinstance(member, str) and member not in self.entities:
                        self.add(
                            doc,
                            ("entities", eid, "members", index),
                            f"unknown entity '{member}'{did_you_mean(member, self.entities)}; "
                            "a group's members are entities of this file",
                        )
            for name, channel in _mapping(entity.get("channels")).items():
                self.connection(
                    doc,
                    ("entities", eid, "channels", name, "connection"),
                    _mapping(channel).get("connection"),
                )
            self.social_accounts(doc, eid, entity)

    def social_accounts(self, doc: YamlDocument, eid: Any, entity: dict[Any, Any]) -> None:
        """A mapped platform is one the entity posts to (a typo would never be used)."""
        platforms = _mapping(entity.get("platforms"))
        used = {
            *_texts(platforms.get("primary")),
            *_texts(platforms.get("secondary")),
            *(
                str(_mapping(slot).get("platform"))
                for slot in entity.get("posting_slots") or []
                if isinstance(slot, dict)
            ),
        }
        for platform in _mapping(entity.get("social_accounts")):
            if platform not in used:
                listed = ", ".join(sorted(used)) or "none"
                self.add(
                    doc,
                    ("entities", eid, "social_accounts", platform),
                    f"social_accounts names platform '{platform}' that entity '{eid}' does not "
                    f"use{did_you_mean(str(platform), used)}; its platforms: {listed} "
                    "(add it under `platforms:`)",
                )


def cross_check(documents: Mapping[str, YamlDocument]) -> tuple[list[Problem], set[str]]:
    """The cross-file problems of a workspace's parsed files (by workspace-relative
    path), and the paths that got any.

    It takes the documents, not the :class:`~sopbench.library.Workspace`: the
    library calls these checks, so they must not know the library.
    """
    checker = _Checker(documents)
    checker.run()
    return checker.problems, checker.bad_paths
