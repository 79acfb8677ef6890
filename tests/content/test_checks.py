"""Cross-checks between SOP steps and the templates and prompts they name."""

from __future__ import annotations

import shutil
from pathlib import Path

from sopbench.content.checks import content_problems
from sopbench.library import load_workspace

REPO = Path(__file__).resolve().parents[2]

SOP = """\
sop_id: cs_checks
entity: computer_store
name: Content checks
steps:
  - id: typo
    type: content_generate
    with:
      template: anouncement
      platforms: [discord]
  - id: missing_variable
    type: content_generate
    with:
      template: announcement
      platforms: [discord, linkedn]
      variables: {details: no headline here}
  - id: templated
    type: content_generate
    with:
      template: "{{ 'announcement' }}"
      platforms: "{{ ['discord'] }}"
  - id: unknown_prompt
    type: media_request
    with:
      prompt_id: cs_lan_tournaments_poster
  - id: other_entity
    type: media_request
    with:
      prompt_id: gov_managed_it_award_card
  - id: fine
    type: media_request
    with:
      prompt_id: cs_lan_tournaments_bracket_poster
"""


def workspace_with(tmp_path: Path, sop: str) -> Path:
    sops = tmp_path / "sops"
    shutil.copytree(REPO / "sops" / "templates", sops / "templates")
    shutil.copytree(REPO / "sops" / "prompts", sops / "prompts")
    for name in ("entities.yaml", "people.yaml", "connections.yaml"):
        shutil.copy(REPO / "sops" / name, sops / name)
    (sops / "computer_store").mkdir()
    (sops / "computer_store" / "cs_checks.yaml").write_text(sop, encoding="utf-8")
    return tmp_path


def test_the_reference_workspace_has_no_content_problems() -> None:
    assert [str(p) for p in content_problems(load_workspace(REPO))] == []


def test_every_bad_reference_is_reported_at_its_line(tmp_path: Path) -> None:
    workspace = load_workspace(workspace_with(tmp_path, SOP))
    assert [str(p) for p in workspace.problems] == []
    found = [str(p) for p in content_problems(workspace)]
    path = "sops/computer_store/cs_checks.yaml"
    assert found == [
        f"{path}:8:17: unknown content template 'anouncement' (did you mean 'announcement'?); "
        "templates are the *.j2 files of sops/templates/",
        f"{path}:14:28: unknown platform 'linkedn' (did you mean 'linkedin'?); use one of: "
        "discord, x, linkedin, facebook, instagram, tiktok, youtube, twitch, whatnot, email",
        f"{path}:15:18: template 'announcement' needs the variable(s) headline",
        f"{path}:24:18: unknown media prompt 'cs_lan_tournaments_poster' "
        "(did you mean 'cs_lan_tournaments_bracket_poster'?); `sopbench prompts` lists them",
        f"{path}:28:18: media prompt 'gov_managed_it_award_card' belongs to gov_contractor, "
        "not to computer_store",
    ]
