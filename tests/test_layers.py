"""The import-linter contracts of pyproject.toml hold on sopbench, and do break.

``make lint`` runs ``lint-imports``; these tests run the same contracts the
same way (a subprocess, as import-linter finds the package through
``sys.path``). The broken cases copy the real package into a temporary folder,
add one import that goes against DESIGN.md's dependency direction, and check
that the copied configuration names it; so a contract that has quietly
stopped checking anything fails here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "sopbench"
CONFIG = ROOT / "pyproject.toml"

pytestmark = pytest.mark.slow  # each case starts lint-imports in a new interpreter

# import-linter's click entry point, run by this interpreter (no console script needed)
_LINT = "import sys; from importlinter.cli import lint_imports_command; lint_imports_command()"


def _contracts() -> list[dict[str, object]]:
    config = tomllib.loads(CONFIG.read_text(encoding="utf-8"))
    contracts: list[dict[str, object]] = config["tool"]["importlinter"]["contracts"]
    return contracts


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` over the ``sopbench`` package under ``root``, with ``root``'s
    pyproject.toml; the package is found from ``root`` only."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [sys.executable, "-c", _LINT, "--no-cache", "--no-logo", "pyproject.toml"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_every_contract_is_kept_by_sopbench() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    kept = len(_contracts())
    assert kept == 3
    assert f"Contracts: {kept} kept, 0 broken." in result.stdout


def test_the_layers_contract_places_every_top_level_module() -> None:
    (layers,) = [c for c in _contracts() if c["type"] == "layers"]
    assert layers["containers"] == ["sopbench"]
    assert layers["exhaustive"] is True
    rows = layers["layers"]
    assert isinstance(rows, list)
    placed = {name.strip() for row in rows for name in str(row).replace(":", "|").split("|")}
    children = {
        path.stem if path.is_file() else path.name
        for path in PACKAGE.iterdir()
        if (path.suffix == ".py" and path.stem != "__init__") or (path / "__init__.py").is_file()
    }
    ignored = layers["exhaustive_ignores"]
    assert isinstance(ignored, list)
    assert children - placed == set(ignored)
    assert placed - children == set()


@pytest.fixture
def copy_of_sopbench(tmp_path: Path) -> Path:
    """A copy of the package and its pyproject.toml, to break on purpose."""
    shutil.copytree(
        PACKAGE, tmp_path / "sopbench", ignore=shutil.ignore_patterns("__pycache__", "_bundled")
    )
    shutil.copy(CONFIG, tmp_path / "pyproject.toml")
    return tmp_path


def _add(root: Path, module: str, code: str) -> None:
    path = root / "sopbench" / module
    with path.open("a", encoding="utf-8") as out:
        out.write(f"\n{code}\n")


BREAKS = {
    # the store reaching up into the engine: the plain upward import
    "upward": (
        "store/db.py",
        "import sopbench.engine.runner",
        "sopbench.store is not allowed to import sopbench.engine",
    ),
    # issue #14 as filed: the scheduler importing the services that build on it
    "scheduler over services": (
        "scheduler.py",
        "from sopbench.services.runs import RunService",
        "sopbench.scheduler is not allowed to import sopbench.services",
    ),
    # an annotation-only import counts as much as a run-time one
    "type checking only": (
        "reports.py",
        "if TYPE_CHECKING:\n    from sopbench.services.runs import RunService",
        "sopbench.reports is not allowed to import sopbench.services",
    ),
    # a leaf helper of the YAML contract reaching the engine
    "leaf upward": (
        "suggest.py",
        "import sopbench.engine.runner",
        "sopbench.suggest is not allowed to import sopbench.engine",
    ),
    # nothing imports the faces ...
    "services over a face": (
        "services/runs.py",
        "import sopbench.ui.widgets",
        "sopbench.services is not allowed to import sopbench.ui",
    ),
    # ... and the two faces are independent of each other
    "face over face": (
        "ui/app.py",
        "from sopbench.cli._common import cli",
        "sopbench.ui is not allowed to import sopbench.cli",
    ),
    # a face skipping the services
    "face reaches the store": (
        "ui/pages/history.py",
        "from sopbench.store.tables import runs",
        "sopbench.ui is not allowed to import sopbench.store",
    ),
    # the local doubles used outside tests and `sopbench sandbox`
    "testing": (
        "engine/runner.py",
        "import sopbench.testing.sandbox",
        "sopbench.engine is not allowed to import sopbench.testing",
    ),
}


@pytest.mark.parametrize("case", sorted(BREAKS))
def test_a_wrong_import_breaks_a_contract(copy_of_sopbench: Path, case: str) -> None:
    module, code, message = BREAKS[case]
    assert lint_imports(copy_of_sopbench).returncode == 0  # the copy itself is clean
    _add(copy_of_sopbench, module, code)
    result = lint_imports(copy_of_sopbench)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Contracts: 2 kept, 1 broken." in result.stdout
    assert message in result.stdout


def test_a_new_top_level_module_must_be_placed(copy_of_sopbench: Path) -> None:
    (copy_of_sopbench / "sopbench" / "newthing.py").write_text('"""Nowhere yet."""\n')
    result = lint_imports(copy_of_sopbench)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "The following modules are not listed as layers" in result.stdout
    assert "- sopbench.newthing" in result.stdout
