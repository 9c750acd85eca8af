"""The testing kit: fixtures over real fake distributions, and the lifecycle check."""

from __future__ import annotations

import sys
import threading
import time
from typing import Any

import pytest

from modloader.errors import ModuleNotRunningError
from modloader.errors import NoSuchModuleError
from modloader.module import ModuleDeclined
from modloader.pytest_plugin import FakeSite
from modloader.testing import check_lifecycle
from modloader.testing import make_distribution
from modloader.testing import module_host
from modloader.testing import module_object
from modloader.testing import project_distribution
from modloader.testing import remove_distribution

PLUGIN = """
class Plugin:
    description = "kit plugin"

    def load(self, ctx):
        ctx.register_command("kit ping", lambda args: "pong")
        self.handle = ctx.use("kit_base")

    def unload(self, ctx):
        self.handle.release()

    def reload(self, ctx):
        return None
"""

BASE = """
class Base:
    pass
"""


@pytest.fixture
def site(fake_distributions: FakeSite) -> FakeSite:
    fake_distributions.add(
        "kit-base",
        "1.0",
        entry_points={"kit.test": {"kit_base": "kit_base:Base"}},
        files={"kit_base/__init__.py": BASE},
        summary="Base for the kit",
    )
    fake_distributions.add(
        "kit-plugin",
        "2.0",
        entry_points={"kit.test": {"kit_plugin": "kit_plugin.mod:Plugin"}},
        files={"kit_plugin/__init__.py": "", "kit_plugin/mod.py": PLUGIN},
        summary="Kit plugin",
    )
    return fake_distributions


def test_real_distributions_load_and_unload_cleanly(site: FakeSite, modloader_host: Any) -> None:
    host = modloader_host(namespace="kit.test", load=["kit_base", "kit_plugin"], autoload=False)
    row = host.get_module("kit_plugin")
    assert (row["status"], row["version"], row["distribution"]) == ("Running", "2.0", "kit-plugin")
    assert host.get_module("kit_base")["description"] == "Base for the kit"
    assert host.run("kit ping").output == "pong"
    report = check_lifecycle(host, "kit_plugin")
    assert report.reloaded is True
    assert "kit_plugin.mod" in report.dropped_modules
    assert "kit_plugin.mod" not in sys.modules
    assert host.get_module("kit_base")["use_count"] == 0


def test_lifecycle_problems_are_reported(modloader_host: Any) -> None:
    class Stubborn:
        def unload(self, ctx: Any) -> bool:
            return False

    host = modloader_host({"stubborn": Stubborn})
    with pytest.raises(AssertionError, match="did not unload cleanly: unload failed"):
        check_lifecycle(host, "stubborn")
    report = check_lifecycle(host, "stubborn", strict=False)
    assert not report and "Firm unload failed for stubborn" in report.problems[0]


def test_references_a_module_kept_at_its_unload_are_a_lifecycle_problem() -> None:
    class Leaky:
        def load(self, ctx: Any) -> None:
            self.handles = [ctx.use("a_store"), ctx.use("a_store", holder="job")]

    host = module_host({"a_store": object, "leaky": Leaky})
    report = check_lifecycle(host, "leaky", strict=False)
    assert report.problems == ["references not released: a_store (job), a_store (leaky)"]
    assert host.get_module("a_store")["use_count"] == 0  # the loader gave them back


def test_lifecycle_of_a_module_that_is_not_running() -> None:
    host = module_host({"a": ImportError("nope")})
    report = check_lifecycle(host, "a", strict=False)
    assert report.problems == ["'a' is not running (declined)"]


def test_make_and_remove_distribution(tmp_path: Any) -> None:
    info = make_distribution(tmp_path, "my-dist", "3.1", files={"my_dist.py": "X = 1\n"})
    assert info.name == "my_dist-3.1.dist-info"
    assert (info / "top_level.txt").read_text() == "my_dist\n"
    assert remove_distribution(tmp_path, "my-dist")
    assert not (tmp_path / "my_dist.py").exists() and not info.exists()


