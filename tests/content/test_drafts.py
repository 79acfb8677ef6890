"""Drafts over a real database (SQLite and PostgreSQL): revisions, review, fingerprints."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import event, func, select

from sopbench.config import Settings
from sopbench.content.adapter import llm_reviser
from sopbench.content.drafts import DraftService, fingerprint
from sopbench.errors import DecisionRefused, InputError, NotFound
from sopbench.store import Database, open_database
from sopbench.store.tables import draft_revisions
from sopbench.testing.servers.llm import LlmServer


@pytest.fixture
def service(database: Database) -> DraftService:
    return DraftService(database)


def new(service: DraftService, **kw: object) -> str:
    fields: dict[str, object] = {
        "entity": "shop",
        "platform": "linkedin",
        "body": "New laptops are in.",
        "hashtags": ["#Laptops"],
        "author": "template:announcement",
        "account": "summit-federal",
    }
    fields.update(kw)
    return service.create(**fields).id  # type: ignore[arg-type]


def test_every_edit_is_a_new_revision(service: DraftService, database: Database) -> None:
    draft_id = new(service)
    service.edit(draft_id, person="alice", body="New laptops arrived today.")
    service.edit(draft_id, person="bob", hashtags=["#Laptops", "#Deals"], note="more reach")
    draft = service.get(draft_id)
    assert draft.revision == 3
    assert [(r.revision, r.author) for r in draft.revisions] == [
        (1, "template:announcement"),
        (2, "alice"),
        (3, "bob"),
    ]
    assert draft.revisions[0].body == "New laptops are in."  # kept, never overwritten
    assert draft.revisions[1].note == "changed body"
    assert draft.revisions[2].note == "changed hashtags: more reach"
    assert draft.text == "New laptops arrived today.\n\n#Laptops #Deals"
    with database.read() as conn:
        count = conn.execute(
            select(func.count()).where(draft_revisions.c.draft_id == draft_id)
        ).scalar_one()
    assert count == 3
    with pytest.raises(InputError, match="nothing to change"):
        service.edit(draft_id, person="bob", body="New laptops arrived today.")
    with pytest.raises(NotFound, match="no draft with id 'nope'"):
        service.get("nope")


def test_approval_records_fingerprint_and_who(service: DraftService) -> None:
    when = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
    draft_id = new(service, publish_at=when, status="in_review")
    draft = service.approve(draft_id, person="dana", comment="looks good")
    assert (draft.status, draft.approved_by) == ("approved", "dana")
    assert draft.approved_fingerprint == fingerprint(
        "New laptops are in.", ["#Laptops"], [], "summit-federal", when
    )
    assert service.check_publishable(draft_id).id == draft_id
    comments = [c["body"] for c in service.get(draft_id).comments]
    assert comments == ["looks good", "approved revision 1"]


def test_publishing_refuses_an_edit_after_approval_naming_who_edited_what(
    service: DraftService,
) -> None:
    draft_id = new(service)
    service.approve(draft_id, person="dana")
    service.edit(draft_id, person="eve", body="New laptops are in. 50% off!")
    service.edit(draft_id, person="frank", account="summitpc")
    draft = service.get(draft_id)
    assert draft.status == "approved" and not service.is_publishable(draft)
    with pytest.raises(DecisionRefused) as caught:
        service.check_publishable(draft_id)
    message = str(caught.value)
    assert f"draft {draft_id} changed after dana approved it" in message
    assert "eve changed body (revision 2)" in message
    assert "frank changed account (revision 3)" in message
    # approving the new revision again makes it publishable
    again = service.approve(draft_id, person="gina")
    assert (again.status, again.approved_by, again.revision) == ("approved", "gina", 3)
    assert again.approved_fingerprint == again.fingerprint
    assert service.check_publishable(draft_id).body == "New laptops are in. 50% off!"
    # unchanged since: approving (or rejecting) once more is refused, naming who did
    with pytest.raises(DecisionRefused, match=f"draft {draft_id} was already approved by gina"):
        service.approve(draft_id, person="dana")
    with pytest.raises(DecisionRefused, match="already approved by gina"):
        service.reject(draft_id, person="dana")


def test_an_approved_draft_edited_since_may_be_rejected(service: DraftService) -> None:
    draft_id = new(service, status="in_review")
    service.approve(draft_id, person="dana")
    service.edit(draft_id, person="eve", body="New laptops are in. Free pizza!")
    rejected = service.reject(draft_id, person="dana", comment="no pizza promises")
    assert rejected.status == "rejected"
    with pytest.raises(DecisionRefused, match="is rejected, not approved"):
        service.check_publishable(draft_id)
    assert service.get(draft_id).comments[-1]["body"] == "rejected: no pizza promises"


def test_unapproved_drafts_are_not_publishable(service: DraftService) -> None:
    draft_id = new(service)
    with pytest.raises(DecisionRefused, match="is draft, not approved"):
        service.check_publishable(draft_id)
    service.reject(draft_id, person="dana", comment="off brand")
    with pytest.raises(DecisionRefused, match="is rejected, not approved"):
        service.check_publishable(draft_id)
    # reworking a rejected draft sends it back to review
    assert service.edit(draft_id, person="eve", body="Better.").status == "in_review"


def test_violations_block_approval_unless_overridden(service: DraftService) -> None:
    long_body = "Huge sale on refurbished laptops this weekend only. " * 8
    draft_id = new(service, platform="x", body=long_body, hashtags=[])
    assert service.get(draft_id).violations  # shown before approval
    with pytest.raises(
        DecisionRefused, match=r"breaks x rules: X: \d+ characters, the limit is 280"
    ):
        service.approve(draft_id, person="dana")
    with pytest.raises(DecisionRefused, match="breaks x rules"):
        service.approve(draft_id, person="dana", override="   ")
    draft = service.approve(draft_id, person="dana", override="thread, split by hand")
    assert draft.status == "approved"
    override = service.get(draft_id).comments[0]
    assert override["author"] == "dana"
    assert override["body"].startswith("override: thread, split by hand (rules: X:")


def test_a_stale_reviewer_hears_who_decided(service: DraftService) -> None:
    draft_id = new(service, status="in_review")
    seen = service.get(draft_id).version
    service.approve(draft_id, person="alice", expected_version=seen)
    with pytest.raises(DecisionRefused, match=f"draft {draft_id} was already approved by alice"):
        service.approve(draft_id, person="bob", expected_version=seen)
    with pytest.raises(DecisionRefused, match="already approved by alice"):
        service.reject(draft_id, person="bob")


def test_concurrent_approvals_one_wins(db_url: str, service: DraftService) -> None:
    draft_id = new(service, status="in_review")
    seen = service.get(draft_id).version
    barrier = threading.Barrier(4)
    results: dict[str, str] = {}

    def review(person: str) -> None:
        db = open_database(db_url)
        try:
            barrier.wait()
            DraftService(db).approve(draft_id, person=person, expected_version=seen)
            results[person] = "won"
        except DecisionRefused as exc:
            results[person] = str(exc)
        finally:
            db.dispose()

    threads = [threading.Thread(target=review, args=(p,)) for p in ("ann", "ben", "cat", "dan")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    winners = [p for p, r in results.items() if r == "won"]
    assert len(winners) == 1, results
    draft = service.get(draft_id)
    assert draft.approved_by == winners[0]
    for person, result in results.items():
        if person != winners[0]:
            assert result == f"draft {draft_id} was already approved by {winners[0]}"
    assert [c["body"] for c in draft.comments] == ["approved revision 1"]


@pytest.fixture
def llm() -> Iterator[LlmServer]:
    def reply(messages: list[dict[str, object]]) -> str:
        note = str(messages[-1]["content"]).rpartition("Reviewer's note:\n")[2]
        return f"Revised ({note}): New laptops are in, with a 2-year warranty."

    with LlmServer(reply=reply) as server:
        yield server


def test_request_changes_sends_note_and_previous_revision_to_the_llm(
    database: Database, llm: LlmServer, tmp_path: Path
) -> None:
    settings = Settings(home=tmp_path, db_url="sqlite://", llm_url=llm.api_url)
    entities = {"shop": {"id": "shop", "name": "Corner Shop", "voice": {"tone": "warm"}}}
    service = DraftService(database, reviser=llm_reviser(settings, entities))
    draft_id = new(service, status="in_review")
    draft = service.request_changes(draft_id, person="dana", note="mention the warranty")
    assert (draft.revision, draft.status) == (2, "in_review")
    assert (
        draft.body == "Revised (mention the warranty): New laptops are in, with a 2-year warranty."
    )
    full = service.get(draft_id)
    assert full.revisions[0].body == "New laptops are in."
    assert full.revisions[1].author == "llm"
    assert full.revisions[1].note == "changed body: requested by dana: mention the warranty"
    assert full.comments[0]["body"] == "changes requested: mention the warranty"
    sent = llm.requests[-1].json
    assert "Previous revision:\nNew laptops are in." in sent["messages"][-1]["content"]
    assert "Corner Shop" in sent["messages"][0]["content"]
    assert "warm" in sent["messages"][0]["content"]
    assert sent["temperature"] == 0


def test_request_changes_without_an_llm_records_the_note(service: DraftService) -> None:
    draft_id = new(service)
    draft = service.request_changes(draft_id, person="dana", note="shorter please")
    assert (draft.revision, draft.status) == (1, "in_review")
    assert service.get(draft_id).comments[0]["body"] == "changes requested: shorter please"
    with pytest.raises(InputError, match="needs a note"):
        service.request_changes(draft_id, person="dana", note=" ")


def test_listing_drafts_shows_each_ones_current_text_in_two_queries(
    service: DraftService, database: Database
) -> None:
    ids = [new(service, body=f"Post {n}") for n in range(30)]
    for draft_id in ids[::3]:
        service.edit(draft_id, person="alice", body=f"Edited {draft_id}")
    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    event.listen(database.engine, "before_cursor_execute", count)
    try:
        listed = service.find(limit=100)
    finally:
        event.remove(database.engine, "before_cursor_execute", count)
    assert len(statements) == 2, statements
    assert [d.id for d in listed] == ids  # oldest first
    for n, draft in enumerate(listed):
        edited = n % 3 == 0
        assert draft.revision == (2 if edited else 1)
        assert draft.current.body == (f"Edited {draft.id}" if edited else f"Post {n}")
    assert service.find(ids=[]) == []
