"""Where the bundled reference workspace and notebooks are.

In a source checkout they are the repository's own ``sops/`` and
``notebooks/``; in an installed wheel they are packaged under
``sopbench/_bundled/``.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["bundled"]

_PACKAGE = Path(__file__).resolve().parent


def bundled(name: str) -> Path:
    """The bundled ``sops`` or ``notebooks`` folder."""
    packaged = _PACKAGE / "_bundled" / name
    if packaged.is_dir():
        return packaged
    return _PACKAGE.parent / name
