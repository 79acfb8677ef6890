"""Loading whole workspaces: every broken fixture, every problem, one pass.

Each file in ``fixtures/broken_sops/`` is a SOP with defects; its leading
``# expect: line:col: message`` comments list exactly the problems sopbench
must report (the path is implied: the test copies the file into a valid base
workspace at ``sops/<entity folder>/<file name>``). Each folder in
``fixtures/workspaces/`` is a whole workspace with an ``expected.txt`` of full
``path:line:col: message`` lines, in the order ``validate`` prints them.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from sopbench.errors import NotFound, Problem, WorkspaceInvalid
from sopbench.library import load_workspace, sop_files

FIXTURES = Path(__file__).parent / "fixtures"
BASE = FIXTURES / "workspace_base"
BROKEN = FIXTURES / "broken_sops"
WORKSPACES = FIXTURES / "workspaces"
REFERENCE = Path(__file__).resolve().parents[1] / "sops"
BASE_ENTITIES = ("shop", "agency", "cross_entity")

_EXPECT = re.compile(r"^# expect: (\d+:\d+: .*)$")
_ENTITY = re.compile(rb"^entity:\s*(\w+)", re.MULTILINE)


def expected_problems(path: Path) -> list[str]:
    """The ``line:col: message`` lines of a fixture's leading comment block."""
    expected = []
    for raw in path.read_bytes().splitlines():
        line = raw.decode("utf-8", "replace")
        if not line.startswith("#"):
            break
        match = _EXPECT.match(line)
        if match:
            expected.append(match.group(1))
    return expected


def entity_folder(data: bytes) -> str:
    match = _ENTITY.search(data)
    entity = match.group(1).decode() if match else ""
    return entity if entity in BASE_ENTITIES else "shop"


def base_workspace(tmp_path: Path) -> Path:
    home = tmp_path / "ws"
    shutil.copytree(BASE, home)
    return home


BROKEN_FILES = sorted(BROKEN.glob("*.yaml"))


def test_there_are_enough_broken_fixtures() -> None:
    assert len(BROKEN_FILES) >= 35
    for path in BROKEN_FILES:
        assert path.read_bytes().startswith(b"# "), f"{path.name} starts with a description"


def test_the_base_workspace_is_valid() -> None:
    workspace = load_workspace(BASE)
    assert workspace.problems == []
    assert set(workspace.sops) == {"other_sop"}
    assert workspace.entities is not None and set(workspace.entities.entities) == {
        "shop",
        "agency",
        "cross_entity",
    }


@pytest.mark.parametrize("fixture", BROKEN_FILES, ids=[p.stem for p in BROKEN_FILES])
def test_broken_sop_reports_exactly_its_problems(fixture: Path, tmp_path: Path) -> None:
    expected = expected_problems(fixture)
    assert expected, f"{fixture.name} declares no `# expect:` lines"
    data = fixture.read_bytes()
    home = base_workspace(tmp_path)
    shown = f"sops/{entity_folder(data)}/{fixture.name}"
    (home / shown).write_bytes(data)

    workspace = load_workspace(home)

    elsewhere = [str(p) for p in workspace.problems if p.path != shown]
    assert elsewhere == [], "the base workspace must stay clean"
    found = [f"{p.line}:{p.column}: {p.message}" for p in workspace.problems]
    assert sorted(found) == sorted(expected)
    assert fixture.stem not in workspace.sops
    assert "other_sop" in workspace.sops, "valid SOPs are kept when another file is broken"


def test_python_tags_are_never_executed(tmp_path: Path) -> None:
    marker = Path("/tmp/sopbench-was-here")
    marker.unlink(missing_ok=True)
    home = base_workspace(tmp_path)
    shutil.copy(BROKEN / "yaml_python_tags.yaml", home / "sops" / "shop")
    workspace = load_workspace(home)
    assert workspace.problems
    assert not marker.exists()


WORKSPACE_DIRS = sorted(p for p in WORKSPACES.iterdir() if p.is_dir())


