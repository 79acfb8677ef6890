"""``sopbench drafts`` and ``sopbench draft …`` in a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sopbench.store import Database
from sopbench.testing.servers import MixpostServer

from .test_flow import MIXPOST_TOKEN, created_posts, make, mixpost  # noqa: F401


def cli(home: Path, db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPBENCH_")}
    env.update({"SOPBENCH_DB_URL": db_url, "MIXPOST_TOKEN": MIXPOST_TOKEN})
    return subprocess.run(
        [sys.executable, "-m", "sopbench", "--home", str(home), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_review_from_the_command_line(
    tmp_path: Path,
    database: Database,
    db_url: str,
    mixpost: MixpostServer,  # noqa: F811
) -> None:
    runs, content, settings = make(tmp_path, database, db_url, mixpost)
    view = runs.start("launch", {"headline": "Trade-in week"})
    home = settings.home

    listed = cli(home, db_url, "drafts", "--status", "in_review", "--json")
    assert listed.returncode == 0, listed.stderr
    data = json.loads(listed.stdout)
    assert data["count"] == 2
    facebook, linkedin = (d["id"] for d in data["drafts"])
    table = cli(home, db_url, "drafts", "--entity", "shop")
    assert facebook in table.stdout and "in_review" in table.stdout

    edited = cli(
        home, db_url, "draft", "edit", facebook, "--body", "Trade in, save big.", "--as", "eve"
    )
    assert edited.returncode == 0, edited.stderr
    assert f"draft {facebook}: revision 2 by eve" in edited.stdout

    shown = cli(home, db_url, "draft", "show", facebook)
    assert "Trade in, save big." in shown.stdout
    assert "r1 " in shown.stdout and "r2 " in shown.stdout and "eve: changed body" in shown.stdout
    as_json = json.loads(cli(home, db_url, "draft", "show", facebook, "--json").stdout)
    assert [r["author"] for r in as_json["revisions"]] == ["template:announcement", "eve"]

    stranger = cli(home, db_url, "draft", "approve", facebook, "--as", "mallory")
    assert stranger.returncode != 0
    assert "'mallory' is not in sops/people.yaml" in stranger.stderr

    asked = cli(
        home, db_url, "draft", "request-changes", linkedin, "--note", "shorter", "--as", "dana"
    )
    assert asked.returncode == 0, asked.stderr
    # no SOPBENCH_LLM_URL: the embedded model writes the new revision
    assert f"draft {linkedin}: in_review, revision 2" in asked.stdout

    approved = cli(home, db_url, "draft", "approve", facebook, "--as", "dana")
    assert approved.returncode == 0, approved.stderr
    assert f"draft {facebook} approved; run {view.run.id} is waiting" in approved.stdout
    again = cli(home, db_url, "draft", "approve", facebook, "--as", "dana")
    assert again.returncode != 0
    assert f"draft {facebook} was already approved by dana" in again.stderr

    rejected = cli(home, db_url, "draft", "reject", linkedin, "--as", "dana", "--comment", "no")
    assert rejected.returncode == 0, rejected.stderr
    assert f"run {view.run.id} is succeeded" in rejected.stdout
    assert len(created_posts(mixpost)) == 1
    assert content.drafts.get(facebook).status == "published"
