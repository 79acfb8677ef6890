"""Cross-file checks: entities, roles, channels, connections, SOP ids.

Each test starts from the valid base workspace (fixtures/workspace_base) and
changes one file, so every assertion lists *all* problems of the workspace.
"""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from sopbench.library import load_workspace

BASE = Path(__file__).parent / "fixtures" / "workspace_base"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    target = tmp_path / "ws"
    shutil.copytree(BASE, target)
    return target


def write(home: Path, relative: str, text: str) -> None:
    path = home / "sops" / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")


def found(home: Path) -> list[str]:
    return [str(p) for p in load_workspace(home).problems]


def sop(sop_id: str, *steps: str, entity: str = "shop", extra: str = "") -> str:
    body = "".join(f"  - {step}\n" for step in steps)
    return f"sop_id: {sop_id}\nentity: {entity}\nname: Test\n{extra}steps:\n{body}"


def test_the_entity_may_be_cross_entity_even_when_not_declared(home: Path) -> None:
    write(home, "entities.yaml", "entities:\n  shop: {name: Shop}\n  agency: {name: Agency}\n")
    write(
        home, "cross_entity/other_sop.yaml", (BASE / "sops/cross_entity/other_sop.yaml").read_text()
    )
    assert found(home) == []


def test_owner_is_a_role(home: Path) -> None:
    write(
        home,
        "shop/owned.yaml",
        sop("owned", "{id: a, type: notification, with: {message: m}}", extra="owner: bosss\n"),
    )
    assert found(home) == [
        "sops/shop/owned.yaml:4:8: unknown role 'bosss'; roles come from sops/people.yaml"
    ]


def test_role_fields_of_every_step_type(home: Path) -> None:
    write(
        home,
        "shop/roles.yaml",
        sop(
            "roles",
            "{id: a, type: manual, with: {instructions: x, assignee: techie}}",
            "{id: b, type: media_request, with: {prompt_id: p, approvers: [ownr]}}",
            "{id: c, type: content_generate, with: {template: t, platforms: [x], reviewers: [qa]}}",
            "{id: d, type: approval, with: {title: t, approvers: ['{{ inputs.role }}']}}",
            extra="inputs: {role: {type: string, default: manager}}\n",
        ),
    )
    assert found(home) == [
        "sops/shop/roles.yaml:6:61: unknown role 'techie'; roles come from sops/people.yaml",
        "sops/shop/roles.yaml:7:67: unknown role 'ownr' (did you mean 'owner'?); "
        "roles come from sops/people.yaml",
        "sops/shop/roles.yaml:8:85: unknown role 'qa'; roles come from sops/people.yaml",
    ]


def test_roles_held_by_people_count_even_if_undeclared(home: Path) -> None:
    people = (
        (home / "sops/people.yaml").read_text().replace("roles: [staff]", "roles: [staff, cook]")
    )
    write(home, "people.yaml", people)
    write(
        home,
        "shop/cook.yaml",
        sop("cook", "{id: a, type: approval, with: {title: t, approvers: [cook]}}"),
    )
    # people.yaml must declare the role; the SOP itself is fine
    assert found(home) == ["sops/people.yaml:15:20: unknown role 'cook'; declare it under `roles:`"]


@pytest.mark.parametrize(
    ("approvers", "required", "expected"),
    [
        ("[manager]", 2, []),
        (
            "[manager]",
            3,
            ["3 approvals needed but only 2 people hold the role(s) manager (ann, bob)"],
        ),
        ("[owner]", 2, ["2 approvals needed but only 1 person holds the role(s) owner (ann)"]),
        ("[owner, manager]", 2, []),  # ann holds both: she counts once
        ("[owner, manager]", 3, ["3 approvals needed but only 2 people hold"]),
        ("[staff, manager]", 3, []),
        ("[nobody]", 5, []),  # the unknown role is the problem reported
        ("'{{ inputs.roles }}'", 5, []),  # known only when the run starts
    ],
)
def test_enough_people_hold_the_approver_roles(
    home: Path, approvers: str, required: int, expected: list[str]
) -> None:
    write(
        home,
        "shop/ask.yaml",
        sop(
            "ask",
            "{id: a, type: approval, with: {title: t, "
            f"approvers: {approvers}, required: {required}}}}}",
        ),
    )
    problems = [p for p in found(home) if "approval" in p and "needed" in p]
    assert len(problems) == len(expected)
    for problem, words in zip(problems, expected, strict=True):
        assert words in problem
        assert "lower `required` or add people in sops/people.yaml" in problem