@pytest.mark.parametrize("home", WORKSPACE_DIRS, ids=[p.name for p in WORKSPACE_DIRS])
def test_broken_workspace_reports_every_problem_sorted(home: Path, tmp_path: Path) -> None:
    expected = (home / "expected.txt").read_text(encoding="utf-8").splitlines()
    copy = tmp_path / home.name
    shutil.copytree(home, copy)

    workspace = load_workspace(copy)

    assert [str(p) for p in workspace.problems] == expected
    assert workspace.problems == sorted(workspace.problems)
    assert not workspace.valid
    with pytest.raises(WorkspaceInvalid) as caught:
        workspace.raise_if_invalid()
    assert caught.value.problems == workspace.problems


def test_many_broken_files_come_out_in_one_run() -> None:
    workspace = load_workspace(WORKSPACES / "many_broken")
    paths = {p.path for p in workspace.problems}
    assert paths == {
        "sops/entities.yaml",
        "sops/people.yaml",
        "sops/connections.yaml",
        "sops/shop/broken_yaml.yaml",
        "sops/shop/bad_steps.yaml",
        "sops/agency/wrong_name.yaml",
        "sops/agency/latin1.yaml",
        "sops/cross_entity/kick_off.yaml",
    }
    # the valid SOP still loads; the prompts/ data folder is not read as SOPs
    assert set(workspace.sops) == {"good_one"}
    assert "sops/prompts/not_a_sop.yaml" not in workspace.documents


def test_duplicate_sop_ids_load_neither_copy() -> None:
    workspace = load_workspace(WORKSPACES / "duplicate_sop_id")
    assert set(workspace.sops) == {"unique"}


def test_reference_workspace_has_no_problems() -> None:
    workspace = load_workspace(REFERENCE.parent)
    assert [str(p) for p in workspace.problems] == []
    assert len(workspace.sops) >= 2
    for sop_id, sop in workspace.sops.items():
        assert Path(sop.path).stem == sop_id
        assert sop.path.startswith("sops/")


def test_no_sops_folder_is_one_problem(tmp_path: Path) -> None:
    workspace = load_workspace(tmp_path)
    assert [str(p) for p in workspace.problems] == [
        "sops:1:1: no sops/ folder here; run `sopbench init` or pass --home"
    ]


def test_zero_byte_sop_file(tmp_path: Path) -> None:
    home = base_workspace(tmp_path)
    (home / "sops" / "shop" / "blank.yaml").write_bytes(b"")
    workspace = load_workspace(home)
    assert [str(p) for p in workspace.problems] == [
        "sops/shop/blank.yaml:1:1: the file is empty; a SOP needs sop_id, entity, name and steps"
    ]


def test_empty_and_list_workspace_files(tmp_path: Path) -> None:
    home = base_workspace(tmp_path)
    (home / "sops" / "people.yaml").write_text("# nobody yet\n", encoding="utf-8")
    (home / "sops" / "entities.yaml").write_text("- shop\n- agency\n", encoding="utf-8")
    workspace = load_workspace(home)
    assert [str(p) for p in workspace.problems] == [
        "sops/entities.yaml:1:1: expected a mapping (key: value pairs), got a list",
        "sops/people.yaml:1:1: people.yaml is empty; declare `roles:` and `people:`, "
        "or delete the file",
    ]


def test_people_and_connections_files_are_optional(tmp_path: Path) -> None:
    home = base_workspace(tmp_path)
    (home / "sops" / "people.yaml").unlink()
    (home / "sops" / "shop" / "ask.yaml").write_text(
        "sop_id: ask\nentity: shop\nname: Ask\nsteps:\n"
        "  - id: ask\n    type: approval\n"
        "    with: {title: Go?, approvers: [anyone], required: 3}\n",
        encoding="utf-8",
    )
    workspace = load_workspace(home)
    assert workspace.problems == []  # roles cannot be checked without people.yaml
    assert workspace.people is None and workspace.connections is None
    assert set(workspace.sops) == {"ask", "other_sop"}


