"""Content drafts from the embedded model when no SOPBENCH_LLM_URL is set.

The real SmolLM2 model, started in this process on first use; real engine
and SQLite (the LLM does not care about the database, so one backend).
Streaming: the pieces a watcher gets join to exactly the stored bodies,
which equal the bodies of the same drafts written without streaming.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

from sopbench.content.adapter import streaming_content_factory
from sopbench.content.media_adapter import media_factory
from sopbench.content.platforms import get_platform
from sopbench.integrations.embedded_llm import INSTALL_MODEL, MODEL_ID
from sopbench.integrations.registry import default_clients
from sopbench.services.content import ContentService
from sopbench.services.runs import RunService
from sopbench.store import Database
from sopbench.testing.servers import MixpostServer

from .test_flow import make, mixpost  # noqa: F401

pytestmark = pytest.mark.parametrize("backend", ["sqlite"])


def test_a_prompt_without_a_url_drafts_with_the_embedded_model(
    tmp_path: Path,
    database: Database,
    db_url: str,
    mixpost: MixpostServer,  # noqa: F811
) -> None:
    runs, content, settings = make(tmp_path, database, db_url, mixpost)
    assert settings.llm_url is None
    view = runs.start("write", {"item": "refurbished gaming laptops"})
    assert view.run.status == "succeeded", view.run.error
    x, discord = content.list_drafts()
    assert (x.platform, discord.platform) == ("x", "discord")
    for draft in (x, discord):
        assert draft.current.author == f"llm:{MODEL_ID}"
        assert draft.body.strip() and draft.body == draft.body.strip()
        assert len(draft.body) <= get_platform(draft.platform).max_length

    # the same drafts, streamed: pieces join to the stored bodies, which are unchanged
    pieces: dict[str, list[str]] = defaultdict(list)
    clients = {
        **default_clients(),
        "media": media_factory,
        "content": streaming_content_factory(
            lambda platform, piece: pieces[platform].append(piece)
        ),
    }
    streaming = RunService(settings, database=database, clients=clients)
    again = streaming.start("write", {"item": "refurbished gaming laptops"})
    assert again.run.status == "succeeded", again.run.error
    streamed = content.drafts.find(run_id=again.run.id)
    assert [d.platform for d in streamed] == ["x", "discord"]
    for draft, before in zip(streamed, (x, discord), strict=True):
        assert "".join(pieces[draft.platform]) == draft.body
        assert draft.body == before.body and draft.hashtags == before.hashtags
    assert max(len(p) for p in pieces.values()) > 3  # piece by piece, not one block


def test_request_changes_streams_the_embedded_models_revision(
    tmp_path: Path,
    database: Database,
    db_url: str,
    mixpost: MixpostServer,  # noqa: F811
) -> None:
    runs, content, _ = make(tmp_path, database, db_url, mixpost)
    runs.start("launch", {"headline": "Back to school deals"})
    facebook, _ = content.list_drafts()
    seen: list[tuple[str, str]] = []
    revised = content.request_changes(
        facebook.id,
        person="dana",
        note="mention the student discount",
        on_token=lambda platform, piece: seen.append((platform, piece)),
    )
    assert revised.revision == 2 and revised.current.author == "llm"
    assert {platform for platform, _ in seen} == {"facebook"}
    assert "".join(piece for _, piece in seen) == revised.body
    assert revised.body != facebook.body
    assert content.drafts.get(facebook.id).revisions[0].body == facebook.body


def test_a_missing_model_file_fails_prompts_clearly_and_leaves_the_rest_working(
    tmp_path: Path,
    database: Database,
    db_url: str,
    mixpost: MixpostServer,  # noqa: F811
) -> None:
    missing = tmp_path / "gone.gguf"
    runs, content, settings = make(
        tmp_path, database, db_url, mixpost, SOPBENCH_LLM_MODEL_FILE=str(missing)
    )
    failed = runs.start("write", {"item": "laptops"})
    assert failed.run.status == "failed"
    assert f"model file {missing} does not exist" in (failed.run.error or "")
    assert "SOPBENCH_LLM_MODEL_FILE" in (failed.run.error or "")
    assert INSTALL_MODEL in (failed.run.error or "")
    # templates need no LLM; request changes then records only the note
    assert runs.start("launch", {"headline": "Open late"}).run.status == "waiting"
    facebook, _ = content.list_drafts()
    asked = ContentService(settings, runs=runs).request_changes(
        facebook.id, person="dana", note="shorter"
    )
    assert asked.revision == 1 and asked.status == "in_review"
