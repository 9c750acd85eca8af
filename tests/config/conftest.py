"""Fixtures for the configuration tests."""

from __future__ import annotations

import os
from collections.abc import Callable
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def shared_dir() -> Path | None:
    """The shared data folder: ``$MODLOADER_SHARED``, ``<repo>/../shared`` or ``/work/shared``."""
    explicit = os.environ.get("MODLOADER_SHARED")
    if explicit:
        return Path(explicit)
    for candidate in (REPO.parent / "shared", Path("/work/shared")):
        if candidate.is_dir():
            return candidate
    return None


@pytest.fixture(autouse=True)
def clean_environ(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """No ``MODLOADER_*`` variable leaks in; the cache lives in a fresh folder."""
    for name in list(os.environ):
        if name.upper().startswith("MODLOADER_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("MODLOADER_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture
def write(tmp_path: Path) -> Callable[..., Path]:
    """Write a file under ``tmp_path``: ``write("modules.conf", "[modules]\\n")``."""

    def _write(name: str, text: str | bytes) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        return path

    return _write


@pytest.fixture
def chdir_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Run with ``tmp_path`` as the working folder (for relative paths in messages)."""
    monkeypatch.chdir(tmp_path)
    yield tmp_path
