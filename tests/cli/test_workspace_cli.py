"""`sopbench init | validate | schema | list` through the real entry point."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from sopbench.cli import main
from sopbench.library import load_workspace
from sopbench.schema import SCHEMA_KINDS, schema_for

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"
BASE = FIXTURES / "workspace_base"
MANY_BROKEN = FIXTURES / "workspaces" / "many_broken"


@pytest.fixture(autouse=True)
def no_home_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOPBENCH_HOME", raising=False)
    monkeypatch.delenv("SOPBENCH_DB_URL", raising=False)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def yaml_files(folder: Path) -> list[Path]:
    """The YAML files under ``folder`` (hidden ones left out, as init leaves them)."""
    found = (p.relative_to(folder) for p in folder.rglob("*.yaml"))
    return sorted(p for p in found if not any(part.startswith(".") for part in p.parts))


def no_traceback(err: str) -> None:
    assert "Traceback" not in err


# -- validate ------------------------------------------------------------------------


def test_validate_the_reference_workspace(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "--home", str(REPO), "validate")
    assert code == 0, out + err
    assert out.startswith("ok: ")
    assert "SOP(s)" in out and err == ""


def test_validate_reports_every_problem(capsys: pytest.CaptureFixture[str]) -> None:
    expected = (MANY_BROKEN / "expected.txt").read_text(encoding="utf-8")
    code, out, err = run(capsys, "--home", str(MANY_BROKEN), "validate")
    assert code == 1
    assert out == expected
    assert err == f"{len(expected.splitlines())} problem(s) in 8 file(s)\n"


def test_validate_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--home", str(MANY_BROKEN), "validate", "--json")
    assert code == 1
    report = json.loads(out)
    assert report["valid"] is False
    assert report["sops"] == 1
    expected = (MANY_BROKEN / "expected.txt").read_text(encoding="utf-8").splitlines()
    shown = [f"{p['path']}:{p['line']}:{p['column']}: {p['message']}" for p in report["problems"]]
    assert shown == expected

    code, out, _ = run(capsys, "--home", str(BASE), "validate", "--json")
    assert code == 0
    assert json.loads(out) == {"valid": True, "sops": 1, "problems": []}


def test_validate_without_a_workspace(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = run(capsys, "--home", str(tmp_path), "validate")
    assert code == 1
    assert out == "sops:1:1: no sops/ folder here; run `sopbench init` or pass --home\n"
    no_traceback(err)


# -- workspace location --------------------------------------------------------------


def test_home_from_the_environment(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOPBENCH_HOME", str(MANY_BROKEN))
    code, out, _ = run(capsys, "validate")
    assert code == 1
    assert "sops/people.yaml:6:13: unknown role 'manger'" in out


def test_home_option_wins_over_the_environment(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOPBENCH_HOME", str(MANY_BROKEN))
    code, out, _ = run(capsys, "--home", str(BASE), "validate")
    assert code == 0
    assert out.startswith("ok: 1 SOP(s)")


def test_home_defaults_to_the_current_directory(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(BASE)
    code, out, _ = run(capsys, "validate")
    assert code == 0
    assert out == "ok: 1 SOP(s), 3 entities, 3 people\n"


# -- errors ----------------------------------------------------------------------------


def test_a_sopbench_error_is_one_line_on_stderr(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    a_file = tmp_path / "not_a_folder"
    a_file.write_text("x", encoding="utf-8")
    monkeypatch.setenv("SOPBENCH_HOME", str(a_file))
    code, out, err = run(capsys, "validate")
    assert code == 1
    assert out == ""
    assert err == f"error: workspace home {a_file} is a file, not a folder\n"


def test_list_of_a_workspace_without_valid_sops_is_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    home = tmp_path / "ws"
    (home / "sops" / "shop").mkdir(parents=True)
    (home / "sops" / "entities.yaml").write_text("entities:\n  shop: {name: S}\n")
    (home / "sops" / "shop" / "bad.yaml").write_text("sop_id: bad\n")
    code, out, err = run(capsys, "--home", str(home), "list")
    assert code == 1
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("error: sops/shop/bad.yaml:1:1: missing required field 'entity'")
    assert "(and 2 more problem(s))" in err
    assert "run `sopbench validate`" in err
    no_traceback(err)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["frobnicate"], "No such command 'frobnicate'"),
        (["validate", "--bogus"], "No such option: --bogus"),
        (["list", "--entity"], "Option '--entity' requires an argument"),
        (["schema", "--kind", "nope"], "Invalid value for '--kind'"),
    ],
)
def test_usage_errors_exit_2(
    capsys: pytest.CaptureFixture[str], args: list[str], words: str
) -> None:
    code, out, err = run(capsys, "--home", str(BASE), *args)
    assert code == 2
    assert out == ""
    normalised = err.replace("No such option '--bogus'", "No such option: --bogus")
    assert words in normalised
    no_traceback(err)


def test_help_and_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--help")
    assert code == 0
    for command in ("init", "validate", "schema", "list"):
        assert command in out
    code, out, _ = run(capsys, "--version")
    assert code == 0
    assert "version" in out


# -- list ----------------------------------------------------------------------------------


def test_list_reference_sops(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "--home", str(REPO), "list")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["SOP_ID", "ENTITY", "NAME", "TRIGGERS", "STEPS"]
    ids = [line.split()[0] for line in lines[1:]]
    assert "cs_tournament_event" in ids and "gov_contract_win" in ids
    entities = [line.split()[1] for line in lines[1:]]
    assert entities == sorted(entities)


def test_list_filters_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    workspace = load_workspace(REPO)
    code, out, _ = run(capsys, "--home", str(REPO), "list", "--entity", "computer_store", "--json")
    assert code == 0
    rows = json.loads(out)
    expected_ids = sorted(k for k, v in workspace.sops.items() if v.entity == "computer_store")
    assert [row["sop_id"] for row in rows] == expected_ids
    event = next(row for row in rows if row["sop_id"] == "cs_tournament_event")
    sop = workspace.sop("cs_tournament_event")
    assert event["path"] == "sops/computer_store/cs_tournament_event.yaml"
    assert event["name"] == sop.name
    assert event["tags"] == sop.tags
    assert len(event["triggers"]) == max(1, len(sop.triggers))
    assert event["steps"] == len(sop.walk())
    assert event["step_types"] == sorted(sop.step_types())
    assert set(event) == {
        "sop_id",
        "entity",
        "name",
        "tags",
        "triggers",
        "steps",
        "step_types",
        "path",
    }

    code, out, _ = run(capsys, "--home", str(REPO), "list", "--tag", "contracts", "--json")
    tagged = json.loads(out)
    assert "gov_contract_win" in [row["sop_id"] for row in tagged]
    assert all("contracts" in row["tags"] for row in tagged)

    code, out, _ = run(capsys, "--home", str(REPO), "list", "--tag", "no-such-tag")
    assert code == 0
    assert out == "(none)\n"


def test_list_shows_schedules(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    home = tmp_path / "ws"
    shutil.copytree(BASE, home)
    (home / "sops" / "shop" / "weekly.yaml").write_text(
        "sop_id: weekly\nentity: shop\nname: Weekly\ntags: [reports]\n"
        "triggers:\n  - schedule: {cron: '0 9 * * MON', timezone: America/Denver}\n"
        "  - event: report.requested\n"
        "steps:\n  - {id: tell, type: notification, with: {message: hi}}\n",
        encoding="utf-8",
    )
    code, out, _ = run(capsys, "--home", str(home), "list", "--tag", "reports", "--json")
    assert code == 0
    (row,) = json.loads(out)
    assert row["triggers"] == ["cron '0 9 * * MON' America/Denver", "event report.requested"]


def test_list_warns_about_hidden_invalid_sops(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(capsys, "--home", str(MANY_BROKEN), "list")
    assert code == 0
    assert "good_one" in out
    assert "warning: 15 problem(s) hide invalid SOPs from this list" in err


# -- schema --------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(SCHEMA_KINDS))
def test_schema_prints_valid_json_schema(capsys: pytest.CaptureFixture[str], kind: str) -> None:
    code, out, _ = run(capsys, "--home", str(BASE), "schema", "--kind", kind)
    assert code == 0
    schema = json.loads(out)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema == schema_for(kind)


def test_schema_defaults_to_sop(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--home", str(BASE), "schema")
    assert code == 0
    assert json.loads(out) == schema_for("sop")


def test_schema_write(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    home = tmp_path / "ws"
    shutil.copytree(BASE, home)
    code, out, _ = run(capsys, "--home", str(home), "schema", "--write")
    assert code == 0
    folder = home / "sops" / ".schema"
    written = sorted(p.name for p in folder.iterdir())
    assert written == sorted(f"{kind}.schema.json" for kind in SCHEMA_KINDS)
    for kind in SCHEMA_KINDS:
        assert f"wrote {folder / f'{kind}.schema.json'}" in out
        saved = json.loads((folder / f"{kind}.schema.json").read_text(encoding="utf-8"))
        assert saved == schema_for(kind)
    assert "yaml-language-server" in out
    # the hidden .schema folder is not read as SOPs
    code, out, _ = run(capsys, "--home", str(home), "validate")
    assert code == 0


# -- init ------------------------------------------------------------------------------------


def test_init_creates_a_workspace(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    home = tmp_path / "new"
    code, out, err = run(capsys, "--home", str(home), "init")
    assert code == 0, out + err
    assert (home / "sops" / "entities.yaml").is_file()
    assert yaml_files(home / "sops") == yaml_files(REPO / "sops")
    assert (home / "reports" / "README.md").read_text(encoding="utf-8").startswith("# reports/")
    assert (home / ".sopbench").is_dir()
    assert (home / ".sopbench" / "sopbench.db").is_file()
    assert f"created {home / 'sops'} from the bundled reference workspace" in out
    assert "database ready: sqlite:///" in out
    assert out.rstrip().endswith("valid")

    # running it again changes nothing and keeps the operator's edits
    entities = home / "sops" / "entities.yaml"
    entities.write_text(entities.read_text(encoding="utf-8") + "# my note\n", encoding="utf-8")
    code, out, _ = run(capsys, "--home", str(home), "init")
    assert code == 0
    assert "created" not in out
    assert entities.read_text(encoding="utf-8").endswith("# my note\n")


def test_init_reports_problems_of_an_existing_workspace(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    home = tmp_path / "ws"
    shutil.copytree(MANY_BROKEN, home)
    (home / "expected.txt").unlink()
    code, out, err = run(capsys, "--home", str(home), "init")
    assert code == 1
    assert "database ready" in out
    assert "sops/people.yaml:6:13: unknown role 'manger'" in err
    assert err.rstrip().endswith(f"workspace {home} has 15 problem(s)")


# -- a real process ------------------------------------------------------------------------------


def test_python_dash_m_sopbench(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPBENCH_")}
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    ok = subprocess.run(
        [sys.executable, "-m", "sopbench", "--home", str(REPO), "validate"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("ok: ")

    broken = subprocess.run(
        [sys.executable, "-m", "sopbench", "validate"],
        capture_output=True,
        text=True,
        env={**env, "SOPBENCH_HOME": str(MANY_BROKEN)},
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert broken.returncode == 1
    assert broken.stdout == (MANY_BROKEN / "expected.txt").read_text(encoding="utf-8")
    assert "Traceback" not in broken.stderr

    usage = subprocess.run(
        [sys.executable, "-m", "sopbench", "no-such-command"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert usage.returncode == 2
    assert "No such command" in usage.stderr
