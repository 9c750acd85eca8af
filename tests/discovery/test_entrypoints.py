"""Discovery over real (fake) installed distributions: metadata only, imports only when started."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest

from modloader.pytest_plugin import FakeSite
from tests._hostile import within

TRACE = """
import os, pathlib
pathlib.Path(os.environ["{var}"]).joinpath("{name}").write_text("imported")

class Mod:
    pass
"""


def add_traced(site: FakeSite, name: str, trace_var: str = "KIT_TRACE_DIR") -> None:
    site.add(
        f"dist-{name}",
        "1.0",
        entry_points={"trace.test": {name: f"{name}_pkg:Mod"}},
        files={f"{name}_pkg/__init__.py": TRACE.format(var=trace_var, name=name)},
        summary=f"Summary of {name}",
    )


def test_scan_reads_metadata_without_importing(
    fake_distributions: FakeSite, tmp_path: Path, monkeypatch: Any
) -> None:
    from modloader._discovery.entrypoints import EntryPointDiscovery

    monkeypatch.setenv("KIT_TRACE_DIR", str(tmp_path))
    add_traced(fake_distributions, "res_one")
    found = EntryPointDiscovery("trace.test").scan()
    assert [(c.name, c.dist_name, c.version, c.summary) for c in found] == [
        ("res_one", "dist-res_one", "1.0", "Summary of res_one")
    ]
    assert not (tmp_path / "res_one").exists()
    assert "res_one_pkg" not in sys.modules


def test_modules_that_will_not_start_are_never_imported(
    fake_distributions: FakeSite, tmp_path: Path, monkeypatch: Any, modloader_host: Any
) -> None:
    monkeypatch.setenv("KIT_TRACE_DIR", str(tmp_path))
    for name in ("res_started", "res_noloaded", "res_unlisted"):
        add_traced(fake_distributions, name)
    host = modloader_host(
        namespace="trace.test",
        autoload=False,
        load=["res_started", "res_noloaded"],
        noload=["res_noloaded"],
    )
    assert host.is_running("res_started")
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == ["res_started"]


@pytest.mark.parametrize("cache", ["on", "off"])
def test_a_distribution_installed_after_start_is_loadable(
    fake_distributions: FakeSite, tmp_path: Path, monkeypatch: Any, modloader_host: Any, cache: str
) -> None:
    monkeypatch.setenv("KIT_TRACE_DIR", str(tmp_path))
    if cache == "off":
        monkeypatch.setenv("MODLOADER_NO_CACHE", "1")
    add_traced(fake_distributions, "res_first")
    host = modloader_host(namespace="trace.test")
    add_traced(fake_distributions, "res_later")
    result = host.run("module load res_later")
    assert result.ok, result.output
    assert host.get_module("res_later")["version"] == "1.0"
    result = host.run("module refresh res_first")
    assert result.ok, result.output


def test_an_entry_point_added_in_place_is_loadable(
    fake_distributions: FakeSite, tmp_path: Path, monkeypatch: Any, modloader_host: Any
) -> None:
    """No folder changes: the quick check for one name finds nothing, the whole scan does."""
    from modloader._discovery import scan

    monkeypatch.setattr(scan, "RACY_NS", 0)  # trust fresh files: no re-reading hides a miss
    monkeypatch.setenv("KIT_TRACE_DIR", str(tmp_path))
    add_traced(fake_distributions, "res_first")
    host = modloader_host(namespace="trace.test")
    assert host.run("module load res_added").ok is False
    info = next(fake_distributions.path.glob("dist_res_first-*.dist-info"))
    with open(info / "entry_points.txt", "a", encoding="utf-8") as fh:
        fh.write("res_added = res_first_pkg:Mod\n")
    result = host.run("module load res_added")
    assert result.ok, result.output


def test_running_modules_as_a_stevedore_extension_manager(modloader_host: Any) -> None:
    from stevedore.extension import ExtensionManager

    class Pinger:
        def __init__(self) -> None:
            self.calls = 0

        def ping(self) -> str:
            self.calls += 1
            return "pong"

    host = modloader_host({"b_first": Pinger, "a_second": Pinger, "gone": ImportError("x")})
    manager = host.extensions
    assert isinstance(manager, ExtensionManager)
    assert manager.names() == ["a_second", "b_first"]  # start order: by name here
    assert manager.map_method("ping") == ["pong", "pong"]
    with host.use("a_second") as handle:
        assert handle.obj is manager["a_second"].obj
        assert handle.obj.calls == 1
    assert manager["b_first"].entry_point.group == "modloader.testing"


def test_startup_imports_neither_stevedore_nor_importlib_metadata(
    fake_distributions: FakeSite, tmp_path: Path
) -> None:
    import subprocess

    add_traced(fake_distributions, "res_quiet")
    code = (
        "import sys, modloader\n"
        "host = modloader.Host('trace.test'); host.start(); host.stop()\n"
        "heavy = [m for m in ('stevedore', 'importlib.metadata', 'importlib_metadata') "
        "if m in sys.modules]\n"
        "print(host.report.running, heavy)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(fake_distributions.path), "KIT_TRACE_DIR": str(tmp_path)}
    runs = [
        subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        ).stdout.strip()
        for _ in range(2)
    ]
    # The first run validates the configuration with pydantic, which imports
    # importlib.metadata; the warm run imports neither that nor stevedore.
    assert runs[1] == "1 []"


def test_top_level_modules_are_read_from_the_dist_info_as_the_backport_reads_them(
    fake_distributions: FakeSite,
) -> None:
    from modloader._discovery import _metadata
    from modloader._discovery.entrypoints import EntryPointDiscovery

    fake_distributions.add(
        "dist-tops",
        "1.0",
        entry_points={"tops.test": {"res_tops": "tops_main.plugin:Mod"}},
        files={
            "tops_main/__init__.py": "",
            "tops_main/plugin.py": "class Mod:\n    pass\n",
            "tops_extra.py": "",
        },
    )
    (candidate,) = EntryPointDiscovery("tops.test").scan()
    assert candidate.origin is not None and candidate.origin.endswith(".dist-info")
    direct = _metadata.folder_top_levels(candidate.origin, candidate.module_name)
    assert direct == {"tops_main", "tops_extra"}
    assert direct == _metadata.top_level_modules("dist-tops", candidate.module_name)
    assert EntryPointDiscovery("tops.test").top_level_modules(candidate) == direct
    # A path with a comma is quoted in RECORD, as the csv module writes it.
    assert _metadata._record_path('"a,""b""/c.py",sha256=x,12\n') == 'a,"b"/c.py'
    # An egg's metadata folder: its top_level.txt.
    egg = Path(candidate.origin).with_name("dist_tops-1.0-py3.11.egg-info")
    egg.mkdir()
    (egg / "top_level.txt").write_text("egg_main\negg_extra\n")
    (egg / "installed-files.txt").write_text("../tops_main/__init__.py\n")
    assert _metadata.folder_top_levels(str(egg), "egg_main.plug") == {"egg_main", "egg_extra"}


def _damage(record: Path, how: str) -> None:
    record.unlink()
    if how == "fifo":
        os.mkfifo(record)
    elif how == "device":
        record.symlink_to("/dev/zero")
    elif how == "not utf-8":
        record.write_bytes(b"tops_main/__init__.py,,\n\xab\xcd\xff,,\n")
    else:
        record.mkdir()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
@pytest.mark.parametrize("how", ["fifo", "device", "not utf-8", "folder"])
def test_a_record_that_cannot_be_read_is_said_and_not_read_through_the_backport(
    fake_distributions: FakeSite, how: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A hostile RECORD neither hangs nor fills the memory of a ``module unload``:
    the backport, which reads it without looking, is not asked in its place."""
    from modloader._discovery.entrypoints import EntryPointDiscovery

    info = fake_distributions.add(
        "dist-hurt",
        "1.0",
        entry_points={"hurt.test": {"res_hurt": "hurt_main.plugin:Mod"}},
        files={"hurt_main/__init__.py": "", "hurt_main/plugin.py": "class Mod:\n    pass\n"},
    )
    (candidate,) = EntryPointDiscovery("hurt.test").scan()
    assert candidate.origin == str(info)
    record = info / "RECORD"
    (info / "top_level.txt").write_text("hurt_main\nhurt_helper\n")
    _damage(record, how)
    found = within(10, lambda: EntryPointDiscovery("hurt.test").top_level_modules(candidate))
    assert found == {"hurt_main", "hurt_helper"}
    (message,) = [r.getMessage() for r in caplog.records if "cannot be read" in r.getMessage()]
    assert message.startswith(f"{record} cannot be read (")


