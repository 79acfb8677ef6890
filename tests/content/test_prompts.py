"""The media prompt library: counts, validity, filtering and the `sopbench prompts` command."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pytest

from sopbench.cli import main
from sopbench.content.checks import palettes
from sopbench.content.prompts import (
    SORA_PRO_SIZES,
    CanvaPrompt,
    SoraPrompt,
    load_prompt_library,
)
from sopbench.errors import NotFound
from sopbench.library import load_workspace

REPO = Path(__file__).resolve().parents[2]
WORKSPACE = load_workspace(REPO)
PALETTES = palettes(WORKSPACE)
LIBRARY = load_prompt_library(REPO, palettes=PALETTES)


@pytest.fixture(autouse=True)
def no_home_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOPBENCH_HOME", raising=False)
    monkeypatch.delenv("SOPBENCH_DB_URL", raising=False)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def copy_library(tmp_path: Path) -> Path:
    shutil.copytree(REPO / "sops" / "prompts", tmp_path / "sops" / "prompts")
    return tmp_path


# -- the reference library -------------------------------------------------------


def test_the_library_is_valid() -> None:
    assert [str(p) for p in LIBRARY.problems] == []


def test_exact_counts() -> None:
    assert len(LIBRARY.services) == 28
    assert len(LIBRARY.canva()) == 62
    assert len(LIBRARY.sora()) == 62
    assert len(LIBRARY.prompts) == 124


def test_no_duplicate_ids_across_files() -> None:
    ids: list[str] = []
    for path in sorted((REPO / "sops" / "prompts").rglob("*.yaml")):
        if path.name != "services.yaml":
            text = path.read_text(encoding="utf-8")
            ids += [
                line.split(":", 1)[1].strip()
                for line in text.splitlines()
                if line.startswith("- id:")
            ]
    assert len(ids) == 124
    assert [i for i, n in Counter(ids).items() if n > 1] == []
    assert not set(ids) & set(LIBRARY.services)


def test_services_cover_every_entity_with_both_kinds() -> None:
    entities = {s.entity for s in LIBRARY.services.values()}
    assert entities == {"gov_contractor", "saas", "computer_store", "cross_entity"}
    for sid in LIBRARY.services:
        kinds = Counter(p.kind for p in LIBRARY.prompts.values() if p.service == sid)
        assert kinds["canva"] >= 2 and kinds["sora"] >= 2, sid


def test_sora_prompts_use_values_sora_2_accepts() -> None:
    for prompt in LIBRARY.sora():
        assert prompt.seconds in (4, 8, 12)
        assert prompt.size in ("720x1280", "1280x720", "1024x1792", "1792x1024")
        if prompt.size in SORA_PRO_SIZES:
            assert prompt.model == "sora-2-pro"
        assert prompt.shot and prompt.audio
        assert prompt.text().endswith(f"Audio: {prompt.audio}")


def test_canva_prompts_use_their_entity_palette() -> None:
    for prompt in LIBRARY.canva():
        palette = PALETTES[LIBRARY.entity_of(prompt)]
        assert set(prompt.brand_colors) <= set(palette), prompt.id
        assert prompt.text_slots
        for slot in prompt.text_slots.values():
            assert len(slot.example) <= slot.max_chars


# -- filtering -------------------------------------------------------------------


def test_filter_by_entity_service_kind_and_search() -> None:
    store = LIBRARY.filter(entity="computer_store")
    assert store and all(LIBRARY.entity_of(p) == "computer_store" for p in store)
    live = LIBRARY.filter(service="cs_live_shows", kind="sora")
    assert live and all(isinstance(p, SoraPrompt) and p.service == "cs_live_shows" for p in live)
    found = LIBRARY.filter(search="BURN-IN test")
    assert {p.id for p in found} >= {"cs_hardware_testing_burn_in"}
    assert all(isinstance(p, CanvaPrompt) for p in LIBRARY.filter(kind="canva"))
    assert LIBRARY.filter(entity="saas", search="no such words anywhere") == []


def test_unknown_filters_are_refused_with_a_suggestion() -> None:
    with pytest.raises(NotFound, match="computer_store"):
        LIBRARY.filter(entity="computer_stor")
    with pytest.raises(NotFound, match="cs_live_shows"):
        LIBRARY.filter(service="cs_live_show")


# -- validation ------------------------------------------------------------------


def test_problems_are_reported_at_their_line(tmp_path: Path) -> None:
    home = copy_library(tmp_path)
    bad = home / "sops" / "prompts" / "sora" / "zz_bad.yaml"
    bad.write_text(
        "prompts:\n"
        "- id: bad_seconds\n"
        "  service: cs_live_shows\n"
        "  title: Too long\n"
        "  seconds: 10\n"
        "  size: 1280x720\n"
        "  shot: A shot description that is long enough to pass the minimum length.\n"
        "  audio: Crowd noise.\n"
        "- id: needs_pro\n"
        "  service: cs_live_shows\n"
        "  title: Big\n"
        "  seconds: 8\n"
        "  size: 1792x1024\n"
        "  shot: A shot description that is long enough to pass the minimum length.\n"
        "  audio: Crowd noise.\n"
        "  colour: red\n",
        encoding="utf-8",
    )
    dup = home / "sops" / "prompts" / "canva" / "zz_dup.yaml"
    first = LIBRARY.canva()[0]
    dup.write_text(
        "prompts:\n"
        f"- id: {first.id}\n"
        "  service: no_such_service\n"
        "  title: Copy\n"
        "  design_type: x_post\n"
        "  size: 1600x900\n"
        "  brand_colors: ['#111827']\n"
        "  text_slots: {headline: {max_chars: 5, example: far too long}}\n"
        "  prompt: A prompt long enough to pass the minimum length of forty characters.\n",
        encoding="utf-8",
    )
    library = load_prompt_library(home, palettes=PALETTES)
    found = [str(p) for p in library.problems]
    assert any(p.startswith("sops/prompts/sora/zz_bad.yaml:5:") and "4, 8" in p for p in found)
    assert any(p.startswith("sops/prompts/sora/zz_bad.yaml:16:") and "colour" in p for p in found)
    assert any("zz_dup.yaml:8:" in p and "max_chars" in p for p in found), found


def test_duplicates_unknown_services_and_colours(tmp_path: Path) -> None:
    home = copy_library(tmp_path)
    first = LIBRARY.canva()[0]
    (home / "sops" / "prompts" / "canva" / "zz_more.yaml").write_text(
        "prompts:\n"
        f"- id: {first.id}\n"
        "  service: cs_pc_repair\n"
        "  title: Copy\n"
        "  design_type: x_post\n"
        "  size: 1600x900\n"
        "  brand_colors: ['#111827']\n"
        "  text_slots: {headline: {max_chars: 50, example: Fine}}\n"
        "  prompt: A prompt long enough to pass the minimum length of forty characters.\n"
        "- id: fresh_id\n"
        "  service: cs_pc_repaired\n"
        "  title: Unknown service\n"
        "  design_type: x_post\n"
        "  size: 1600x900\n"
        "  brand_colors: ['#111827']\n"
        "  text_slots: {headline: {max_chars: 50, example: Fine}}\n"
        "  prompt: A prompt long enough to pass the minimum length of forty characters.\n"
        "- id: off_palette\n"
        "  service: cs_pc_repair\n"
        "  title: Wrong colour\n"
        "  design_type: x_post\n"
        "  size: 1600x900\n"
        "  brand_colors: ['#FF00FF']\n"
        "  text_slots: {headline: {max_chars: 50, example: Fine}}\n"
        "  prompt: A prompt long enough to pass the minimum length of forty characters.\n",
        encoding="utf-8",
    )
    found = [str(p) for p in load_prompt_library(home, palettes=PALETTES).problems]
    shown = "sops/prompts/canva/zz_more.yaml"
    assert any(p.startswith(f"{shown}:2:7: duplicate prompt id '{first.id}'") for p in found)
    assert any(p.startswith(f"{shown}:11:") and "did you mean 'cs_pc_repair'" in p for p in found)
    assert any(p.startswith(f"{shown}:23:") and "#FF00FF" in p for p in found), found


# -- the command -----------------------------------------------------------------


def test_prompts_json_lists_the_whole_library(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "--home", str(REPO), "prompts", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["count"] == 124 and len(data["prompts"]) == 124
    assert len(data["services"]) == 28
    assert data["problems"] == []
    sora = next(p for p in data["prompts"] if p["kind"] == "sora")
    assert {"seconds", "size", "shot", "audio", "full_prompt", "entity"} <= set(sora)


def test_prompts_filters(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys,
        "--home",
        str(REPO),
        "prompts",
        "--entity",
        "computer_store",
        "--kind",
        "canva",
        "--json",
    )
    data = json.loads(out)
    assert code == 0 and data["count"] > 0
    assert {p["entity"] for p in data["prompts"]} == {"computer_store"}
    assert {p["kind"] for p in data["prompts"]} == {"canva"}
    code, out, _ = run(capsys, "--home", str(REPO), "prompts", "--search", "thermal camera")
    assert code == 0
    assert "cs_hardware_testing_thermal_vertical" in out  # sora: "thermal camera view"
    assert "cs_hardware_testing_process" in out  # canva: "thermal-camera style image"
    assert out.strip().splitlines()[-1] == "2 prompt(s): 1 canva, 1 sora"


def test_prompts_text_table(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--home", str(REPO), "prompts", "--service", "cs_live_shows")
    lines = out.strip().splitlines()
    assert code == 0
    assert lines[0].split() == ["ID", "KIND", "ENTITY", "SERVICE", "FORMAT", "TITLE"]
    assert lines[-1] == "6 prompt(s): 3 canva, 3 sora"


def test_prompts_unknown_entity_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "--home", str(REPO), "prompts", "--entity", "computer_stor")
    assert code == 1
    assert "did you mean 'computer_store'" in err and "Traceback" not in err


def test_prompts_bad_kind_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, _ = run(capsys, "--home", str(REPO), "prompts", "--kind", "dalle")
    assert code == 2


def test_prompts_show_problems_but_list_the_valid_rest(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    home = copy_library(tmp_path)
    shutil.copy(REPO / "sops" / "entities.yaml", home / "sops" / "entities.yaml")
    (home / "sops" / "prompts" / "sora" / "zz.yaml").write_text("prompts: [{id: x}]\n", "utf-8")
    code, out, err = run(capsys, "--home", str(home), "prompts", "--json")
    assert code == 0
    assert json.loads(out)["count"] == 124
    assert "sops/prompts/sora/zz.yaml:1:" in err
