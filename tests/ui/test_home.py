"""The Home page: entities with counts, recent runs, what needs the reviewer."""

from __future__ import annotations

from sopbench.services.runs import RunService
from sopbench.testing.widgets import text_of
from tests.ui.conftest import PageFactory


def test_home_lists_entities_with_their_sop_counts(make_page: PageFactory) -> None:
    text = text_of(make_page("home"))
    assert "Summit Federal IT" in text
    assert "Summit PC & LAN" in text
    assert "No runs yet" in text
    assert "Sign in on the" in text


def test_home_counts_waiting_runs_and_what_needs_the_reviewer(
    make_page: PageFactory, runs: RunService
) -> None:
    sop = next(
        s for s in runs.workspace.sops.values() if any(st.type == "approval" for st in s.steps)
    )
    view = runs.start(sop.sop_id, sop.examples[0] if sop.examples else {}, started_by="olivia")
    assert view.run.status == "waiting", view.as_dict()
    approvers = [t for t in runs.tasks(status="open")]
    assert approvers, "the run should wait on a human task"
    deciders = [
        pid
        for pid in runs.workspace.people.people
        if runs.tasks(person=pid)  # type: ignore[union-attr]
    ]
    assert deciders
    text = text_of(make_page("home", person=deciders[0]))
    assert "1 waiting" in text
    assert "1 open task(s) you can decide" in text
    assert view.run.id in text
