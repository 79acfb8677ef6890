"""The per-file load cache and the parallel first load give the same answers as a plain load."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from sopbench.library import load_workspace

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
