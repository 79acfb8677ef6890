"""Draft commands: ``drafts`` and ``draft show|edit|approve|reject|request-changes``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

from sopbench.cli._common import cli, echo_json, echo_table, json_option, settings_of

if TYPE_CHECKING:
    from sopbench.services.content import ContentService


@contextmanager
def _service(ctx: click.Context, *, with_runs: bool = False) -> Iterator[ContentService]:
    from sopbench.services.content import ContentService

    settings = settings_of(ctx)
    if with_runs:  # a decision continues the run that waits for the review
        from sopbench.services.runs import RunService

        runs = RunService(settings)
        try:
            yield ContentService(settings, runs=runs)
        finally:
            runs.close()
        return
    service = ContentService(settings)
    try:
        yield service
    finally:
        service.close()


def _short(text: str, width: int = 60) -> str:
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 1] + "…"


@cli.command()
@click.option("--status", default=None, help="Only drafts with this status.")
@click.option("--entity", default=None, help="Only drafts of this entity.")
@click.option("--limit", default=200, show_default=True)
@json_option
@click.pass_context
def drafts(
    ctx: click.Context, status: str | None, entity: str | None, limit: int, as_json: bool
) -> int:
    """List content drafts."""
    with _service(ctx) as service:
        found = service.list_drafts(status=status, entity=entity, limit=limit)
        if as_json:
            echo_json({"count": len(found), "drafts": [d.as_dict() for d in found]})
            return 0
        echo_table(
            ["id", "entity", "platform", "status", "rev", "rules", "text"],
            [
                [
                    d.id,
                    d.entity,
                    d.platform,
                    d.status,
                    d.revision,
                    len(d.violations) or "ok",
                    _short(d.text),
                ]
                for d in found
            ],
        )
    return 0


@cli.group()
def draft() -> None:
    """Show, edit and review one draft."""


def _print(data: dict[str, Any]) -> None:
    click.echo(f"draft {data['id']}  {data['entity']}/{data['platform']}  {data['status']}")
    click.echo(f"revision {data['revision']}  account {data['account'] or '-'}")
    if data["publish_at"]:
        click.echo(f"publish at {data['publish_at']}")
    click.echo("")
    click.echo(data["text"])  # data, shown as written
    click.echo("")
    for problem in data["violations"]:
        click.echo(f"rule: {problem}")
    if data["approved_by"]:
        click.echo(f"approved by {data['approved_by']} at {data['approved_at']}")
    if data.get("refusal") and data["status"] == "approved":
        click.echo(f"not publishable: {data['refusal']}")
    for rev in data.get("revisions", []):
        click.echo(f"  r{rev['revision']} {rev['created_at']} {rev['author']}: {rev['note'] or ''}")
    for comment in data.get("comments", []):
        click.echo(f"  # {comment['created_at']} {comment['author']}: {comment['body']}")


@draft.command(name="show")
@click.argument("draft_id")
@json_option
@click.pass_context
def show_draft(ctx: click.Context, draft_id: str, as_json: bool) -> int:
    """A draft with its revisions, comments and rule violations."""
    with _service(ctx) as service:
        data = service.show(draft_id)
    if as_json:
        echo_json(data)
    else:
        _print(data)
    return 0


@draft.command(name="edit")
@click.argument("draft_id")
@click.option("--body", default=None, help="The new text.")
@click.option("--hashtag", "hashtags", multiple=True, help="A hashtag (repeat; replaces all).")
@click.option("--account", default=None)
@click.option("--note", default=None, help="Why (kept with the revision).")
@click.option("--as", "person", required=True, help="Who edits.")
@json_option
@click.pass_context
def edit_draft(
    ctx: click.Context,
    draft_id: str,
    body: str | None,
    hashtags: tuple[str, ...],
    account: str | None,
    note: str | None,
    person: str,
    as_json: bool,
) -> int:
    """Edit a draft: a new revision (the old ones are kept)."""
    with _service(ctx) as service:
        changed = service.edit(
            draft_id,
            person=person,
            body=body,
            hashtags=list(hashtags) if hashtags else None,
            account=account,
            note=note,
        )
    if as_json:
        echo_json(changed.as_dict())
    else:
        click.echo(f"draft {changed.id}: revision {changed.revision} by {person}")
    return 0


def _decision(ctx: click.Context, data: dict[str, Any], as_json: bool) -> int:
    if as_json:
        echo_json(data)
    else:
        run = f"; run {data['run_id']} is {data['run_status']}" if data["run_status"] else ""
        click.echo(f"draft {data['draft_id']} {data['status']}{run}")
    return 0


@draft.command(name="approve")
@click.argument("draft_id")
@click.option("--as", "person", required=True, help="The reviewer (from people.yaml).")
@click.option("--override", default=None, metavar="COMMENT", help="Approve despite rule problems.")
@click.option("--comment", default=None)
@click.option("--no-continue", is_flag=True, help="Leave the waiting run for a worker.")
@json_option
@click.pass_context
def approve_draft(
    ctx: click.Context,
    draft_id: str,
    person: str,
    override: str | None,
    comment: str | None,
    no_continue: bool,
    as_json: bool,
) -> int:
    """Approve a draft's current revision."""
    with _service(ctx, with_runs=True) as service:
        data = service.approve(
            draft_id,
            person=person,
            override=override,
            comment=comment,
            continue_run=not no_continue,
        )
    return _decision(ctx, data, as_json)


@draft.command(name="reject")
@click.argument("draft_id")
@click.option("--as", "person", required=True, help="The reviewer (from people.yaml).")
@click.option("--comment", default=None)
@click.option("--no-continue", is_flag=True, help="Leave the waiting run for a worker.")
@json_option
@click.pass_context
def reject_draft(
    ctx: click.Context,
    draft_id: str,
    person: str,
    comment: str | None,
    no_continue: bool,
    as_json: bool,
) -> int:
    """Reject a draft."""
    with _service(ctx, with_runs=True) as service:
        data = service.reject(
            draft_id, person=person, comment=comment, continue_run=not no_continue
        )
    return _decision(ctx, data, as_json)


@draft.command(name="request-changes")
@click.argument("draft_id")
@click.option("--note", required=True, help="What to change (sent to the LLM when configured).")
@click.option("--as", "person", required=True, help="The reviewer (from people.yaml).")
@json_option
@click.pass_context
def request_changes(
    ctx: click.Context, draft_id: str, note: str, person: str, as_json: bool
) -> int:
    """Ask for changes; with an LLM configured, it writes a new revision."""
    with _service(ctx) as service:
        changed = service.request_changes(draft_id, person=person, note=note)
    if as_json:
        echo_json(changed.as_dict())
    else:
        click.echo(f"draft {changed.id}: {changed.status}, revision {changed.revision}")
    return 0
