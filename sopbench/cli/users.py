"""``users``: the people of ``sops/people.yaml`` and their dashboard access codes."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from sopbench.cli._common import cli, echo_json, echo_table, json_option, settings_of
from sopbench.errors import UsageError

if TYPE_CHECKING:
    from sopbench.services.users import AccessService


def _access(ctx: click.Context) -> AccessService:
    from sopbench.services.users import AccessService

    return AccessService(settings_of(ctx))


@cli.group()
def users() -> None:
    """List reviewers and set their dashboard access codes."""


@users.command("list")
@json_option
@click.pass_context
def list_users(ctx: click.Context, as_json: bool) -> int:
    """People from sops/people.yaml, their roles and whether they have a code."""
    access = _access(ctx)
    try:
        rows = [vars(p) for p in access.list_people()]
    finally:
        access.close()
    if as_json:
        echo_json(rows)
        return 0
    echo_table(
        ["person", "name", "roles", "access code"],
        [
            [r["id"], r["name"], ", ".join(r["roles"]), "set" if r["has_code"] else "-"]
            for r in rows
        ],
    )
    return 0


@users.command("set-code")
@click.argument("person")
@click.option("--generate", is_flag=True, help="Generate a code and print it once.")
@click.option("--stdin", "from_stdin", is_flag=True, help="Read the code from standard input.")
@click.pass_context
def set_code(ctx: click.Context, person: str, generate: bool, from_stdin: bool) -> int:
    """Set PERSON's access code (stored only as a salted hash).

    The code is never taken from the command line, where shell history and
    process lists would keep it: type it at the prompt, pipe it with
    --stdin, or let --generate make one.
    """
    if generate and from_stdin:
        raise UsageError("use either --generate or --stdin, not both")
    code: str | None = None
    if from_stdin:
        code = sys.stdin.readline().strip()
    elif not generate:
        code = click.prompt(f"access code for {person}", hide_input=True, confirmation_prompt=True)
    access = _access(ctx)
    try:
        stored = access.set_code(person, code)
    finally:
        access.close()
    if generate:
        click.echo(f"access code for {person}: {stored}")
        click.echo("(shown once; only a salted hash is stored)", err=True)
    else:
        click.echo(f"access code set for {person}")
    return 0


@users.command("clear-code")
@click.argument("person")
@click.pass_context
def clear_code(ctx: click.Context, person: str) -> int:
    """Remove PERSON's access code and end their dashboard sessions."""
    access = _access(ctx)
    try:
        access.clear_code(person)
    finally:
        access.close()
    click.echo(f"access code cleared for {person}")
    return 0
