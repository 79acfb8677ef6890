"""Run commands: run, dry-run, runs, show, approvals, approve, reject, complete, cancel,
recover and worker."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

from sopbench.cli._common import cli, echo_json, echo_table, json_option, settings_of
from sopbench.errors import UsageError

if TYPE_CHECKING:
    # Imported lazily: `sopbench validate` must not pay for the engine's imports.
    from sopbench.services.runs import RunService, RunView


@contextmanager
def _service(ctx: click.Context) -> Iterator[RunService]:
    from sopbench.services.runs import RunService

    service = RunService(settings_of(ctx))
    try:
        yield service
    finally:
        service.close()


def _pairs(values: tuple[str, ...], option: str) -> dict[str, str]:
    pairs = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"{option} expects NAME=VALUE, got {item!r}")
        pairs[key.strip()] = value
    return pairs


def _print_view(view: RunView, *, verbose: bool = True) -> None:
    run = view.run
    tag = " (dry-run)" if run.dry_run else ""
    waiting = f" on {run.wait_kind}" if run.status == "waiting" and run.wait_kind else ""
    if run.wait_kind in ("retry", "recovery") and run.status == "waiting" and run.wake_at:
        # durable waits the engine set: say when a worker or tick picks the run up again
        waiting += f" until {run.wake_at.isoformat(timespec='seconds')}"
    click.echo(f"{run.id}  {run.sop_id}  {run.status}{waiting}{tag}")
    if run.crash_count and run.status != "failed":
        click.echo(f"  crashed {run.crash_count} time(s) so far; recovery tries it again")
    if run.error:
        at = f" (at step {run.error_step})" if run.error_step else ""
        click.echo(f"  error: {run.error}{at}")
    if verbose:
        for step in view.steps:
            note = f"  {step.error}" if step.error else ""
            click.echo(f"  {step.status:<10} {step.path} ({step.type}){note}")


@cli.command()
@click.argument("sop_id")
@click.option("--input", "-i", "inputs", multiple=True, metavar="NAME=VALUE", help="A run input.")
@click.option("--as", "person", default=None, help="Who starts the run (cannot approve it).")
@click.option("--detach", is_flag=True, help="Only record the run; a worker drives it.")
@json_option
@click.pass_context
def run(
    ctx: click.Context,
    sop_id: str,
    inputs: tuple[str, ...],
    person: str | None,
    detach: bool,
    as_json: bool,
) -> int:
    """Start a run and drive it until it first waits or ends."""
    with _service(ctx) as service:
        view = service.start(sop_id, _pairs(inputs, "--input"), started_by=person, detach=detach)
        if as_json:
            echo_json(view.as_dict())
        else:
            _print_view(view)
    return 1 if view.run.status == "failed" else 0


@cli.command(name="dry-run")
@click.argument("sop_id", required=False)
@click.option("--all", "all_sops", is_flag=True, help="Every SOP with each of its examples.")
@click.option("--input", "-i", "inputs", multiple=True, metavar="NAME=VALUE")
@json_option
@click.pass_context
def dry_run(
    ctx: click.Context, sop_id: str | None, all_sops: bool, inputs: tuple[str, ...], as_json: bool
) -> int:
    """Run a SOP with simulated effects: nothing is sent, approvals auto-approve."""
    if bool(sop_id) == all_sops:
        raise UsageError("give a SOP_ID or --all")
    with _service(ctx) as service:
        if all_sops:
            views = service.dry_run_all()
        else:
            assert sop_id is not None
            sop = service.workspace.sop(sop_id)
            given = _pairs(inputs, "--input") or (sop.examples[0] if sop.examples else {})
            views = [service.start(sop_id, given, started_by="dry-run", dry_run=True)]
        if as_json:
            echo_json([v.as_dict() for v in views])
        else:
            for view in views:
                _print_view(view, verbose=not all_sops)
            failed = sum(v.run.status != "succeeded" for v in views)
            click.echo(f"{len(views) - failed} of {len(views)} dry-run(s) succeeded")
    return 1 if any(v.run.status != "succeeded" for v in views) else 0


@cli.command()
@click.option("--entity", default=None)
@click.option("--sop", "sop_id", default=None)
@click.option(
    "--status",
    default=None,
    type=click.Choice(["pending", "running", "waiting", "succeeded", "failed", "cancelled"]),
)
@click.option("--limit", default=50, show_default=True)
@json_option
@click.pass_context
def runs(
    ctx: click.Context,
    entity: str | None,
    sop_id: str | None,
    status: str | None,
    limit: int,
    as_json: bool,
) -> int:
    """List recent runs."""
    with _service(ctx) as service:
        rows = service.list_runs(entity=entity, sop_id=sop_id, status=status, limit=limit)
        if as_json:
            echo_json(
                [
                    {
                        k: getattr(r, k)
                        for k in (
                            "id",
                            "sop_id",
                            "entity",
                            "status",
                            "wait_kind",
                            "dry_run",
                            "created_at",
                            "finished_at",
                            "error",
                        )
                    }
                    for r in rows
                ]
            )
        else:
            echo_table(
                ["run_id", "sop_id", "entity", "status", "created"],
                [
                    [
                        r.id,
                        r.sop_id,
                        r.entity,
                        r.status + (" (dry)" if r.dry_run else ""),
                        r.created_at.isoformat(timespec="seconds"),
                    ]
                    for r in rows
                ],
            )
    return 0


@cli.command()
@click.argument("run_id")
@json_option
@click.pass_context
def show(ctx: click.Context, run_id: str, as_json: bool) -> int:
    """A run's steps and journal."""
    with _service(ctx) as service:
        view = service.view(run_id)
        journal = service.journal(run_id)
        if as_json:
            echo_json({**view.as_dict(), "journal": journal})
            return 0
        _print_view(view)
        click.echo("journal:")
        for event in journal:
            where = f" {event['step_path']}" if event["step_path"] else ""
            stamp = event["ts"].isoformat(timespec="seconds")
            click.echo(f"  {stamp}  {event['kind']}{where}  by {event['actor']}")
    return 0