def test_channels_belong_to_the_sops_entity(home: Path) -> None:
    write(
        home,
        "agency/tell.yaml",
        sop(
            "tell",
            "{id: a, type: notification, with: {channel: alerts, message: m}}",
            "{id: b, type: notification, with: {channel: staff, message: m}}",
            "{id: c, type: notification, with: {channel: log, message: m}}",
            "{id: d, type: notification, with: {channel: '{{ vars.where }}', message: m}}",
            entity="agency",
        ),
    )
    assert found(home) == [
        "sops/agency/tell.yaml:6:49: unknown channel 'staff' for entity 'agency'; "
        "use one of: log, alerts"
    ]


def test_channels_of_an_unknown_entity_are_not_checked(home: Path) -> None:
    write(
        home,
        "shop/tell.yaml",
        sop(
            "tell", "{id: a, type: notification, with: {channel: x, message: m}}", entity="nowhere"
        ),
    )
    assert found(home) == [
        "sops/shop/tell.yaml:2:9: unknown entity 'nowhere'; entities are declared in "
        "sops/entities.yaml"
    ]


def test_connections_are_checked_when_connections_yaml_exists(home: Path) -> None:
    step = "{id: a, type: api_call, with: {connection: crmm, path: /x}}"
    write(home, "shop/call.yaml", sop("call", step))
    assert found(home) == []  # no connections.yaml: nothing to check against
    write(home, "connections.yaml", "connections:\n  crm: {type: zoho, secret: ZOHO_TOKEN}\n")
    assert found(home) == [
        "sops/shop/call.yaml:5:48: unknown connection 'crmm' (did you mean 'crm'?); "
        "connections are declared in sops/connections.yaml"
    ]


def test_entity_channel_connections_are_checked(home: Path) -> None:
    write(home, "connections.yaml", "connections:\n  discord: {type: discord}\n")
    entities = (
        (home / "sops/entities.yaml")
        .read_text()
        .replace("secret: DISCORD_WEBHOOK_AGENCY", "connection: discrod")
    )
    write(home, "entities.yaml", entities)
    assert found(home) == [
        "sops/entities.yaml:13:43: unknown connection 'discrod' (did you mean 'discord'?); "
        "connections are declared in sops/connections.yaml"
    ]


def test_cross_entity_trigger_targets(home: Path) -> None:
    write(
        home,
        "shop/start.yaml",
        sop(
            "start",
            "{id: a, type: cross_entity_trigger, with: {sop: other_sop}}",
            "{id: b, type: cross_entity_trigger, with: {sop: start}}",
            "{id: c, type: cross_entity_trigger, with: {sop: '{{ inputs.which }}'}}",
            "{id: d, type: cross_entity_trigger, with: {sop: other}}",
        ),
    )
    assert found(home) == [
        "sops/shop/start.yaml:7:57: unknown input 'which' (declare it under `inputs:`)",
        "sops/shop/start.yaml:8:53: unknown SOP 'other' (did you mean 'other_sop'?); "
        "`sopbench list` shows the SOPs of the workspace",
    ]