def test_a_path_with_a_comma_is_recorded_quoted_and_removed(tmp_path: Any) -> None:
    info = make_distribution(tmp_path, "odd", files={"odd/a,b.py": "X = 1\n"})
    assert '"odd/a,b.py",sha256=' in (info / "RECORD").read_text()
    assert remove_distribution(tmp_path, "odd")
    assert list(tmp_path.iterdir()) == []


def test_a_record_naming_files_outside_the_site_removes_none_of_them(tmp_path: Any) -> None:
    site, outside = tmp_path / "site", tmp_path / "outside"
    outside.mkdir()
    (site / "linked").mkdir(parents=True)
    (site / "linked" / "ln").symlink_to(outside)
    kept = [outside / name for name in ("up.txt", "abs.txt", "via_link.txt")]
    for path in kept:
        path.write_text("keep me\n")
    info = make_distribution(site, "bad", files={"bad.py": "X = 1\n"})
    with (info / "RECORD").open("a") as record:  # a damaged (or hostile) RECORD
        record.write("../outside/up.txt,,\n")
        record.write(f"{outside / 'abs.txt'},,\n")
        record.write("linked/ln/via_link.txt,,\n")
        record.write("linked,,\n")  # a folder: only files are listed
    assert remove_distribution(site, "bad")
    assert all(path.read_text() == "keep me\n" for path in kept)
    assert not (site / "bad.py").exists() and not info.exists()
    assert (site / "linked" / "ln").is_symlink()


@pytest.mark.parametrize("rel", ["../escape.py", "ABSOLUTE", "pkg/", ""])
def test_make_distribution_writes_inside_the_site_only(tmp_path: Any, rel: str) -> None:
    site = tmp_path / "site"
    rel = str(tmp_path / "abs.py") if rel == "ABSOLUTE" else rel
    with pytest.raises(ValueError, match="is not a file path inside"):
        make_distribution(site, "esc", files={rel: "X = 1\n"})
    assert list(tmp_path.iterdir()) == [site] and list(site.iterdir()) == []


def test_module_object_takes_no_reference(modloader_host: Any) -> None:
    class Thing:
        pass

    class Declines:
        def load(self, ctx: Any) -> None:
            raise ModuleDeclined("no")

    host = modloader_host({"thing": Thing, "declines": Declines})
    assert isinstance(module_object(host, "THING.so"), Thing)
    assert host.get_module("thing")["use_count"] == 0
    with pytest.raises(ModuleNotRunningError):
        module_object(host, "declines")
    with pytest.raises(NoSuchModuleError):
        module_object(host, "ghost")


PROJECT_TOML = """
[project]
name = "kit-project"
version = "2.1.0"
description = "A project published by its pyproject"

[project.entry-points."kit.project"]
kit_proj = "kit_proj_code:Module"

[project.entry-points."other.group"]
ignored = "kit_proj_code:Module"
"""

PROJECT_CODE = """
class Module:
    description = "from the project"

    def load(self, ctx):
        ctx.register_command("proj ping", lambda args: "pong")
"""


@pytest.fixture
def project(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "pyproject.toml").write_text(PROJECT_TOML)
    (folder / "kit_proj_code.py").write_text(PROJECT_CODE)
    monkeypatch.syspath_prepend(str(folder))
    return folder


def test_project_distribution_publishes_the_pyproject_entry_points(
    project: Any, fake_distributions: FakeSite, modloader_host: Any
) -> None:
    info = fake_distributions.add_project(project)
    assert info.name == "kit_project-2.1.0.dist-info"
    host = modloader_host(namespace="kit.project")
    row = host.get_module("kit_proj")
    assert (row["status"], row["distribution"], row["version"]) == (
        "Running",
        "kit-project",
        "2.1.0",
    )
    assert host.run("proj ping").output == "pong"
    # The code is the project's own; unloading drops it from sys.modules.
    report = check_lifecycle(host, "kit_proj")
    assert report.dropped_modules == ["kit_proj_code"]


