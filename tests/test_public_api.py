"""The public API is what ``modloader.__all__`` and the public modules' ``__all__`` say."""

from __future__ import annotations

import importlib
from types import ModuleType

import pytest

#: Modules whose names users import; ``modloader`` re-exports the common ones.
PUBLIC_MODULES = ["modloader", "modloader.demo", "modloader.errors", "modloader.module"]


@pytest.fixture(params=PUBLIC_MODULES, ids=PUBLIC_MODULES)
def public_module(request: pytest.FixtureRequest) -> ModuleType:
    return importlib.import_module(request.param)


def test_all_is_sorted(public_module):
    names = list(public_module.__all__)
    assert names == sorted(names)


def test_all_has_no_duplicates(public_module):
    names = list(public_module.__all__)
    assert len(set(names)) == len(names)


def test_every_name_in_all_is_importable(public_module):
    missing = []
    for name in public_module.__all__:
        namespace: dict[str, object] = {}
        try:
            exec(f"from {public_module.__name__} import {name}", namespace)  # noqa: S102
        except ImportError:
            missing.append(name)
    assert missing == []


def test_all_names_no_private_name(public_module):
    # Dunder names (``__version__``) are public by convention; ``_x`` names are not.
    private = [n for n in public_module.__all__ if n.startswith("_") and not n.startswith("__")]
    assert private == []
