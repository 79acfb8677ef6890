"""``sopbench media``: request → approve → poll → succeeded → attach, against the doubles.

The Canva and video doubles run on 127.0.0.1; the workspace's connections
point at them and the secrets come from the environment, as in production.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from sopbench.cli import main
from sopbench.content.drafts import DraftService
from sopbench.store import Database
from sopbench.testing.servers.canva import CanvaServer
from sopbench.testing.servers.video import MP4_BYTES, VideoServer
from tests.integrations.test_media_service import (
    CANVA_TOKEN,
    VIDEO_KEY,
    conns,
    write_workspace,
)

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)

ENTITIES = {
    "entities": {
        "computer_store": {"name": "Computer Store", "timezone": "America/Denver"},
        "saas": {"name": "Cloud SaaS", "timezone": "UTC"},
    }
}
PEOPLE = {
    "roles": {"owner": "Final say.", "manager": "Approves spend.", "staff": "Does the work."},
    "people": {
        "riley": {"name": "Riley Staff", "roles": ["staff"], "entities": ["computer_store"]},
        "morgan": {"name": "Morgan Manager", "roles": ["manager"]},
        "sam": {"name": "Sam Staff", "roles": ["staff"]},
        "pat": {"name": "Pat Manager", "roles": ["manager"], "entities": ["saas"]},
    },
}


@pytest.fixture
def canva() -> Iterator[CanvaServer]:
    with CanvaServer(tokens={CANVA_TOKEN}, job_polls=1) as server:
        yield server


@pytest.fixture
def video() -> Iterator[VideoServer]:
    with VideoServer(keys={VIDEO_KEY}, job_polls=1, poll_after_ms=10) as server:
        yield server


@pytest.fixture
def home(
    tmp_path: Path,
    db_url: str,
    canva: CanvaServer,
    video: VideoServer,
    monkeypatch: pytest.MonkeyPatch,
) -> Path:
    home = tmp_path / "home"
    write_workspace(home, conns(canva, video))
    (home / "sops" / "entities.yaml").write_text(yaml.safe_dump(ENTITIES), encoding="utf-8")
    (home / "sops" / "people.yaml").write_text(yaml.safe_dump(PEOPLE), encoding="utf-8")
    monkeypatch.delenv("SOPBENCH_HOME", raising=False)
    for key, value in environ(db_url).items():
        monkeypatch.setenv(key, value)
    return home


def environ(db_url: str) -> dict[str, str]:
    return {"SOPBENCH_DB_URL": db_url, "CANVA_TOKEN": CANVA_TOKEN, "OPENAI_API_KEY": VIDEO_KEY}


class Cli:
    def __init__(self, home: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.home, self.capsys = home, capsys

    def __call__(self, *args: str) -> tuple[int, str, str]:
        code = main(["--home", str(self.home), "media", *args])
        out, err = self.capsys.readouterr()
        assert "Traceback" not in err
        return code, out, err

    def json(self, *args: str) -> dict[str, object]:
        code, out, err = self(*args, "--json")
        assert code == 0, err
        data: dict[str, object] = json.loads(out)
        return data


@pytest.fixture
def media(home: Path, capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(home, capsys)


def approved_draft(database: Database, entity: str = "computer_store") -> str:
    drafts = DraftService(database)
    draft = drafts.create(entity=entity, platform="instagram", body="LAN night!", author="riley")
    return drafts.approve(draft.id, person="morgan").id


def poll_until(media: Cli, request_id: str, status: str, timeout: float = 10) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while True:
        data = media.json("poll", request_id)
        requests = data["requests"]
        assert isinstance(requests, list) and len(requests) == 1
        view: dict[str, object] = requests[0]
        if view["status"] == status:
            return view
        assert view["status"] in ("starting", "running"), view
        assert time.monotonic() < deadline, view
        time.sleep(0.02)


def test_request_approve_poll_attach(
    media: Cli, database: Database, video: VideoServer, home: Path
) -> None:
    draft_id = approved_draft(database)
    asked = media.json(
        "request", "cs_lan_teaser", "--by", "riley", "--set", "seconds=12", "--set", "note=Logo!"
    )
    rid = str(asked["id"])
    assert (asked["status"], asked["entity"], asked["cost_class"]) == (
        "requested",
        "computer_store",
        "high",
    )
    assert asked["params"]["overrides"] == {"seconds": 12, "note": "Logo!"}  # type: ignore[index]
    assert video.requests == []  # nothing paid before approval

    code, out, _ = media()  # `sopbench media` alone lists
    assert code == 0 and rid in out and "requested" in out and "high" in out
    code, _, err = media("attach", rid, "--draft", draft_id, "--by", "riley")
    assert code == 1 and f"media request {rid} is requested, not succeeded" in err
    assert "waits for approval" in err

    for person, why in [
        ("riley", f"riley requested {rid} and cannot approve or reject it"),
        ("sam", "sam lacks the role to decide media request"),
        ("pat", "pat does not serve entity 'computer_store'"),
        ("mallory", "'mallory' is not in sops/people.yaml"),
    ]:
        code, _, err = media("approve", rid, "--by", person)
        assert code == 1 and why in err, err
    assert video.requests == []

    code, out, err = media("approve", rid, "--by", "morgan")
    assert code == 0, err
    assert out.strip() == f"media request {rid}: running"
    assert video.matching("POST", "/v1/videos")[0].json["seconds"] == "12"
    code, _, err = media("attach", rid, "--draft", draft_id, "--by", "riley")
    assert code == 1 and "still running" in err

    done = poll_until(media, rid, "succeeded")
    video_file = done["asset"]["files"][0]  # type: ignore[index]
    assert (home / video_file).read_bytes() == MP4_BYTES

    code, out, err = media("attach", rid, "--draft", draft_id, "--by", "riley")
    assert code == 0, err
    assert out.strip() == (
        f"draft {draft_id}: revision 2 has media {rid}; approve it again before it is published"
    )
    drafts = DraftService(database)
    draft = drafts.get(draft_id)
    [ref] = draft.media
    assert ref["request_id"] == rid and ref["kind"] == "sora" and ref["files"][0] == video_file
    assert draft.revisions[-1].author == "riley"
    refusal = drafts.refusal(draft) or ""
    assert "changed after morgan approved it" in refusal and "changed media" in refusal
    again = media.json("attach", rid, "--draft", draft_id, "--by", "riley")
    assert again["added"] is False and again["revision"] == 2

    shown = media.json("show", rid)
    assert shown["status"] == "succeeded" and shown["params"]["decided_by"] == "morgan"  # type: ignore[index]
    code, out, _ = media("show", rid)
    assert code == 0 and f"asset: {video_file}" in out and "decided by morgan" in out


def test_reject_refusals_and_unknown_ids(
    media: Cli, database: Database, canva: CanvaServer
) -> None:
    draft_id = approved_draft(database)
    other = approved_draft(database, entity="saas")
    rid = str(media.json("request", "cs_lan_square", "--by", "riley")["id"])
    code, out, err = media("reject", rid, "--by", "morgan", "--reason", "off-brand")
    assert code == 0, err
    assert out.strip() == f"media request {rid}: rejected (off-brand)"
    code, _, err = media("approve", rid, "--by", "morgan")
    assert code == 1 and "is rejected, not awaiting approval" in err
    code, _, err = media("attach", rid, "--draft", draft_id, "--by", "morgan")
    assert code == 1 and "is rejected, not succeeded: it did not produce an asset" in err
    assert canva.requests == []
    listed = media.json("list", "--status", "rejected")
    assert [r["id"] for r in listed["requests"]] == [rid]  # type: ignore[attr-defined]
    assert media.json("list", "--status", "running")["count"] == 0

    for args, why in [
        (("show", "med_nope"), "no media request 'med_nope'"),
        (("approve", "med_nope", "--by", "morgan"), "no media request 'med_nope'"),
        (("poll", "med_nope"), "no media request 'med_nope'"),
        (("attach", rid, "--draft", "drf_nope", "--by", "morgan"), "no draft with id 'drf_nope'"),
        (("request", "cs_lan_sqare", "--by", "riley"), "did you mean 'cs_lan_square'"),
        (("request", "cs_lan_square", "--by", "riley", "--entity", "shop"), "no entity 'shop'"),
        (("list", "--entity", "sass"), "no entity 'sass'"),
    ]:
        code, _, err = media(*args)
        assert code == 1 and why in err, (args, err)
    code, _, err = media("request", "cs_lan_square", "--by", "riley", "--set", "novalue")
    assert code == 2 and "--set expects KEY=VALUE" in err
    code, out, _ = media("poll")
    assert code == 0 and out.strip() == "no media jobs to advance"

    # a finished asset of one entity is not attached to another entity's draft
    made = media.json("request", "cs_lan_square", "--by", "riley", "--set", "text.headline=Hi")
    assert made["params"]["overrides"] == {"text": {"headline": "Hi"}}  # type: ignore[index]
    media("approve", str(made["id"]), "--by", "morgan")
    poll_until(media, str(made["id"]), "succeeded")
    code, _, err = media("attach", str(made["id"]), "--draft", other, "--by", "morgan")
    assert code == 1 and f"is for computer_store, draft {other} for saas" in err


def test_in_a_real_process(home: Path, db_url: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPBENCH_")}
    env.update(environ(db_url))

    def sopbench(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "sopbench", "--home", str(home), "media", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    made = sopbench("request", "cs_lan_teaser", "--by", "riley")
    assert made.returncode == 0, made.stderr
    assert "cost medium" in made.stdout and "sopbench media approve" in made.stdout
    listed = sopbench("list", "--json")
    assert listed.returncode == 0, listed.stderr
    [row] = json.loads(listed.stdout)["requests"]
    assert row["status"] == "requested" and row["requested_by"] == "riley"
    missing = sopbench("show", "med_missing")
    assert missing.returncode == 1
    assert missing.stderr.startswith("error: no media request 'med_missing'")
    assert "Traceback" not in missing.stderr
