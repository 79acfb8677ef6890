"""The Entity page: profile, people, SOPs (sortable, filterable) and recent runs."""

from __future__ import annotations

import ipywidgets as widgets

from sopbench.services.runs import RunService
from sopbench.testing.widgets import button, find_all, text_of
from sopbench.ui import Page
from sopbench.ui.widgets import Table
from tests.ui.conftest import PageFactory


def _table(page: Page, name: str) -> Table:
    [table] = find_all(page, Table, css=f"sb-table-{name}")
    return table


def _html(root: widgets.Widget) -> str:
    return " ".join(w.value for w in find_all(root, widgets.HTML))


def test_without_an_entity_the_page_lists_them_with_links(make_page: PageFactory) -> None:
    page = make_page("entity")
    table = _table(page, "entities")
    assert table.total == 4
    text = text_of(table)
    for name in ("Summit Federal IT", "Summit Cloud", "Summit PC & LAN", "Summit Group"):
        assert name in text
    assert 'href="entity.ipynb?entity=saas"' in _html(table)


def test_unknown_entity_shows_not_found(make_page: PageFactory) -> None:
    page = make_page("entity", query={"entity": "sass"})
    assert find_all(page, css="sb-not-found")
    text = text_of(page)
    assert "Entity not found" in text
    assert "no entity with id 'sass'" in text and "did you mean 'saas'" in text
    assert not find_all(page, Table)


def test_profile_shows_zone_voice_channels_and_platforms(make_page: PageFactory) -> None:
    page = make_page("entity", query={"entity": "saas"})
    [profile] = find_all(page, css="sb-entity-profile")
    text = text_of(profile)
    assert "Summit Cloud" in text and "America/Chicago" in text
    assert "friendly, clear, helpful" in text  # voice tone
    assert "synergy" in text  # a word to avoid
    assert "status (discord)" in text
    assert "customers_email (email: customers@summitcloud.example)" in text
    assert "primary: linkedin, x, email; secondary: youtube, discord" in text


def test_group_entity_links_its_members(make_page: PageFactory) -> None:
    page = make_page("entity", query={"entity": "cross_entity"})
    [profile] = find_all(page, css="sb-entity-profile")
    assert 'href="entity.ipynb?entity=computer_store"' in profile.value
    assert _table(page, "sops").total == 5


def test_people_serving_the_entity(make_page: PageFactory) -> None:
    page = make_page("entity", query={"entity": "saas"})
    people = text_of(_table(page, "people"))
    for name in ("Priya Nair", "Theo Lindqvist", "Olivia Marsh", "Sam Okafor"):
        assert name in people  # by name, or serving every entity
    assert "all entities" in people
    assert "Grant Ellis" not in people and "Marco Diaz" not in people


def test_sops_table_links_sorts_and_filters(make_page: PageFactory, runs: RunService) -> None:
    page = make_page("entity", query={"entity": "saas"})
    table = _table(page, "sops")
    assert table.total == 5
    assert 'href="sop.ipynb?sop=saas_feature_release"' in _html(table)
    expected = {s.sop_id: len(s.walk()) for s in runs.workspace.sops.values() if s.entity == "saas"}
    button(table, "Steps").click()
    shown = [(r["sop_id"], r["steps"]) for r in table.shown]
    assert shown == sorted(expected.items(), key=lambda kv: (kv[1], kv[0]))  # ties keep id order
    button(table, "Steps").click()  # again: descending
    assert [r["steps"] for r in table.shown] == sorted(expected.values(), reverse=True)
    table.filter.value = "incident"
    assert [r["sop_id"] for r in table.shown] == ["saas_incident_update"]
    row = text_of(table)
    assert "event incident.updated, manual" in row and "incidents, status" in row


def test_recent_runs_of_the_entity_link_to_history(
    make_page: PageFactory, runs: RunService
) -> None:
    page = make_page("entity", query={"entity": "saas"})
    assert "No runs yet" in text_of(_table(page, "entity-runs"))
    saas = runs.workspace.sop("saas_incident_update")
    gov = runs.workspace.sop("gov_hiring_post")
    mine = runs.start(saas.sop_id, saas.examples[0], dry_run=True).run.id
    other = runs.start(gov.sop_id, gov.examples[0], dry_run=True).run.id
    page = make_page("entity", query={"entity": "saas"})
    table = _table(page, "entity-runs")
    assert table.total == 1
    assert f'href="history.ipynb?run={mine}"' in _html(table)
    assert other not in text_of(table)
    assert 'href="history.ipynb?entity=saas"' in _html(page)
