"""The on-disk cache store: atomic, switchable, bounded."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from modloader import _cachestore


@pytest.fixture
def store_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MODLOADER_CACHE_DIR", str(tmp_path))
    return tmp_path


def test_round_trip_and_clear(store_dir: Path) -> None:
    key = _cachestore.key_for("k1")
    _cachestore.store("kind", key, {"a": [1, 2]})
    assert _cachestore.load("kind", key) == {"a": [1, 2]}
    assert _cachestore.load("kind", _cachestore.key_for("other")) is None
    assert [p.name for p in _cachestore.entries("kind")] == [f"{key}.json"]
    assert _cachestore.clear() == 1
    assert _cachestore.load("kind", key) is None


def test_files_not_named_as_entries_are_never_pruned_nor_cleared(store_dir: Path) -> None:
    """A cache folder set to one that holds the user's files (``MODLOADER_CACHE_DIR=$HOME``):
    each store pruned ``~/config/*.json`` to the newest 64, and ``--cache clear``
    removed every ``~/*/*.json`` (a project's ``package.json``)."""
    mine = [store_dir / "project" / "package.json", store_dir / "kind" / "settings.json"]
    mine += [store_dir / "kind" / f"old{i}.json" for i in range(_cachestore.MAX_ENTRIES + 5)]
    for path in mine:
        path.parent.mkdir(exist_ok=True)
        path.write_text("{}")
        os.utime(path, ns=(0, 0))  # older than any entry: the first a prune would take
    (store_dir / "kind").chmod(0o700)
    keys = [_cachestore.key_for(str(i)) for i in range(3)]
    for key in keys:
        _cachestore.store("kind", key, 1)
    assert sorted(p.stem for p in _cachestore.entries()) == sorted(keys)
    leftover = store_dir / "kind" / ".tmp-ab_cd123.json"  # a write that was cut short
    leftover.write_text("{")
    assert _cachestore.clear() == 4
    assert all(path.read_text() == "{}" for path in mine)
    assert not leftover.exists()


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
    keys = [_cachestore.key_for(f"k{i:03}") for i in range(_cachestore.MAX_ENTRIES + 5)]
    for i, key in enumerate(keys):
        _cachestore.store("kind", key, i)
        os.utime(store_dir / "kind" / f"{key}.json", ns=(i * 10**9, i * 10**9))
    kept = {p.stem for p in _cachestore.entries("kind")}
    assert kept == set(keys[5:])  # the oldest five went
    assert _cachestore.load("kind", keys[-1]) == _cachestore.MAX_ENTRIES + 4


def test_a_corrupt_entry_is_a_miss(store_dir: Path) -> None:
    _cachestore.store("kind", "k", 1)
    (store_dir / "kind" / "k.json").write_text("{not json")
    assert _cachestore.load("kind", "k") is None


# -- damaged entries: a miss, then replaced -----------------------------------------------

DAMAGE = ["deep-json", "link-to-dev-zero", "fifo", "link-to-a-good-entry", "too-big", "folder"]


def _damage(entry: Path, how: str, good: bytes) -> None:
    """Put ``how`` where the entry ``entry`` was."""
    entry.unlink()
    if how == "deep-json":
        entry.write_text("[" * 100_000 + "]" * 100_000)
    elif how == "link-to-dev-zero":
        entry.symlink_to("/dev/zero")
    elif how == "fifo":
        os.mkfifo(entry)
    elif how == "link-to-a-good-entry":
        other = entry.with_name("elsewhere.txt")
        other.write_bytes(good)
        entry.symlink_to(other)
    elif how == "too-big":
        entry.write_bytes(good[:-1] + b" " * (_cachestore.MAX_ENTRY_BYTES + 1) + good[-1:])
    else:
        entry.mkdir()


def _load_within(seconds: float, kind: str, key: str) -> object:
    """``load`` in a thread that must finish in time: a FIFO must not hang the caller."""
    import threading

    found: list[object] = []
    worker = threading.Thread(target=lambda: found.append(_cachestore.load(kind, key)), daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), "reading the cache entry hung"
    return found[0]


@pytest.mark.parametrize("how", DAMAGE)
def test_a_damaged_entry_is_a_miss_and_the_next_store_replaces_it(
    store_dir: Path, how: str
) -> None:
    import resource

    _cachestore.store("kind", "k", {"a": 1})
    entry = store_dir / "kind" / "k.json"
    _damage(entry, how, entry.read_bytes())
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert _load_within(10, "kind", "k") is None
    grown_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kb < 200_000  # /dev/zero was not read without bound
    if how != "folder":  # a folder cannot be replaced by a file: it stays a miss
        _cachestore.store("kind", "k", {"a": 2})
        assert entry.is_file() and not entry.is_symlink()
        assert _cachestore.load("kind", "k") == {"a": 2}


def test_a_kind_folder_that_is_a_link_is_not_followed(store_dir: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "k.json").write_text('{"planted": true}')
    (store_dir / "kind").symlink_to(elsewhere)
    assert _cachestore.load("kind", "k") is None


def test_a_kind_folder_that_is_a_link_is_neither_listed_nor_cleared(
    store_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    elsewhere = tmp_path_factory.mktemp("victim")
    planted = elsewhere / f"{_cachestore.key_for('x')}.json"
    planted.write_text("{}")
    (store_dir / "kind").symlink_to(elsewhere)
    assert _cachestore.entries() == [] and _cachestore.entries("kind") == []
    assert _cachestore.clear() == 0 and _cachestore.clear("kind") == 0
    assert planted.exists()


# -- another user's entries --------------------------------------------------------------

_ROOT_ONLY = pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0, reason="giving a file away takes root"
)


@pytest.mark.parametrize("mode", [0o777, 0o770, 0o702])
def test_a_kind_folder_others_may_write_to_is_not_used(
    store_dir: Path, mode: int, caplog: pytest.LogCaptureFixture
) -> None:
    _cachestore.store("kind", "k", {"a": 1})
    (store_dir / "kind").chmod(mode)
    assert _cachestore.load("kind", "k") is None
    _cachestore.store("kind", "k2", {"b": 2})
    assert not (store_dir / "kind" / "k2.json").exists()  # nor written to
    assert _cachestore.load("kind", "k") is None
    warned = [r.getMessage() for r in caplog.records if "cache folder" in r.getMessage()]
    assert warned == [
        f"cache folder {store_dir / 'kind'} is writable by other users: not used "
        f"(chmod go-w {store_dir / 'kind'})"
    ]  # once
    planted = store_dir / "kind" / f"{_cachestore.key_for('x')}.json"
    planted.write_text("{}")  # as another user could have, meanwhile
    assert _cachestore.entries() == [] and _cachestore.clear() == 0
    assert planted.exists()
    (store_dir / "kind").chmod(0o700)
    assert _cachestore.load("kind", "k") == {"a": 1}


@_ROOT_ONLY
def test_an_entry_or_a_kind_folder_of_another_user_is_a_miss(
    store_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _cachestore.store("kind", "k", {"a": 1})
    entry = store_dir / "kind" / "k.json"
    os.chown(entry, 12345, 12345)  # planted by uid 12345
    assert _cachestore.load("kind", "k") is None
    os.chown(entry, 0, 0)
    assert _cachestore.load("kind", "k") == {"a": 1}
    os.chown(store_dir / "kind", 12345, 12345)
    assert _cachestore.load("kind", "k") is None
    assert f"cache folder {store_dir / 'kind'} belongs to uid 12345: not used" in caplog.text


def test_a_configuration_planted_in_a_shared_cache_is_not_used(
    store_dir: Path, tmp_path: Path
) -> None:
    """A cache folder others may write to (``MODLOADER_CACHE_DIR=/tmp/shared``): an
    entry rewritten there would have changed what the host loads."""
    from modloader._config import load_config
    from modloader._config._load import CACHE_KIND

    conf = tmp_path / "modules.conf"
    conf.write_text("[modules]\nautoload = no\nload => res_x\n")
    assert not load_config(path=conf, environ={}).autoload
    (entry,) = (store_dir / CACHE_KIND).glob("*.json")
    planted = entry.read_text().replace("false", "true", 1)
    assert planted != entry.read_text()
    (store_dir / CACHE_KIND).chmod(0o777)  # shared: anyone may replace the entry
    entry.write_text(planted)
    assert not load_config(path=conf, environ={}).autoload


@pytest.mark.parametrize("how", ["deep-json", "link-to-dev-zero", "fifo"])
def test_discovery_rewrites_a_damaged_cache(store_dir: Path, tmp_path: Path, how: str) -> None:
    from modloader._discovery.scan import CACHE_KIND
    from modloader._discovery.scan import scan_group
    from modloader.testing import make_distribution

    site = tmp_path / "site"
    make_distribution(site, "plug", entry_points={"app.mods": {"res_x": "plug:Mod"}})
    assert [c.name for c in scan_group("app.mods", path=[str(site)])] == ["res_x"]
    (entry,) = (store_dir / CACHE_KIND).glob("*.json")
    _damage(entry, how, entry.read_bytes())
    assert [c.name for c in scan_group("app.mods", path=[str(site)])] == ["res_x"]
    assert entry.is_file() and not entry.is_symlink()
    assert _cachestore.load(CACHE_KIND, entry.stem) is not None


@pytest.mark.parametrize("how", ["deep-json", "link-to-dev-zero", "fifo"])
def test_configuration_rewrites_a_damaged_cache(store_dir: Path, tmp_path: Path, how: str) -> None:
    from modloader._config import load_config
    from modloader._config._load import CACHE_KIND

    conf = tmp_path / "modules.conf"
    conf.write_text("[modules]\nautoload = no\nload => res_x\n")
    assert not load_config(path=conf, environ={}).autoload
    (entry,) = (store_dir / CACHE_KIND).glob("*.json")
    _damage(entry, how, entry.read_bytes())
    assert not load_config(path=conf, environ={}).autoload
    assert entry.is_file() and not entry.is_symlink()


# -- where a host keeps its cache --------------------------------------------------------


def _host_cache_files(folder: Path) -> list[str]:
    return sorted(p.parent.name for p in folder.glob("*/*.json"))


def test_a_host_keeps_its_cache_where_it_is_told(
    store_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from modloader import Host

    conf = tmp_path / "modules.conf"
    conf.write_text("[modules]\nautoload = no\n")
    chosen = tmp_path / "app-cache"
    with Host("app.nothing", config_path=conf, cache_dir=chosen) as host:
        host.run("module refresh")  # a scan from a command, in another code path
    assert _host_cache_files(chosen) == ["config", "entrypoints"]
    assert _host_cache_files(store_dir) == []  # MODLOADER_CACHE_DIR is not used


def test_a_host_honours_its_own_environment_prefix(
    store_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from modloader import Host

    conf = tmp_path / "modules.conf"
    conf.write_text("[modules]\nautoload = no\n")
    mine = tmp_path / "kvapp-cache"
    monkeypatch.setenv("KVAPP_CACHE_DIR", str(mine))
    with Host("app.nothing", config_path=conf, env_prefix="KVAPP_"):
        pass
    assert _host_cache_files(mine) == ["config", "entrypoints"]
    assert _host_cache_files(store_dir) == []
    monkeypatch.setenv("KVAPP_NO_CACHE", "1")
    assert not _cachestore.CacheStore(env_prefix="KVAPP_").is_enabled()
    assert _cachestore.CacheStore().is_enabled()  # another host's prefix is not this one's


def test_the_store_order_of_folders(tmp_path: Path) -> None:
    env = {"MODLOADER_CACHE_DIR": "/m", "APP_CACHE_DIR": "/a", "XDG_CACHE_HOME": "/x"}
    assert _cachestore.CacheStore(tmp_path, env_prefix="APP_", environ=env).path() == str(tmp_path)
    assert _cachestore.CacheStore(env_prefix="APP_", environ=env).path() == "/a"
    assert _cachestore.CacheStore(env_prefix="OTHER_", environ=env).path() == "/m"
    assert _cachestore.CacheStore(environ={"XDG_CACHE_HOME": "/x"}).path() == "/x/modloader"
    home = os.path.expanduser("~")  # a relative XDG_CACHE_HOME is ignored, as XDG says
    relative = _cachestore.CacheStore(environ={"XDG_CACHE_HOME": "cache"}).path()
    assert relative == os.path.join(home, ".cache", "modloader")


def test_a_temporary_file_left_by_a_cut_short_write_goes_at_the_next_store(
    store_dir: Path,
) -> None:
    """A process killed while it wrote an entry left ``.tmp-*.json`` behind for good,
    as large as the entry (up to 32 MiB), one more at each such death."""
    _cachestore.store("kind", _cachestore.key_for("a"), 1)
    old = store_dir / "kind" / ".tmp-abcd1234.json"
    old.write_text("{half an entr")
    hour_ago = int((time.time() - 3600) * 1e9)
    os.utime(old, ns=(hour_ago, hour_ago))
    writing = store_dir / "kind" / ".tmp-wxyz9876.json"  # another process's, being written
    writing.write_text("{")
    _cachestore.store("kind", _cachestore.key_for("b"), 2)
    assert not old.exists()
    assert writing.exists()
