"""Fixtures shared by the whole suite."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def clean_environ(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    """No MODLOADER_* variable leaks in; the cache lives in a fresh folder per test."""
    for name in list(os.environ):
        if name.upper().startswith("MODLOADER_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("MODLOADER_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    yield


def shared_dir() -> Path | None:
    """The read-only shared folder beside the repository (corpus, spec), if present."""
    explicit = os.environ.get("MODLOADER_SHARED")
    candidates = [Path(explicit)] if explicit else []
    candidates += [Path(__file__).resolve().parents[1] / ".." / "shared", Path("/work/shared")]
    for candidate in candidates:
        if candidate.is_dir():
            return candidate.resolve()
    return None