class CountingFinder:
    """Stands in for a path entry's finder: counts how often its listing is forgotten."""

    def __init__(self) -> None:
        self.forgotten = 0

    def invalidate_caches(self) -> None:
        self.forgotten += 1


def _finders(tmp_path: Path, monkeypatch: Any) -> tuple[Path, CountingFinder, CountingFinder]:
    folder = tmp_path / "on_path"
    folder.mkdir()
    package = tmp_path / "a_package_folder"
    package.mkdir()
    on_path, off_path = CountingFinder(), CountingFinder()
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.setitem(sys.path_importer_cache, str(folder), on_path)
    monkeypatch.setitem(sys.path_importer_cache, str(package), off_path)
    return folder, on_path, off_path


def test_a_folder_settled_at_its_mtime_is_not_forgotten_again(
    tmp_path: Path, monkeypatch: Any
) -> None:
    from modloader._discovery import entrypoints

    folder, on_path, off_path = _finders(tmp_path, monkeypatch)
    old = 1_000_000_000 * 1_000_000  # long before the racy window
    os.utime(folder, ns=(old, old))
    entrypoints.forget_directory_listings()
    entrypoints.forget_directory_listings()
    assert on_path.forgotten == 1  # read again once, at this mtime: final since
    assert off_path.forgotten == 2  # not on sys.path: forgotten each time, for free
    (folder / "new_dist-1.0.dist-info").mkdir()  # an install: the folder's mtime moves
    entrypoints.forget_directory_listings()
    entrypoints.forget_directory_listings()
    # Changed just now (racy): forgotten every time until its mtime is old enough.
    assert on_path.forgotten == 3
    os.utime(folder, ns=(old + 1, old + 1))
    entrypoints.forget_directory_listings()
    entrypoints.forget_directory_listings()
    assert on_path.forgotten == 4


