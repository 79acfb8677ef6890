"""The SOP page: definition, the typed run form, dry-run and run, recent runs."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import ipywidgets as widgets
import pytest

from sopbench.model.inputs import coerce_inputs
from sopbench.services.runs import RunService
from sopbench.testing.widgets import button, find_all, text_of
from sopbench.ui import Page
from sopbench.ui.run_form import RunForm
from tests.ui.conftest import PageFactory
from tests.ui.demo_sops import APPROVAL_SOP, QUICK_SOP, demo_home


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return demo_home(tmp_path / "home")


def _field(page: Page, name: str) -> widgets.Widget:
    [found] = find_all(page, css=f"sb-field-{name}")
    return found


def _example(page: Page, index: int) -> None:
    [chooser] = find_all(page, widgets.Dropdown, css="sb-example")
    chooser.value = index


def _only(page: Page, css: str) -> widgets.Widget:
    [found] = find_all(page, css=css)
    return found


def test_without_a_sop_the_page_lists_every_sop(make_page: PageFactory) -> None:
    page = make_page("sop")
    text = text_of(page)
    assert "SOPs (24)" in text
    html = " ".join(w.value for w in find_all(_only(page, "sb-table-sops"), widgets.HTML))
    assert 'href="sop.ipynb?sop=gov_contract_win"' in html
    assert 'href="entity.ipynb?entity=gov_contractor"' in html


def test_unknown_sop_shows_not_found_with_a_suggestion(make_page: PageFactory) -> None:
    page = make_page("sop", query={"sop": "gov_contract_wim"})
    assert find_all(page, css="sb-not-found")
    text = text_of(page)
    assert "SOP not found" in text
    assert "no SOP with id 'gov_contract_wim'" in text and "gov_contract_win" in text
    assert not find_all(page, css="sb-run-form")


def test_definition_steps_inputs_and_source(make_page: PageFactory) -> None:
    page = make_page("sop", query={"sop": APPROVAL_SOP})
    definition = text_of(_only(page, "sb-sop-definition"))
    assert "Demo announcement with sign-off" in definition
    assert "Summit Cloud" in definition and "manual" in definition
    assert "3 (approval, transform)" in definition
    steps = text_of(_only(page, "sb-table-sop-steps"))
    for expected in ("prepare", "Build the headline", "sign_off", "approval", "finish"):
        assert expected in steps
    inputs = text_of(_only(page, "sb-table-inputs"))
    assert "Headline title" in inputs and "small, large" in inputs
    source = _only(page, "sb-sop-source")
    assert '<pre class="sb-pre">' in source.value
    assert "sop_id: ui_demo_approval" in text_of(source)


def test_form_widgets_follow_the_input_types_and_examples_fill_them(
    make_page: PageFactory,
) -> None:
    page = make_page("sop", query={"sop": APPROVAL_SOP})
    kinds = {
        "title": widgets.Text,
        "count": widgets.IntText,
        "ratio": widgets.FloatText,
        "urgent": widgets.Checkbox,
        "size": widgets.Dropdown,
        "due": widgets.DatePicker,
        "notes": widgets.Textarea,
        "items": widgets.Text,
    }
    for name, kind in kinds.items():
        assert type(_field(page, name)) is kind, name
    assert _field(page, "count").value == 2 and _field(page, "size").value == "small"
    _example(page, 0)
    assert _field(page, "title").value == "Launch"
    assert _field(page, "count").value == 3 and _field(page, "urgent").value is True
    assert _field(page, "due").value == date(2027, 3, 14)
    assert _field(page, "items").value == "alpha, beta"
    _example(page, -1)
    assert _field(page, "title").value == "" and _field(page, "count").value == 2


def test_dry_run_from_the_page_succeeds_and_shows_its_steps(
    make_page: PageFactory, runs: RunService
) -> None:
    page = make_page("sop", query={"sop": APPROVAL_SOP})  # nobody signed in: fine for a dry run
    _example(page, 0)
    button(page, "Dry-run").click()
    result = _only(page, "sb-run-result")
    text = text_of(result)
    assert "(dry run)" in text and "succeeded" in text, text
    steps = text_of(_only(result, "sb-table-run-steps"))
    assert "prepare" in steps and "sign_off" in steps and "finish" in steps
    [row], total = runs.runs_page(sop_id=APPROVAL_SOP)
    assert total == 1 and row["dry_run"] and row["status"] == "succeeded"
    assert f'href="history.ipynb?run={row["run_id"]}"' in _only(result, "sb-run-status").value
    assert row["run_id"] in text_of(_only(page, "sb-table-sop-runs"))
    assert runs.view(row["run_id"]).run.inputs["items"] == ["alpha", "beta"]
    assert runs.view(row["run_id"]).run.inputs["due"] == "2027-03-14"


def test_a_reference_sop_dry_runs_with_its_example(make_page: PageFactory) -> None:
    page = make_page("sop", query={"sop": "gov_contract_win"})
    _example(page, 0)
    button(page, "Dry-run").click()
    assert "succeeded" in text_of(_only(page, "sb-run-status"))


def test_real_run_with_an_approval_waits_and_shows_in_history(
    make_page: PageFactory, runs: RunService
) -> None:
    page = make_page("sop", query={"sop": APPROVAL_SOP}, person="sam")
    _example(page, 0)
    button(page, "Run").click()
    assert "waiting for approval" in text_of(_only(page, "sb-run-status"))
    [row], _ = runs.runs_page(sop_id=APPROVAL_SOP)
    assert (row["status"], row["wait_kind"], row["started_by"]) == ("waiting", "approval", "sam")
    assert not row["dry_run"]
    history = make_page("history")
    listed = text_of(_only(history, "sb-table-runs"))
    assert row["run_id"] in listed and "waiting (approval)" in listed
    detail = text_of(make_page("history", query={"run": row["run_id"]}))
    assert "Approve Launch x3" in detail and "Sam Okafor" in detail


def test_invalid_inputs_show_the_message_next_to_the_form(
    make_page: PageFactory, runs: RunService
) -> None:
    page = make_page("sop", query={"sop": APPROVAL_SOP}, person="sam")
    _field(page, "count").value = 50
    button(page, "Run").click()
    message = _only(page, "sb-run-message")
    text = text_of(message)
    assert find_all(message, css="sb-notice-error")
    assert "missing required input 'title'" in text
    assert "input 'count': value 50 is above the maximum 10" in text
    assert "Traceback" not in text_of(page)
    assert runs.runs_page() == ([], 0)
    # fixing the inputs clears the message and the run starts
    _field(page, "title").value = "Fixed"
    _field(page, "count").value = 4
    button(page, "Dry-run").click()
    assert text_of(_only(page, "sb-run-message")) == ""
    assert "succeeded" in text_of(_only(page, "sb-run-status"))


def test_a_real_run_needs_a_signed_in_person(make_page: PageFactory, runs: RunService) -> None:
    page = make_page("sop", query={"sop": QUICK_SOP})
    button(page, "Run").click()
    assert "Sign in to start a real run" in text_of(_only(page, "sb-run-message"))
    assert runs.runs_page() == ([], 0)
    page.ctx.access.set_code("olivia", "olivia-code-1")
    panel = _only(page, "sb-sign-in")
    panel.who.value = "olivia"
    panel.code.value = "wrong-code-123"
    button(panel, "Sign in").click()
    assert "wrong access code" in text_of(panel)
    assert runs.runs_page() == ([], 0)
    panel.code.value = "olivia-code-1"
    button(panel, "Sign in").click()
    [row], _ = runs.runs_page()
    assert (row["status"], row["started_by"], row["dry_run"]) == ("succeeded", "olivia", False)
    assert "signed in as Olivia Marsh" in text_of(page)
    assert not find_all(page, css="sb-sign-in")


def test_every_reference_example_survives_the_form(make_page: PageFactory) -> None:
    """Filled from an example, the form gives the engine the same inputs as the example."""
    ctx = make_page("sop").ctx
    checked = 0
    for sop in ctx.workspace.sops.values():
        form = RunForm(ctx, sop, on_signed_in=lambda: None, on_run=lambda _: None)
        for index, example in enumerate(sop.examples):
            form.use_example(index)
            from_form = coerce_inputs(sop.inputs, form.fields.values())
            assert from_form == coerce_inputs(sop.inputs, example), (sop.sop_id, index)
            checked += 1
    assert checked >= 23  # every SOP but ui_demo_quick has one