def test_utf8_with_bom_and_crlf_line_ends(tmp_path: Path) -> None:
    home = base_workspace(tmp_path)
    text = (
        "sop_id: crlf\r\nentity: shop\r\nname: CRLF\r\nsteps:\r\n  - id: a\r\n    type: aproval\r\n"
    )
    (home / "sops" / "shop" / "crlf.yaml").write_bytes(b"\xef\xbb\xbf" + text.encode())
    workspace = load_workspace(home)
    assert [str(p) for p in workspace.problems] == [
        "sops/shop/crlf.yaml:6:11: unknown step type 'aproval' (did you mean 'approval'?)"
    ]


def test_valid_sop_model_is_complete(tmp_path: Path) -> None:
    home = base_workspace(tmp_path)
    (home / "sops" / "shop" / "nested.yaml").write_text(
        """\
sop_id: nested
entity: shop
name: Nested steps
inputs:
  orders: {type: list, default: []}
steps:
  - id: each
    type: loop
    with:
      over: "{{ inputs.orders }}"
      as: order
      steps:
        - id: big
          type: condition
          with:
            if: "{{ order.total > 100 }}"
            then:
              - id: ask
                type: approval
                with: {title: "Order {{ order.id }}?", approvers: [manager]}
            else:
              - {id: thank, type: notification, with: {message: "Thanks {{ order.id }}"}}
  - id: done
    type: notification
    with: {message: "{{ steps.ask.decision }}"}
""",
        encoding="utf-8",
    )
    workspace = load_workspace(home)
    assert workspace.problems == []
    sop = workspace.sop("nested")
    assert sop.path == "sops/shop/nested.yaml"
    assert [path for path, _ in sop.walk()] == [
        "each",
        "each.big",
        "each.big.ask",
        "each.big.thank",
        "done",
    ]
    assert sop.step_types() == {"loop", "condition", "approval", "notification"}
    loop = sop.steps[0]
    assert loop.params is not None
    assert set(loop.children) == {"steps"}
    condition = loop.children["steps"][0]
    assert set(condition.children) == {"then", "else"}
    assert condition.children["then"][0].id == "ask"


def test_unknown_sop_suggests_a_near_id() -> None:
    workspace = load_workspace(BASE)
    with pytest.raises(NotFound) as caught:
        workspace.sop("other_sopp")
    assert "other_sop" in str(caught.value)
    with pytest.raises(NotFound) as caught:
        workspace.sop("zzz")
    assert "sopbench list" in str(caught.value)


def test_sop_files_skips_workspace_hidden_and_data_files(tmp_path: Path) -> None:
    sops = tmp_path / "sops"
    for name in [
        "entities.yaml",
        "people.yaml",
        "connections.yaml",
        "shop/a.yaml",
        "shop/b.yml",
        "shop/notes.txt",
        "shop/.hidden.yaml",
        "shop/deep/c.yaml",
        "shop/prompts/still_a_sop.yaml",
        ".git/x.yaml",
        "_drafts/x.yaml",
        "prompts/p.yaml",
        "templates/t.yaml",
        "media/m.yaml",
    ]:
        path = sops / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x: 1\n", encoding="utf-8")
    found = [p.relative_to(sops).as_posix() for p in sop_files(sops)]
    assert found == [
        "shop/a.yaml",
        "shop/b.yml",
        "shop/deep/c.yaml",
        "shop/prompts/still_a_sop.yaml",
    ]


def test_problems_are_ordered_by_path_line_column() -> None:
    problems = [
        Problem("sops/b.yaml", 1, 1, "x"),
        Problem("sops/a.yaml", 10, 1, "y"),
        Problem("sops/a.yaml", 2, 5, "z"),
        Problem("sops/a.yaml", 2, 3, "w"),
    ]
    assert [str(p) for p in sorted(problems)] == [
        "sops/a.yaml:2:3: w",
        "sops/a.yaml:2:5: z",
        "sops/a.yaml:10:1: y",
        "sops/b.yaml:1:1: x",
    ]
    error = WorkspaceInvalid(problems)
    assert str(error).startswith("sops/a.yaml:2:3: w (and 3 more problem(s))")