def test_a_folder_that_cannot_be_read_is_always_forgotten(tmp_path: Path, monkeypatch: Any) -> None:
    from modloader._discovery import entrypoints

    gone = str(tmp_path / "gone")
    finder = CountingFinder()
    monkeypatch.syspath_prepend(gone)
    monkeypatch.setitem(sys.path_importer_cache, gone, finder)
    entrypoints.forget_directory_listings()
    entrypoints.forget_directory_listings()
    assert finder.forgotten == 2


def test_entry_points_with_extras_load_as_importlib_metadata_loads_them(
    fake_distributions: FakeSite, modloader_host: Any
) -> None:
    # ``module:attr [extras]``: the extras name optional dependencies; loading ignores them.
    fake_distributions.add(
        "dist-extras",
        "1.0",
        entry_points={
            "extras.test": {
                "res_class": "extras_pkg.mods:Mod [fast]",
                "res_module": "extras_pkg.plain [fast, small]",
            }
        },
        files={
            "extras_pkg/__init__.py": "",
            "extras_pkg/mods.py": "class Mod:\n    description = 'a class'\n",
            "extras_pkg/plain.py": "description = 'a module'\n",
        },
    )
    host = modloader_host(namespace="extras.test")
    assert [(m.name, m.state, m.description) for m in host.list_modules()] == [
        ("res_class", "running", "a class"),
        ("res_module", "running", "a module"),
    ]
    host.unload("res_module")
    host.unload("res_class")
    # Their code is dropped (so their module names were read right), and loads afresh.
    assert not [name for name in sys.modules if name.startswith("extras_pkg")]
    assert host.load("res_module").name == "res_module"
    assert host.load("res_class").name == "res_class"


def test_a_name_one_distribution_publishes_twice_is_a_conflict_naming_both_entry_points(
    fake_distributions: FakeSite, modloader_host: Any
) -> None:
    fake_distributions.add(
        "dist-twice",
        "1.0",
        entry_points={"twice.test": {"res_x": "twice_pkg:A", "RES_X": "twice_pkg:B"}},
        files={"twice_pkg/__init__.py": "class A:\n    pass\nclass B:\n    pass\n"},
    )
    host = modloader_host(namespace="twice.test")
    assert host.get_module("res_x").last_error == (
        "module name is published more than once by one distribution: "
        "dist-twice 1.0 (RES_X = twice_pkg:B), dist-twice 1.0 (res_x = twice_pkg:A)"
    )
