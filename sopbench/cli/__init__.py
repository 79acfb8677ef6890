"""The ``sopbench`` command line: a thin face over :mod:`sopbench.services`.

Exit codes: 0 ok, 1 the thing asked failed, 2 usage error. Any
:class:`~sopbench.errors.SopbenchError` becomes one line on stderr, never a
traceback.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

import click

from sopbench.cli._common import cli
from sopbench.errors import SopbenchError

__all__ = ["cli", "main"]

logger = logging.getLogger(__name__)


def _register_commands() -> None:
    # Command modules attach themselves to `cli` when imported; importing them
    # here (not at package import) keeps `import sopbench.cli` side-effect free.
    from sopbench.cli import (  # noqa: F401
        calendar,
        content,
        content_drafts,
        llm,
        media,
        runs,
        sandbox,
        schedule,
        serve,
        users,
        workspace,
    )


def _wants_traceback(argv: Sequence[str] | None) -> bool:
    args = sys.argv[1:] if argv is None else list(argv)
    return "--traceback" in args


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``sopbench`` console script."""
    _register_commands()
    try:
        result = cli.main(args=list(argv) if argv is not None else None, standalone_mode=False)
    except SopbenchError as exc:
        click.echo(f"error: {exc}", err=True)
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 1
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        return 130
    except Exception as exc:  # a bug: one clear line, the traceback only on request
        if _wants_traceback(argv):
            raise
        logger.debug("internal error", exc_info=True)
        click.echo(
            f"error: internal error: {type(exc).__name__}: {exc} "
            "(this is a sopbench bug; rerun with --traceback and report it)",
            err=True,
        )
        return 1
    return result if isinstance(result, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
