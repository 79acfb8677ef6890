"""The per-file load cache and the parallel first load give the same answers as a plain load."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sopbench import library_cache
from sopbench.library import load_workspace
from sopbench.library_cache import FileCache

BASE = Path(__file__).parent / "fixtures" / "workspace_base" / "sops"

SOP = """\
sop_id: {sop_id}
entity: shop
name: Generated {index}
inputs:
  who: {{type: string, default: team}}
steps:
  - id: greet
    type: transform
    with: {{set: {{greeting: "hello {{{{ inputs.who }}}} {index}"}}}}
  - id: tell
    type: notification
    with: {{message: "{{{{ vars.greeting }}}}"}}
"""


@pytest.fixture
def home(tmp_path: Path) -> Path:
    shutil.copytree(BASE, tmp_path / "sops")
    (tmp_path / ".sopbench").mkdir()  # the cache is used once a workspace is initialised
    return tmp_path


def _write(home: Path, name: str, text: str) -> Path:
    path = home / "sops" / "shop" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_second_load_comes_from_the_cache_and_matches(home: Path) -> None:
    _write(home, "greet_ok.yaml", SOP.format(sop_id="greet_ok", index=1))
    # a file whose only problem is found across files: its position needs the lazy re-parse
    _write(
        home,
        "greet_bad.yaml",
        SOP.format(sop_id="greet_bad", index=2).replace("entity: shop", "entity: shopp"),
    )
    first = load_workspace(home)
    cache_file = home / ".sopbench" / "cache" / "library.pickle"
    assert cache_file.is_file()
    second = load_workspace(home)
    assert [str(p) for p in second.problems] == [str(p) for p in first.problems]
    assert any("unknown entity 'shopp'" in str(p) and ":2:9:" in str(p) for p in second.problems)
    assert sorted(second.sops) == sorted(first.sops)
    cached = second.sops["greet_ok"]
    assert cached.path == "sops/shop/greet_ok.yaml"
    assert [step.type for step in cached.steps] == ["transform", "notification"]
    assert (
        second.documents["sops/shop/greet_ok.yaml"].data
        == first.documents["sops/shop/greet_ok.yaml"].data
    )


def test_a_changed_file_is_checked_again(home: Path) -> None:
    path = _write(home, "greet_ok.yaml", SOP.format(sop_id="greet_ok", index=1))
    assert load_workspace(home).valid
    path.write_text(
        SOP.format(sop_id="greet_ok", index=1).replace("type: transform", "type: transfrom")
    )
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    problems = [str(p) for p in load_workspace(home).problems]
    assert problems == [
        "sops/shop/greet_ok.yaml:8:11: unknown step type 'transfrom' (did you mean 'transform'?)"
    ]


def test_a_corrupt_cache_is_ignored(home: Path) -> None:
    _write(home, "greet_ok.yaml", SOP.format(sop_id="greet_ok", index=1))
    load_workspace(home)
    (home / ".sopbench" / "cache" / "library.pickle").write_bytes(b"not a pickle")
    workspace = load_workspace(home)
    assert workspace.valid and "greet_ok" in workspace.sops


def test_parallel_first_load_equals_sequential(tmp_path: Path) -> None:
    many = tmp_path / "many"
    shutil.copytree(BASE, many / "sops")
    for index in range(230):
        _write(many, f"gen_{index:03d}.yaml", SOP.format(sop_id=f"gen_{index:03d}", index=index))
    _write(
        many,
        "gen_bad.yaml",
        SOP.format(sop_id="gen_bad", index=999).replace("{{ inputs.who }}", "{{ inputs.whom }}"),
    )
    few = tmp_path / "few"
    shutil.copytree(BASE, few / "sops")
    _write(
        few,
        "gen_bad.yaml",
        SOP.format(sop_id="gen_bad", index=999).replace("{{ inputs.who }}", "{{ inputs.whom }}"),
    )
    parallel = load_workspace(many)  # 232 SOP files: checked on every core
    sequential = load_workspace(few)
    assert len(parallel.sops) == 231
    assert [str(p) for p in parallel.problems] == [str(p) for p in sequential.problems]
    assert len(parallel.problems) == 1


def test_the_cache_is_only_used_by_the_code_that_filled_it(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(home, "greet_ok.yaml", SOP.format(sop_id="greet_ok", index=1))
    load_workspace(home)
    assert "sops/shop/greet_ok.yaml" in FileCache.open(home).entries

    # another version of any module of the package: a different key, nothing reused
    monkeypatch.setattr(library_cache, "package_digest", lambda: "0" * 64)
    assert FileCache.open(home).entries == {}
    assert load_workspace(home).valid
    monkeypatch.undo()
    assert FileCache.open(home).entries == {}  # rewritten under the other key


def test_the_digest_follows_every_module_of_the_package(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    (package / "deep").mkdir(parents=True)
    (package / "a.py").write_text("A = 1\n")
    (package / "deep" / "b.py").write_text("B = 2\n")
    first = library_cache.package_digest.__wrapped__(package)
    (package / "deep" / "b.py").write_text("B = 3\n")
    assert library_cache.package_digest.__wrapped__(package) != first
    (package / "deep" / "b.py").write_text("B = 2\n")
    assert library_cache.package_digest.__wrapped__(package) == first
    (package / "README.txt").write_text("not code")
    assert library_cache.package_digest.__wrapped__(package) == first


def test_an_edited_module_invalidates_the_cache_of_a_real_validate(tmp_path: Path) -> None:
    """A copy of the package validates, a module of it is edited, the problems follow."""
    site = tmp_path / "site"
    shutil.copytree(
        Path(library_cache.__file__).parent,
        site / "sopbench",
        ignore=shutil.ignore_patterns("__pycache__", "_bundled"),
    )
    home = tmp_path / "home"
    shutil.copytree(BASE, home / "sops")
    (home / ".sopbench").mkdir()
    _write(
        home,
        "greet_typo.yaml",
        SOP.format(sop_id="greet_typo", index=1).replace("type: transform", "type: transfrom"),
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPBENCH_")}
    env["PYTHONPATH"] = os.pathsep.join([str(site), *sys.path])
    env["PYTHONDONTWRITEBYTECODE"] = "1"

    def validate() -> str:
        done = subprocess.run(
            [sys.executable, "-m", "sopbench", "--home", str(home), "validate"],
            env=env,
            cwd=tmp_path,  # `-m` puts the working folder first on sys.path
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 1, done.stderr
        return done.stdout + done.stderr

    assert "unknown step type 'transfrom'" in validate()
    assert (home / ".sopbench" / "cache" / "library.pickle").is_file()
    checker = site / "sopbench" / "sopcheck.py"
    checker.write_text(
        checker.read_text().replace("unknown step type", "no step type named"), encoding="utf-8"
    )
    shown = validate()
    assert "no step type named 'transfrom'" in shown
    assert "unknown step type" not in shown
