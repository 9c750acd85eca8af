"""The on-disk cache store: atomic, switchable, bounded."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from modloader import _cachestore


@pytest.fixture
def store_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MODLOADER_CACHE_DIR", str(tmp_path))
    return tmp_path


def test_round_trip_and_clear(store_dir: Path) -> None:
    _cachestore.store("kind", "k1", {"a": [1, 2]})
    assert _cachestore.load("kind", "k1") == {"a": [1, 2]}
    assert _cachestore.load("kind", "other") is None
    assert [p.name for p in _cachestore.entries("kind")] == ["k1.json"]
    assert _cachestore.clear() == 1
    assert _cachestore.load("kind", "k1") is None


@pytest.mark.parametrize("how", ["env", "disable-file"])
def test_switched_off(store_dir: Path, monkeypatch: pytest.MonkeyPatch, how: str) -> None:
    if how == "env":
        monkeypatch.setenv("MODLOADER_NO_CACHE", "1")
    else:
        (store_dir / ".disable").touch()
    _cachestore.store("kind", "k", 1)
    assert _cachestore.load("kind", "k") is None
    assert not _cachestore.is_enabled()


def test_old_entries_are_pruned(store_dir: Path) -> None:
    for i in range(_cachestore.MAX_ENTRIES + 5):
        _cachestore.store("kind", f"k{i:03}", i)
        os.utime(store_dir / "kind" / f"k{i:03}.json", ns=(i * 10**9, i * 10**9))
    kept = sorted(p.stem for p in _cachestore.entries("kind"))
    assert len(kept) == _cachestore.MAX_ENTRIES
    assert kept[0] == "k005"  # the oldest five went
    assert (
        _cachestore.load("kind", f"k{_cachestore.MAX_ENTRIES + 4:03}")
        == _cachestore.MAX_ENTRIES + 4
    )


def test_a_corrupt_entry_is_a_miss(store_dir: Path) -> None:
    _cachestore.store("kind", "k", 1)
    (store_dir / "kind" / "k.json").write_text("{not json")
    assert _cachestore.load("kind", "k") is None
