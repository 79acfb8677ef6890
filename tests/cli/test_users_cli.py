"""`sopbench users list | set-code | clear-code` through the real entry point."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest

from sopbench.cli import main

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("SOPBENCH_HOME", raising=False)
    monkeypatch.delenv("SOPBENCH_DB_URL", raising=False)
    shutil.copytree(REPO / "sops", tmp_path / "sops")
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], home: Path, *args: str) -> tuple[int, str, str]:
    code = main(["--home", str(home), *args])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def test_set_code_from_stdin_then_list(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("mia-code-2026\n"))
    code, out, _ = run(capsys, home, "users", "set-code", "mia", "--stdin")
    assert code == 0 and "access code set for mia" in out
    assert "mia-code-2026" not in out
    code, out, _ = run(capsys, home, "users", "list", "--json")
    rows = {r["id"]: r for r in json.loads(out)}
    assert rows["mia"]["has_code"] is True and rows["olivia"]["has_code"] is False
    code, out, _ = run(capsys, home, "users", "list")
    assert code == 0 and "PERSON" in out and "Mia Chen" in out


def test_generate_prints_the_code_once(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, home, "users", "set-code", "olivia", "--generate")
    assert code == 0
    generated = out.strip().rsplit(" ", 1)[-1]
    assert len(generated) >= 12 and "shown once" in err
    db = (home / ".sopbench" / "sopbench.db").read_bytes()
    assert generated.encode() not in db


def test_mistakes_get_clear_messages(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _, err = run(capsys, home, "users", "set-code", "zed", "--generate")
    assert code == 1 and "'zed' is not in sops/people.yaml" in err and "olivia" in err
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    code, _, err = run(capsys, home, "users", "set-code", "mia", "--stdin")
    assert code == 2 and "at least 8 characters" in err
    code, _, err = run(capsys, home, "users", "set-code", "mia", "--stdin", "--generate")
    assert code == 2 and "either --generate or --stdin" in err


def test_clear_code(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, home, "users", "set-code", "grant", "--generate")
    code, out, _ = run(capsys, home, "users", "clear-code", "grant")
    assert code == 0 and "cleared" in out
    _, out, _ = run(capsys, home, "users", "list", "--json")
    assert not {r["id"]: r for r in json.loads(out)}["grant"]["has_code"]
