"""Third-party step types from real entry points: one table, one refusal everywhere.

Each test writes a package and its ``*.dist-info`` (``METADATA`` +
``entry_points.txt``) into a temporary folder put on ``sys.path``, which is
how an installed plugin looks to :mod:`importlib.metadata`. The table of
step types is kept per ``sys.path``, so restoring the path (monkeypatch does
it) is all the cleaning up there is.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from sopbench.engine.handlers import HandlerRegistry
from sopbench.errors import ConfigError
from sopbench.library import load_workspace
from sopbench.model.registry import BUILTIN_STEP_TYPES, step_param_models, step_types
from sopbench.schema import schema_for
from sopbench.store import Database
from sopbench.testing.recorder import Recorder

from .support import Bench, build_home, environ, make_bench

PLUGIN = '''\
"""A third-party step package, as a plugin author would write it."""

from sopbench.engine.handlers import Done
from sopbench.model.steps import StepParams
from sopbench.steps._base import BaseHandler


class StockCheckParams(StepParams):
    """Count a product on the shelf."""

    result_fields = ("count",)
    sku: str


class StockCheck(BaseHandler):
    Params = StockCheckParams

    def run(self, call):
        return Done({"count": 40 + len(call.typed(StockCheckParams).sku)})


class LoudParams(StepParams):
    """A notification, but louder."""

    message: str


class Loud(BaseHandler):
    Params = LoudParams

    def run(self, call):
        return Done({"delivered": True})
'''

SOP = """\
sop_id: count_stock
entity: shop
name: Count the stock
steps:
  - id: count
    type: stock_check
    with: {sku: LAP-1}
  - id: keep
    type: transform
    with: {set: {count: "{{ steps.count.count }}"}}
"""


def install_plugin(root: Path, module: str, points: dict[str, str]) -> Path:
    """A package ``module`` and its dist-info declaring ``points`` (name -> attribute)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / f"{module}.py").write_text(PLUGIN, encoding="utf-8")
    info = root / f"{module}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {module}\nVersion: 1.0\n", encoding="utf-8"
    )
    lines = [f"{name} = {module}:{attr}" for name, attr in points.items()]
    (info / "entry_points.txt").write_text(
        "[sopbench.steps]\n" + "\n".join(lines) + "\n", encoding="utf-8"
    )
    return root


@pytest.fixture
def plugin_module(request: pytest.FixtureRequest) -> Iterator[str]:
    # One module name per test: an imported module stays in sys.modules.
    name = f"acme_steps_{request.node.name.split('[')[0].removeprefix('test_')[:24]}"
    yield name
    sys.modules.pop(name, None)


def test_a_type_clashing_with_a_builtin_is_refused_alike_everywhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, plugin_module: str
) -> None:
    site = install_plugin(
        tmp_path / "site", plugin_module, {"stock_check": "StockCheck", "notification": "Loud"}
    )
    home = build_home(tmp_path, [], "http://127.0.0.1:9")
    (home / "sops" / "shop").mkdir()
    (home / "sops" / "shop" / "count_stock.yaml").write_text(SOP, encoding="utf-8")
    plain = step_param_models()
    monkeypatch.syspath_prepend(str(site))

    refusals = []
    for look_up in (
        step_param_models,
        lambda: load_workspace(home),
        lambda: HandlerRegistry().get("manual"),
        lambda: HandlerRegistry().get("stock_check"),
        schema_for,
    ):
        with pytest.raises(ConfigError) as caught:
            look_up()
        refusals.append(str(caught.value))
    expected = (
        "step type 'notification' is declared twice: by sopbench (built-in) and by "
        f"entry point 'notification = {plugin_module}:Loud' of {plugin_module} 1.0 "
        "(rename the third-party step type, or uninstall one of the two packages)"
    )
    assert refusals == [expected] * len(refusals)

    # The command line says the same, in one line, and exits 1.
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPBENCH_")}
    env.update(environ(f"sqlite:///{tmp_path / 'db.sqlite'}"))
    env["PYTHONPATH"] = os.pathsep.join([str(site), *sys.path])
    done = subprocess.run(
        [sys.executable, "-m", "sopbench", "--home", str(home), "validate"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert expected in done.stderr
    assert "Traceback" not in done.stderr

    monkeypatch.undo()  # the path is restored: the plain table is back, nothing to clear
    assert step_param_models() is plain


def test_two_plugins_declaring_one_name_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, plugin_module: str
) -> None:
    first = install_plugin(tmp_path / "a", f"{plugin_module}_a", {"stock_check": "StockCheck"})
    second = install_plugin(tmp_path / "b", f"{plugin_module}_b", {"stock_check": "Loud"})
    monkeypatch.syspath_prepend(str(first))
    monkeypatch.syspath_prepend(str(second))
    with pytest.raises(ConfigError, match="'stock_check' is declared twice: by entry point"):
        step_param_models()
    with pytest.raises(ConfigError, match="'stock_check' is declared twice: by entry point"):
        HandlerRegistry().get("stock_check")
    sys.modules.pop(f"{plugin_module}_a", None)
    sys.modules.pop(f"{plugin_module}_b", None)


@pytest.fixture
def plugged(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    plugin_module: str,
    database: Database,
    db_url: str,
    recorder: Recorder,
) -> Bench:
    """A bench whose workspace uses a step type that only a plugin provides."""
    site = install_plugin(tmp_path / "site", plugin_module, {"stock_check": "StockCheck"})
    monkeypatch.syspath_prepend(str(site))
    sources = tmp_path / "sources"
    (sources / "shop").mkdir(parents=True)
    (sources / "shop" / "count_stock.yaml").write_text(SOP, encoding="utf-8")
    return make_bench(tmp_path, [sources], database, db_url, recorder)


def test_a_new_type_is_validated_run_and_published(plugged: Bench) -> None:
    table = step_types()
    assert table.names() == [k.name for k in BUILTIN_STEP_TYPES] + ["stock_check"]
    kind = table.get("stock_check")
    assert kind is not None and kind.source.startswith("entry point 'stock_check = acme_steps")

    # validation knows its `with` model
    bad = plugged.home / "sops" / "shop" / "count_bad.yaml"
    bad.write_text(
        SOP.replace("count_stock", "count_bad").replace("{sku: LAP-1}", "{skew: LAP-1}"),
        encoding="utf-8",
    )
    problems = [str(p) for p in load_workspace(plugged.home).problems]
    assert any("count_bad.yaml:7:" in p and "sku" in p for p in problems), problems
    bad.unlink()

    # the schema lists it, the engine runs it
    variants = schema_for("sop")["$defs"]["Step"]["anyOf"]
    assert "stock_check" in {v["properties"]["type"]["const"] for v in variants}
    handler = HandlerRegistry().get("stock_check")
    assert type(handler).__name__ == "StockCheck"
    view = plugged.start("count_stock")
    assert view.run.status == "succeeded", view.run.error
    assert view.run.vars == {"count": 45}


def test_every_builtin_handler_serves_its_table_entry() -> None:
    registry = HandlerRegistry()
    for kind in BUILTIN_STEP_TYPES:
        handler = registry.get(kind.name)
        assert handler.Params is kind.params, kind.name
        assert registry.get(kind.name) is handler  # one handler per registry
    assert registry.names() == [kind.name for kind in BUILTIN_STEP_TYPES]
