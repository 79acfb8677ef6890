"""The public surface is what the modules declare: every ``__all__`` name exists."""

from __future__ import annotations

import importlib

import pytest

import sopbench

PACKAGES = [
    "sopbench",
    "sopbench.errors",
    "sopbench.config",
    "sopbench.redaction",
    "sopbench.model",
    "sopbench.engine",
    "sopbench.store",
    "sopbench.expressions",
    "sopbench.library",
    "sopbench.integrations.http",
]


@pytest.mark.parametrize("name", PACKAGES)
def test_every_exported_name_exists_once(name: str) -> None:
    module = importlib.import_module(name)
    exported = list(module.__all__)
    missing = [item for item in exported if not hasattr(module, item)]
    assert missing == []
    assert len(set(exported)) == len(exported)


def test_top_level_names_load_lazily_and_resolve() -> None:
    assert sopbench.SopbenchError.__name__ == "SopbenchError"
    assert callable(sopbench.load_workspace)
    assert callable(sopbench.glue)
    with pytest.raises(AttributeError):
        sopbench.not_a_name  # noqa: B018


def test_every_error_is_a_sopbench_error() -> None:
    from sopbench import errors

    for name in errors.__all__:
        obj = getattr(errors, name)
        if isinstance(obj, type) and issubclass(obj, Exception):
            assert issubclass(obj, errors.SopbenchError), name
