"""``init``, ``validate``, ``schema`` and ``list``."""

from __future__ import annotations

import click

from sopbench.cli._common import cli, echo_json, echo_table, json_option, settings_of
from sopbench.errors import WorkspaceInvalid
from sopbench.schema import SCHEMA_KINDS, schema_for, write_schemas
from sopbench.services.workspace import Workspace, init_workspace, list_sops, validate_workspace


def _summary(workspace: Workspace) -> str:
    entities = len(workspace.entities.entities) if workspace.entities else 0
    people = len(workspace.people.people) if workspace.people else 0
    return f"{len(workspace.sops)} SOP(s), {entities} entities, {people} people"


@cli.command()
@click.pass_context
def init(ctx: click.Context) -> int:
    """Create a workspace from the bundled reference SOPs, or upgrade one."""
    report = init_workspace(settings_of(ctx))
    for name in report.copied:
        click.echo(f"created {report.home / name} from the bundled reference workspace")
    click.echo(f"database ready: {report.database}")
    workspace = report.workspace
    if workspace is not None and workspace.problems:
        for problem in workspace.problems:
            click.echo(str(problem), err=True)
        click.echo(f"workspace {report.home} has {len(workspace.problems)} problem(s)", err=True)
        return 1
    if workspace is not None:
        click.echo(f"workspace {report.home}: {_summary(workspace)}, valid")
    return 0


@cli.command()
@json_option
@click.pass_context
def validate(ctx: click.Context, as_json: bool) -> int:
    """Check every file of the workspace; print all problems as path:line:col."""
    workspace = validate_workspace(settings_of(ctx))
    if as_json:
        echo_json(
            {
                "valid": workspace.valid,
                "sops": len(workspace.sops),
                "problems": [vars(p) for p in workspace.problems],
            }
        )
    else:
        for problem in workspace.problems:
            click.echo(str(problem))
        if workspace.problems:
            files = len({p.path for p in workspace.problems})
            click.echo(f"{len(workspace.problems)} problem(s) in {files} file(s)", err=True)
        else:
            click.echo(f"ok: {_summary(workspace)}")
    return 1 if workspace.problems else 0


@cli.command()
@click.option(
    "--kind",
    type=click.Choice(sorted(SCHEMA_KINDS)),
    default="sop",
    show_default=True,
    help="Which file's schema to print.",
)
@click.option("--write", is_flag=True, help="Write every schema to sops/.schema/ for editors.")
@click.pass_context
def schema(ctx: click.Context, kind: str, write: bool) -> int:
    """Print the JSON Schema of SOP files (or store all schemas with --write)."""
    if not write:
        echo_json(schema_for(kind))
        return 0
    folder = settings_of(ctx).sops_dir / ".schema"
    for path in write_schemas(folder):
        click.echo(f"wrote {path}")
    click.echo(
        "editors: add `# yaml-language-server: $schema=../.schema/sop.schema.json` "
        "to a SOP file, or map sops/**/*.yaml to it in VS Code's yaml.schemas"
    )
    return 0


@cli.command(name="list")
@click.option("--entity", default=None, help="Only SOPs of this entity.")
@click.option("--tag", default=None, help="Only SOPs with this tag.")
@json_option
@click.pass_context
def list_command(ctx: click.Context, entity: str | None, tag: str | None, as_json: bool) -> int:
    """List the workspace's SOPs."""
    workspace = validate_workspace(settings_of(ctx))
    if not workspace.sops and workspace.problems:
        raise WorkspaceInvalid(workspace.problems)
    rows = list_sops(workspace, entity=entity, tag=tag)
    if as_json:
        echo_json(rows)
    else:
        echo_table(
            ["sop_id", "entity", "name", "triggers", "steps"],
            [[r.sop_id, r.entity, r.name, "; ".join(r.triggers), r.steps] for r in rows],
        )
    if workspace.problems:
        click.echo(
            f"warning: {len(workspace.problems)} problem(s) hide invalid SOPs from this list; "
            "run `sopbench validate`",
            err=True,
        )
    return 0