def test_a_broken_target_sop_still_counts_as_existing(home: Path) -> None:
    write(home, "agency/broken.yaml", sop("broken", "{id: a, type: aproval}", entity="agency"))
    write(
        home,
        "shop/start.yaml",
        sop("start", "{id: a, type: cross_entity_trigger, with: {sop: broken}}"),
    )
    assert found(home) == [
        "sops/agency/broken.yaml:5:19: unknown step type 'aproval' (did you mean 'approval'?)"
    ]


def test_duplicate_ids_hide_both_files_and_name_each_other(home: Path) -> None:
    text = sop("twin", "{id: a, type: notification, with: {message: m}}")
    write(home, "shop/twin.yaml", text)
    write(home, "agency/twin.yaml", text.replace("entity: shop", "entity: agency"))
    write(home, "agency/deeper/twin.yaml", text.replace("entity: shop", "entity: agency"))
    workspace = load_workspace(home)
    assert [str(p) for p in workspace.problems] == [
        "sops/agency/deeper/twin.yaml:1:9: duplicate sop_id 'twin' (also in "
        "sops/agency/twin.yaml, sops/shop/twin.yaml); sop_ids are unique in the workspace",
        "sops/agency/twin.yaml:1:9: duplicate sop_id 'twin' (also in "
        "sops/agency/deeper/twin.yaml, sops/shop/twin.yaml); sop_ids are unique in the workspace",
        "sops/shop/twin.yaml:1:9: duplicate sop_id 'twin' (also in "
        "sops/agency/deeper/twin.yaml, sops/agency/twin.yaml); sop_ids are unique in the workspace",
    ]
    assert "twin" not in workspace.sops
    assert "other_sop" in workspace.sops


def test_people_entities_and_groups(home: Path) -> None:
    write(
        home,
        "people.yaml",
        """\
        roles: {manager: m}
        people:
          ann: {name: Ann, roles: [manager], entities: [shop, "*", shopp]}
        """,
    )
    entities = (
        (home / "sops/entities.yaml")
        .read_text()
        .replace("members: [shop, agency]", "members: [shop, agency, bakery]")
    )
    write(home, "entities.yaml", entities)
    assert found(home) == [
        "sops/entities.yaml:17:29: unknown entity 'bakery'; a group's members are entities "
        "of this file",
        "sops/people.yaml:3:60: unknown entity 'shopp' (did you mean 'shop'?); use an id from "
        "sops/entities.yaml, or '*' for all",
    ]


def test_checks_still_run_when_a_workspace_file_has_other_problems(home: Path) -> None:
    entities = (
        (home / "sops/entities.yaml")
        .read_text()
        .replace("timezone: America/Denver", "timezone: America/Denvr")
    )
    write(home, "entities.yaml", entities)
    people = (home / "sops/people.yaml").read_text().replace("name: Bob Manager", "name: [Bob]")
    write(home, "people.yaml", people)
    write(
        home,
        "shop/check.yaml",
        sop(
            "check",
            "{id: a, type: notification, with: {channel: staf, message: m}}",
            "{id: b, type: approval, with: {title: t, approvers: [managr]}}",
            entity="shop",
        ),
    )
    assert found(home) == [
        "sops/entities.yaml:5:15: timezone: unknown time zone 'America/Denvr'; use an IANA "
        "name such as America/Denver or UTC",
        "sops/people.yaml:10:11: name: expected text, got a list",
        "sops/shop/check.yaml:5:49: unknown channel 'staf' for entity 'shop' (did you mean "
        "'staff'?); use one of: log, customers, staff",
        "sops/shop/check.yaml:6:58: unknown role 'managr' (did you mean 'manager'?); roles "
        "come from sops/people.yaml",
    ]


def test_a_sop_with_only_cross_file_problems_is_not_loaded(home: Path) -> None:
    write(
        home,
        "shop/lonely.yaml",
        sop("lonely", "{id: a, type: notification, with: {message: m}}", entity="shopp"),
    )
    workspace = load_workspace(home)
    assert len(workspace.problems) == 1
    assert "lonely" not in workspace.sops
