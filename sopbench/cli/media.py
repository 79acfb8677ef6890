"""``media``: image and video requests: list, show, request, approve, reject, poll, attach."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

from sopbench.cli._common import cli, echo_json, echo_table, json_option, settings_of
from sopbench.errors import UsageError

if TYPE_CHECKING:
    from sopbench.services.media import MediaDesk, MediaRequestView

__all__ = ["parse_overrides"]

_INT = re.compile(r"-?\d+")


@contextmanager
def _desk(ctx: click.Context) -> Iterator[MediaDesk]:
    from sopbench.services.media import MediaDesk

    desk = MediaDesk(settings_of(ctx))
    try:
        yield desk
    finally:
        desk.close()


def _value(text: str) -> Any:
    if _INT.fullmatch(text):
        return int(text)
    if text in ("true", "false"):
        return text == "true"
    return text  # everything else is text, as typed (never evaluated)


def parse_overrides(items: Sequence[str]) -> dict[str, Any]:
    """``key=value`` pairs; a dotted key nests (``text.headline=Hi`` → ``{"text": {...}}``)."""
    found: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        parts = key.strip().split(".")
        if not sep or not all(parts):
            raise UsageError(f"--set expects KEY=VALUE (KEY may be dotted), got {item!r}")
        target = found
        for part in parts[:-1]:
            nested = target.setdefault(part, {})
            if not isinstance(nested, dict):
                raise UsageError(f"--set {key}: {part} was already given a value")
            target = nested
        target[parts[-1]] = _value(raw)
    return found


def _asset_text(view: MediaRequestView) -> str:
    if view.asset is None:
        return "-"
    files = view.asset.get("files") or []
    return ", ".join(map(str, files)) or str(view.asset.get("view_url") or "yes")


def _print(view: MediaRequestView) -> None:
    click.echo(f"media request {view.id}  {view.kind}  {view.status}  cost {view.cost_class}")
    click.echo(
        f"entity {view.entity}  prompt {view.prompt_id}  ({view.params.get('prompt_title')})"
    )
    click.echo(f"requested by {view.requested_by or '-'} at {view.created_at.isoformat()}")
    if view.params.get("decided_by"):
        click.echo(f"decided by {view.params['decided_by']} at {view.params.get('decided_at')}")
    if view.run_id:
        click.echo(f"run {view.run_id} step {view.step_path}")
    if view.job_id:
        click.echo(f"job {view.job_id}")
    if view.params.get("last_error"):
        click.echo(f"last poll: {view.params['last_error']} (will retry)")
    if view.error:
        click.echo(f"error: {view.error}")
    click.echo(f"asset: {_asset_text(view)}")


def _out(view: MediaRequestView, as_json: bool) -> None:
    if as_json:
        echo_json(view.as_dict())
    else:
        suffix = f" ({view.error})" if view.error else ""
        click.echo(f"media request {view.id}: {view.status}{suffix}")


@cli.group(invoke_without_command=True)
@click.pass_context
def media(ctx: click.Context) -> None:
    """Image (Canva) and video (Sora 2) requests: approval first, then the paid job."""
    if ctx.invoked_subcommand is None:  # `sopbench media` alone lists, as DESIGN says
        ctx.invoke(list_media)


@media.command(name="list")
@click.option("--status", default=None, help="Only requests with this status.")
@click.option("--entity", default=None, help="Only requests of this entity.")
@click.option("--limit", default=200, show_default=True)
@json_option
@click.pass_context
def list_media(
    ctx: click.Context,
    status: str | None = None,
    entity: str | None = None,
    limit: int = 200,
    as_json: bool = False,
) -> int:
    """List media requests with status, cost class and asset, newest first."""
    with _desk(ctx) as desk:
        found = desk.list_requests(status=status, entity=entity, limit=limit)
    if as_json:
        echo_json({"count": len(found), "requests": [v.as_dict() for v in found]})
        return 0
    echo_table(
        ["id", "entity", "kind", "prompt", "status", "cost", "by", "asset"],
        [
            [
                v.id,
                v.entity,
                v.kind,
                v.prompt_id,
                v.status,
                v.cost_class,
                v.requested_by or "-",
                _asset_text(v),
            ]
            for v in found
        ],
    )
    return 0


@media.command(name="show")
@click.argument("request_id")
@json_option
@click.pass_context
def show_media(ctx: click.Context, request_id: str, as_json: bool) -> int:
    """One request with its decision, job, error and asset."""
    with _desk(ctx) as desk:
        view = desk.get(request_id)
    if as_json:
        echo_json(view.as_dict())
    else:
        _print(view)
    return 0


@media.command(name="request")
@click.argument("prompt_id")
@click.option("--entity", default=None, help="Default: the entity of the prompt's service.")
@click.option("--by", "person", required=True, help="Who asks (from people.yaml).")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override (repeat).")
@json_option
@click.pass_context
def request_media(
    ctx: click.Context,
    prompt_id: str,
    entity: str | None,
    person: str,
    overrides: tuple[str, ...],
    as_json: bool,
) -> int:
    """Request an image or video from a library prompt; it waits for approval."""
    values = parse_overrides(overrides)
    with _desk(ctx) as desk:
        view = desk.request(prompt_id, by=person, entity=entity, overrides=values)
    if as_json:
        echo_json(view.as_dict())
    else:
        click.echo(
            f"media request {view.id}: {view.status} ({view.kind}, cost {view.cost_class}); "
            "a manager or owner approves it with `sopbench media approve`"
        )
    return 0


@media.command(name="approve")
@click.argument("request_id")
@click.option("--by", "person", required=True, help="The approver (manager or owner).")
@json_option
@click.pass_context
def approve_media(ctx: click.Context, request_id: str, person: str, as_json: bool) -> int:
    """Approve a request; its paid job starts."""
    with _desk(ctx) as desk:
        view = desk.approve(request_id, by=person)
    _out(view, as_json)
    return 0


@media.command(name="reject")
@click.argument("request_id")
@click.option("--by", "person", required=True, help="The approver (manager or owner).")
@click.option("--reason", default=None)
@json_option
@click.pass_context
def reject_media(
    ctx: click.Context, request_id: str, person: str, reason: str | None, as_json: bool
) -> int:
    """Reject a request; no job runs."""
    with _desk(ctx) as desk:
        view = desk.reject(request_id, by=person, reason=reason)
    _out(view, as_json)
    return 0


@media.command(name="poll")
@click.argument("request_id", required=False)
@json_option
@click.pass_context
def poll_media(ctx: click.Context, request_id: str | None, as_json: bool) -> int:
    """Advance jobs by one look: this request, or every approved unfinished one.

    Exits 1 when the one request asked about has failed.
    """
    with _desk(ctx) as desk:
        moved = desk.poll(request_id)
    if as_json:
        echo_json({"count": len(moved), "requests": [v.as_dict() for v in moved]})
        return 0
    if not moved:
        click.echo("no media jobs to advance")
    for view in moved:
        note = view.error or view.params.get("last_error")
        click.echo(f"media request {view.id}: {view.status}" + (f" ({note})" if note else ""))
    return 1 if request_id and moved[0].status == "failed" else 0


@media.command(name="attach")
@click.argument("request_id")
@click.option("--draft", "draft_id", required=True, help="The draft that gets the asset.")
@click.option("--by", "person", required=True, help="Who attaches (from people.yaml).")
@json_option
@click.pass_context
def attach_media(
    ctx: click.Context, request_id: str, draft_id: str, person: str, as_json: bool
) -> int:
    """Attach a finished asset to a draft (a new revision; re-approval needed)."""
    with _desk(ctx) as desk:
        done = desk.attach(request_id, draft_id=draft_id, by=person)
    if as_json:
        echo_json(done.as_dict())
    elif done.added:
        again = done.draft.status == "approved"
        click.echo(
            f"draft {done.draft.id}: revision {done.draft.revision} has media {request_id}"
            + ("; approve it again before it is published" if again else "")
        )
    else:
        click.echo(f"draft {done.draft.id} already has media {request_id}")
    return 0
