"""``prompts``: browse and filter the media prompt library."""

from __future__ import annotations

import click

from sopbench.cli._common import cli, echo_json, echo_table, json_option, settings_of
from sopbench.errors import WorkspaceInvalid


@cli.command()
@click.option("--entity", default=None, help="Only prompts for this entity's services.")
@click.option("--service", default=None, help="Only prompts of this service id.")
@click.option(
    "--kind",
    type=click.Choice(["canva", "sora"]),
    default=None,
    help="canva (images) or sora (Sora 2 videos).",
)
@click.option("--search", default=None, metavar="TEXT", help="Words that must all appear.")
@json_option
@click.pass_context
def prompts(
    ctx: click.Context,
    entity: str | None,
    service: str | None,
    kind: str | None,
    search: str | None,
    as_json: bool,
) -> int:
    """List the media prompt library (Canva images, Sora 2 videos), filtered."""
    from sopbench.services.media import prompt_library

    library = prompt_library(settings_of(ctx))
    if not library.prompts and library.problems:
        raise WorkspaceInvalid(library.problems)
    found = library.filter(entity=entity, service=service, kind=kind, search=search)
    if as_json:
        echo_json(
            {
                "count": len(found),
                "prompts": [library.as_dict(p) for p in found],
                "services": {
                    sid: {"id": sid, **s.model_dump(mode="json")}
                    for sid, s in sorted(library.services.items())
                    if any(p.service == sid for p in found)
                },
                "problems": [str(p) for p in library.problems],
            }
        )
    else:
        echo_table(
            ["id", "kind", "entity", "service", "format", "title"],
            [[p.id, p.kind, library.entity_of(p), p.service, p.format, p.title] for p in found],
        )
        if found:
            canva = sum(p.kind == "canva" for p in found)
            click.echo(f"{len(found)} prompt(s): {canva} canva, {len(found) - canva} sora")
    if library.problems:
        for problem in library.problems:
            click.echo(str(problem), err=True)
        click.echo(
            f"warning: {len(library.problems)} problem(s) in sops/prompts/ hide prompts",
            err=True,
        )
    return 0
