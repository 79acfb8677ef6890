"""Schedule commands: schedule add|list|pause|resume|remove, tick and scheduler."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import click

from sopbench.cli._common import cli, echo_json, echo_table, json_option, settings_of
from sopbench.errors import UsageError

if TYPE_CHECKING:
    from sopbench.services.session import Scheduler, ScheduleView, TickResult


@contextmanager
def _scheduler(ctx: click.Context, *, reports: bool = False) -> Iterator[Scheduler]:
    from sopbench.services.session import open_scheduler

    with open_scheduler(settings_of(ctx), reports=reports) as scheduler:
        yield scheduler


def _inputs(values: tuple[str, ...]) -> dict[str, str]:
    pairs = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--input expects NAME=VALUE, got {item!r}")
        pairs[key.strip()] = value
    return pairs


def _show(view: ScheduleView) -> None:
    upcoming = view.next_fire_at.isoformat() if view.next_fire_at else "-"
    click.echo(f"{view.id}  {view.sop_id}  {view.cron} ({view.timezone})  {view.state}  {upcoming}")


@cli.group()
def schedule() -> None:
    """Cron schedules of SOPs (from SOP triggers, or added here)."""


@schedule.command("add")
@click.argument("sop_id")
@click.option("--cron", required=True, help="Five fields, e.g. '0 9 * * MON'.")
@click.option("--timezone", default="UTC", show_default=True, help="IANA time zone.")
@click.option(
    "--catchup",
    type=click.Choice(["none", "latest", "all"]),
    default="latest",
    show_default=True,
    help="What to fire after downtime.",
)
@click.option("--input", "-i", "inputs", multiple=True, metavar="NAME=VALUE", help="A run input.")
@json_option
@click.pass_context
def schedule_add(
    ctx: click.Context,
    sop_id: str,
    cron: str,
    timezone: str,
    catchup: str,
    inputs: tuple[str, ...],
    as_json: bool,
) -> int:
    """Add a manual schedule for SOP_ID."""
    with _scheduler(ctx) as scheduler:
        view = scheduler.add(
            sop_id, cron, timezone=timezone, catchup=catchup, inputs=_inputs(inputs)
        )
    if as_json:
        echo_json(view.as_dict())
    else:
        _show(view)
    return 0


@schedule.command("list")
@click.option("--sop", "sop_id", default=None, help="Only this SOP's schedules.")
@json_option
@click.pass_context
def schedule_list(ctx: click.Context, sop_id: str | None, as_json: bool) -> int:
    """Schedules with their next fire time (UTC)."""
    with _scheduler(ctx) as scheduler:
        scheduler.sync()
        views = scheduler.schedules(sop_id=sop_id)
    if as_json:
        echo_json([v.as_dict() for v in views])
        return 0
    echo_table(
        ["id", "sop", "cron", "timezone", "catchup", "source", "state", "next fire (UTC)"],
        [
            [
                v.id,
                v.sop_id,
                v.cron,
                v.timezone,
                v.catchup,
                v.source,
                v.state,
                v.next_fire_at.isoformat() if v.next_fire_at else "-",
            ]
            for v in views
        ],
    )
    return 0


@schedule.command("pause")
@click.argument("schedule_id")
@click.pass_context
def schedule_pause(ctx: click.Context, schedule_id: str) -> int:
    """Stop firing a schedule until it is resumed."""
    with _scheduler(ctx) as scheduler:
        _show(scheduler.pause(schedule_id))
    return 0


@schedule.command("resume")
@click.argument("schedule_id")
@click.pass_context
def schedule_resume(ctx: click.Context, schedule_id: str) -> int:
    """Fire a paused schedule again (times missed while paused are not fired)."""
    with _scheduler(ctx) as scheduler:
        _show(scheduler.resume(schedule_id))
    return 0


@schedule.command("remove")
@click.argument("schedule_id")
@click.pass_context
def schedule_remove(ctx: click.Context, schedule_id: str) -> int:
    """Delete a manual schedule (a SOP trigger is removed by editing its SOP)."""
    with _scheduler(ctx) as scheduler:
        scheduler.remove(schedule_id)
    click.echo(f"removed {schedule_id}")
    return 0


def _print_tick(result: TickResult, as_json: bool) -> None:
    if as_json:
        echo_json(
            {
                "fires": [
                    {
                        "schedule_id": f.schedule_id,
                        "fire_time": f.fire_time,
                        "status": f.status,
                        "run_id": f.run_id,
                        "run_status": f.run_status,
                        "error": f.error,
                    }
                    for f in result.fires
                ],
                "lost": result.lost,
                "recovered": [{"run_id": r, "status": s} for r, s in result.recovered],
                "reports": result.reports,
            }
        )
        return
    for f in result.fires:
        tail = f"{f.run_id} {f.run_status}" if f.run_id else (f.error or "")
        click.echo(f"{f.fire_time.isoformat()}  {f.schedule_id}  {f.status}  {tail}")
    for run_id, status in result.recovered:
        click.echo(f"recovered {run_id}  {status}")
    for path in result.reports:
        click.echo(f"report {path}")
    click.echo(
        f"{len(result.fires)} fire(s), {len(result.recovered)} run(s) recovered, "
        f"{len(result.reports)} report(s)"
    )


@cli.command()
@click.option("--no-reports", is_flag=True, help="Do not write report notebooks.")
@json_option
@click.pass_context
def tick(ctx: click.Context, no_reports: bool, as_json: bool) -> int:
    """Fire due schedules, wake due runs, expire overdue tasks, write reports (cron: * * * * *)."""
    with _scheduler(ctx, reports=not no_reports) as scheduler:
        _print_tick(scheduler.tick(), as_json)
    return 0


@cli.command()
@click.option("--every", default=60.0, show_default=True, help="Seconds between ticks.")
@click.option("--no-reports", is_flag=True, help="Do not write report notebooks.")
@click.option("--max-ticks", type=int, default=None, help="Stop after this many ticks.")
@click.pass_context
def scheduler(ctx: click.Context, every: float, no_reports: bool, max_ticks: int | None) -> int:
    """Tick in the foreground until SIGTERM/SIGINT."""
    stopping = {"now": False}

    def stop(_signum: int, _frame: object) -> None:
        stopping["now"] = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    ticks = 0
    with _scheduler(ctx, reports=not no_reports) as scheduler:
        click.echo("scheduler started", err=True)
        while not stopping["now"]:
            _print_tick(scheduler.tick(), False)
            # Executing report notebooks (nbclient's event loop) resets signal handlers.
            signal.signal(signal.SIGTERM, stop)
            signal.signal(signal.SIGINT, stop)
            ticks += 1
            if max_ticks is not None and ticks >= max_ticks:
                break
            deadline = time.monotonic() + every
            while not stopping["now"] and time.monotonic() < deadline:
                time.sleep(min(0.2, every))
    click.echo(f"scheduler stopped after {ticks} tick(s)")
    return 0
