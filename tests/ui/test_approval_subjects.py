"""An approval whose subject is generated drafts shows the drafts' text."""

from __future__ import annotations

from pathlib import Path

from sopbench.config import Settings
from sopbench.services.runs import RunService
from sopbench.testing.widgets import text_of
from tests.ui.conftest import PageFactory

APPROVE_DRAFTS = """\
sop_id: ui_approve_drafts
entity: saas
name: Approve generated drafts as one approval
steps:
  - id: draft
    type: content_generate
    with:
      template: announcement
      platforms: [linkedin]
      variables: {headline: "Summit Cloud 4.2 is out"}
  - id: sign_off
    type: approval
    with:
      title: Publish the 4.2 announcement?
      approvers: [manager]
      subject: "{{ steps.draft.draft_ids }}"
"""


def test_an_approval_of_drafts_shows_their_text(
    home: Path, settings: Settings, make_page: PageFactory
) -> None:
    (home / "sops" / "saas" / "ui_approve_drafts.yaml").write_text(APPROVE_DRAFTS)
    runs = RunService(settings)
    try:
        view = runs.start("ui_approve_drafts", {}, started_by="ravi")
        assert view.run.status == "waiting", view.as_dict()
        (task,) = runs.tasks(status="open")
    finally:
        runs.close()
    page = make_page("approvals", query={"task": task.id}, person="priya")
    text = text_of(page)
    assert "Summit Cloud 4.2 is out" in text  # the draft body, not just its id
    assert "(linkedin, " in text