@cli.command()
@click.option("--as", "person", default=None, help="Only tasks this person may decide.")
@click.option(
    "--status",
    default="open",
    show_default=True,
    type=click.Choice(["open", "approved", "rejected", "completed", "expired", "cancelled", "all"]),
)
@json_option
@click.pass_context
def approvals(ctx: click.Context, person: str | None, status: str, as_json: bool) -> int:
    """Human tasks: approvals, manual steps, reviews."""
    with _service(ctx) as service:
        rows = service.tasks(person=person, status=status)
        if as_json:
            echo_json([r.to_dict() for r in rows])  # the columns by name, as stored
        else:
            echo_table(
                ["task_id", "kind", "entity", "status", "votes", "title"],
                [
                    [r.id, r.kind, r.entity, r.status, f"{r.approvals}/{r.required}", r.title]
                    for r in rows
                ],
            )
    return 0


def _decide(
    ctx: click.Context,
    action: str,
    task_id: str,
    person: str,
    comment: str | None,
    fields: tuple[str, ...],
    no_continue: bool,
    as_json: bool,
) -> int:
    with _service(ctx) as service:
        result: dict[str, Any] = service.decide(
            task_id,
            person=person,
            action=action,
            comment=comment,
            fields=_pairs(fields, "--field"),
            continue_run=not no_continue,
        )
        if as_json:
            echo_json(result)
        elif result["settled"]:
            run_note = f"run {result['run_id']} is {result['run_status']}"
            click.echo(f"task {task_id} {result['status']} by {person}; {run_note}")
        else:
            click.echo(
                f"task {task_id}: {result['approvals']} of {result['required']} approvals recorded"
            )
    return 0


def _decision_command(action: str, help_text: str) -> None:
    @cli.command(name=action, help=help_text)
    @click.argument("task_id")
    @click.option("--as", "person", required=True, help="The person deciding (from people.yaml).")
    @click.option("--comment", default=None)
    @click.option("--field", "fields", multiple=True, metavar="NAME=VALUE", help="A form field.")
    @click.option("--no-continue", is_flag=True, help="Leave the run for a worker.")
    @json_option
    @click.pass_context
    def command(
        ctx: click.Context,
        task_id: str,
        person: str,
        comment: str | None,
        fields: tuple[str, ...],
        no_continue: bool,
        as_json: bool,
    ) -> int:
        return _decide(ctx, action, task_id, person, comment, fields, no_continue, as_json)


_decision_command("approve", "Approve a task.")
_decision_command("reject", "Reject a task.")
_decision_command("complete", "Complete a manual task.")


@cli.command()
@click.argument("run_id")
@click.option("--as", "person", default="cli", help="Who cancels.")
@click.option("--reason", default="cancelled")
@click.pass_context
def cancel(ctx: click.Context, run_id: str, person: str, reason: str) -> int:
    """Cancel a run (and its open tasks and waiting child runs)."""
    with _service(ctx) as service:
        for cancelled in service.cancel(run_id, actor=person, reason=reason):
            click.echo(f"cancelled {cancelled}")
    return 0


@cli.command()
@json_option
@click.pass_context
def recover(ctx: click.Context, as_json: bool) -> int:
    """Resume runs that are ready, due, or whose holder died (lease expired)."""
    with _service(ctx) as service:
        moved = service.recover()
        if as_json:
            echo_json([{"run_id": r, "status": s} for r, s in moved])
        else:
            for run_id, status in moved:
                click.echo(f"{run_id}  {status}")
            click.echo(f"{len(moved)} run(s) moved")
    return 0


@cli.command()
@click.option("--poll", default=1.0, show_default=True, help="Seconds between looks.")
@click.option("--max-idle", type=float, default=None, help="Stop after this many idle seconds.")
@click.pass_context
def worker(ctx: click.Context, poll: float, max_idle: float | None) -> int:
    """Drive runs in the foreground until SIGTERM/SIGINT (or --max-idle)."""
    stopping = {"now": False}

    def stop(_signum: int, _frame: object) -> None:
        stopping["now"] = True

    signal.signal(signal.SIGTERM, stop)
    with _service(ctx) as service:
        driven = service.work(poll=poll, max_idle=max_idle, stop=lambda: stopping["now"])
    click.echo(f"worker stopped after driving {driven} run(s)")
    return 0