def test_project_distribution_renames_a_group_and_overrides_the_version(
    project: Any, fake_distributions: FakeSite, modloader_host: Any
) -> None:
    fake_distributions.add_project(project, version="9.0", groups={"kit.project": "kit.renamed"})
    assert modloader_host(namespace="kit.project").list_modules() == []
    row = modloader_host(namespace="kit.renamed").get_module("kit_proj")
    assert (row["status"], row["version"]) == ("Running", "9.0")
    assert fake_distributions.remove("kit-project")
    assert "kit_proj_code" in fake_distributions._tops


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('[project]\nversion = "1"\n', "has no name"),
        ('[project]\nname = "x"\ndynamic = ["version"]\n', "the version is dynamic; pass version="),
    ],
    ids=["no-name", "dynamic-version"],
)
def test_project_distribution_says_what_the_pyproject_lacks(
    tmp_path: Any, toml: str, message: str
) -> None:
    (tmp_path / "pyproject.toml").write_text(toml)
    with pytest.raises(ValueError, match=message) as info:
        project_distribution(tmp_path / "site", tmp_path)
    assert str(tmp_path / "pyproject.toml") in str(info.value)


class _Plain:
    pass


@pytest.mark.parametrize("param", ["load", "require", "noload"])
def test_module_host_takes_a_list_of_names_not_one_string(param: str) -> None:
    """``load="res_plain"`` would load the modules r, e, s, _, p ..."""
    with pytest.raises(TypeError, match=f"'{param}' must be a list of module names, not a str"):
        module_host({"res_plain": _Plain}, **{param: "res_plain"})
    with pytest.raises(TypeError, match=f"module_host\\(\\): '{param}' must be a module name"):
        module_host({"res_plain": _Plain}, **{param: ["res_plain", 7]})
    host = module_host({"res_plain": _Plain}, autoload=False, **{param: ("res_plain",)})
    assert host.is_running("res_plain") is (param != "noload")
    host.stop()


def test_module_host_autoload_is_a_bool() -> None:
    with pytest.raises(TypeError, match=r"^module_host\(\): 'autoload' must be True or False"):
        module_host({"res_plain": _Plain}, autoload="no")  # type: ignore[arg-type]


def test_helpers_name_a_wrong_module_name() -> None:
    host = module_host({"res_plain": _Plain})
    with pytest.raises(TypeError, match=r"^module_object\(\): 'name' must be a module name"):
        module_object(host, 3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^check_lifecycle\(\): 'name' must not be empty"):
        check_lifecycle(host, " ")
    host.stop()


def test_check_lifecycle_reads_the_module_object_only_in_its_calls() -> None:
    """Whether to reload is what the contract read at import said: the module's
    attributes (a property is its code) are not read again from the test's thread."""
    reads: list[str] = []

    class Counted:
        @property
        def reload(self) -> Any:
            reads.append(threading.current_thread().name)
            return lambda ctx: None

    host = module_host({"res_counted": Counted})
    report = check_lifecycle(host, "res_counted")
    assert report.reloaded is True and not report.problems
    assert len(reads) == 1 and reads[0] != threading.current_thread().name
    host.stop()


def test_a_test_host_takes_the_time_limit_of_a_module_s_calls() -> None:
    class Hangs:
        def load(self, ctx: Any) -> None:
            time.sleep(5)

    started = time.monotonic()
    host = module_host({"hangs": Hangs}, module_timeout=0.2)
    assert host.module_timeout == 0.2
    assert host.get_module("hangs")["state"] == "timed-out"
    assert time.monotonic() - started < 4
    host.stop()
    with pytest.raises(ValueError, match="'module_timeout' must be more than 0 seconds"):
        module_host({}, module_timeout=0)
