"""The machinery that makes real installed distributions for the rest of the suite."""

import importlib
import json
import time
import tomllib

import pytest

from tests._dists import EXAMPLE_PLUGINS
from tests._dists import REPO
from tests._dists import clone_project
from tests._dists import copy_venv
from tests._dists import dist_info_name
from tests._dists import dist_site_fixture  # noqa: F401
from tests._dists import make_dist
from tests._dists import remove_dist
from tests._dists import run_python
from tests._dists import upgrade_dist
from tests._dists import venv_fixture  # noqa: F401
from tests._dists import venv_template_fixture  # noqa: F401

# The *_fixture imports give this module dist_site, venv and venv_template.

GROUP = "modloader.test"

# Prints {name: [value, dist name, version, summary]} for the group, as JSON.
LIST_GROUP = f"""
import importlib.metadata as m, json
print(json.dumps({{
    ep.name: [ep.value, ep.dist.name, ep.dist.version, ep.dist.metadata["Summary"]]
    for ep in m.entry_points(group={GROUP!r})
}}))
"""


def listed(site, **kwargs):
    proc = run_python(LIST_GROUP, path_entries=[site], **kwargs)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def make_res_x(site, version="1.0", answer=1):
    return make_dist(
        site,
        "res-x",
        version,
        entry_points={GROUP: {"res_x": "res_x_pkg:Module"}},
        modules={"res_x_pkg/__init__.py": f"class Module:\n    answer = {answer}\n"},
        summary=f"Res X, release {version}",
    )


def test_a_made_distribution_is_found_with_version_and_summary(dist_site):
    info = make_res_x(dist_site)
    assert info == dist_site / "res_x-1.0.dist-info"
    assert listed(dist_site) == {
        "res_x": ["res_x_pkg:Module", "res-x", "1.0", "Res X, release 1.0"]
    }


def test_the_entry_point_imports_from_the_site(dist_site):
    make_res_x(dist_site, answer=42)
    code = f"""
import importlib.metadata as m
(ep,) = m.entry_points(group={GROUP!r}, name="res_x")
print(ep.load().answer)
"""
    proc = run_python(code, path_entries=[dist_site])
    assert (proc.returncode, proc.stdout.strip()) == (0, "42"), proc.stderr


def test_metadata_files_are_those_an_installer_writes(dist_site):
    info = make_res_x(dist_site)
    assert sorted(p.name for p in info.iterdir()) == [
        "INSTALLER",
        "METADATA",
        "RECORD",
        "entry_points.txt",
        "top_level.txt",
    ]
    assert (info / "top_level.txt").read_text() == "res_x_pkg\n"
    record = (info / "RECORD").read_text().splitlines()
    assert record[-1] == "res_x-1.0.dist-info/RECORD,,"
    paths = [line.split(",")[0] for line in record]
    assert "res_x_pkg/__init__.py" in paths
    assert all(line.count(",") == 2 for line in record)
    assert all(line.split(",")[1].startswith("sha256=") for line in record[:-1])


def test_the_summary_line_is_left_out_when_none(dist_site):
    info = make_dist(dist_site, "plain", "2", entry_points={GROUP: {"plain": "plain_mod"}})
    assert "Summary" not in (info / "METADATA").read_text()
    assert listed(dist_site) == {"plain": ["plain_mod", "plain", "2", None]}


def test_single_module_files_become_top_level_names(dist_site):
    info = make_dist(dist_site, "Func.Plain", "1", modules={"func_plain.py": "x = 1\n"})
    assert info.name == dist_info_name("Func.Plain", "1") == "func_plain-1.dist-info"
    assert (info / "top_level.txt").read_text() == "func_plain\n"


def test_removal_is_seen_and_leaves_no_files(dist_site):
    make_res_x(dist_site)
    make_dist(dist_site, "other", "1", entry_points={GROUP: {"other": "other_mod"}})
    (dist_site / "res_x_pkg" / "__pycache__").mkdir()
    (dist_site / "res_x_pkg" / "__pycache__" / "__init__.cpython-311.pyc").write_bytes(b"")
    remove_dist(dist_site, "res-x")
    assert sorted(p.name for p in dist_site.iterdir()) == ["other-1.dist-info"]
    assert listed(dist_site) == {"other": ["other_mod", "other", "1", None]}


def test_removing_what_is_not_there_says_so(dist_site):
    with pytest.raises(FileNotFoundError, match="res-x is not installed in"):
        remove_dist(dist_site, "res-x")


def test_installing_twice_is_refused(dist_site):
    make_res_x(dist_site)
    with pytest.raises(FileExistsError, match="use upgrade_dist"):
        make_res_x(dist_site, version="2.0")


def test_an_upgrade_replaces_version_code_and_entry_points(dist_site):
    make_res_x(dist_site, "1.0", answer=1)
    upgrade_dist(
        dist_site,
        "res-x",
        "2.0",
        entry_points={GROUP: {"res_x": "res_x_pkg:Module", "res_x2": "res_x_pkg:Module"}},
        modules={"res_x_pkg/__init__.py": "class Module:\n    answer = 2\n"},
        summary="Res X, release 2.0",
    )
    assert [p.name for p in dist_site.glob("*.dist-info")] == ["res_x-2.0.dist-info"]
    found = listed(dist_site)
    assert found["res_x"] == ["res_x_pkg:Module", "res-x", "2.0", "Res X, release 2.0"]
    assert sorted(found) == ["res_x", "res_x2"]


@pytest.mark.parametrize("api", ["importlib.metadata", "importlib_metadata"])
def test_an_upgrade_is_seen_by_this_process(dist_site, monkeypatch, api):
    # The loader's `module load` after a pip install relies on this: same process, new files.
    metadata = importlib.import_module(api)
    monkeypatch.syspath_prepend(str(dist_site))
    make_res_x(dist_site, "1.0")
    assert metadata.version("res-x") == "1.0"
    upgrade_dist(dist_site, "res-x", "2.0", entry_points={GROUP: {"res_x": "res_x_pkg:M"}})
    assert metadata.version("res-x") == "2.0"
    assert [ep.value for ep in metadata.entry_points(group=GROUP)] == ["res_x_pkg:M"]
    remove_dist(dist_site, "res-x")
    assert list(metadata.entry_points(group=GROUP)) == []


def test_run_python_sets_the_path_and_environment(dist_site):
    code = "import os, sys; print(sys.path[1]); print(os.environ['MARK'])"
    proc = run_python(code, path_entries=[dist_site], env={"MARK": "here"})
    assert proc.stdout.splitlines() == [str(dist_site), "here"]


@pytest.mark.slow
def test_an_example_plugin_installs_into_a_fresh_venv(venv, venv_template):
    started = time.perf_counter()
    venv.install(EXAMPLE_PLUGINS / "res_hello")
    elapsed = time.perf_counter() - started
    code = """
import importlib.metadata as m, json, modloader.module
print(json.dumps([[ep.name, ep.value, ep.dist.name, ep.dist.version]
                  for ep in m.entry_points(group="modloader.demo")]))
"""
    proc = venv.run(code)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == [
        ["res_hello", "demo_res_hello:HelloModule", "modloader-demo-res-hello", "1.0.0"]
    ]
    # The template stays clean for the next test.
    proc = venv_template.run(code)
    assert json.loads(proc.stdout) == []
    assert elapsed < 30


@pytest.mark.slow
def test_pip_uninstall_in_the_venv_is_seen(venv):
    venv.install(EXAMPLE_PLUGINS / "func_plain", EXAMPLE_PLUGINS / "res_store")
    code = (
        "import importlib.metadata as m;"
        "print(sorted(e.name for e in m.entry_points(group='modloader.demo')))"
    )
    assert venv.run(code).stdout.strip() == "['func_plain', 'res_store']"
    venv.uninstall("modloader-demo-func-plain")
    assert venv.run(code).stdout.strip() == "['res_store']"


@pytest.mark.slow
def test_pip_upgrades_a_plugin_in_place_in_the_venv(venv, tmp_path):
    venv.install(EXAMPLE_PLUGINS / "res_hello")
    source = EXAMPLE_PLUGINS / "res_hello" / "demo_res_hello" / "__init__.py"
    v2 = clone_project(
        EXAMPLE_PLUGINS / "res_hello",
        tmp_path / "res_hello-2",
        version="2.0.0",
        files={"demo_res_hello/__init__.py": source.read_text().replace('"Hello"', '"Hi"')},
    )
    venv.install(v2)
    code = """
import importlib.metadata as m
from demo_res_hello import HelloModule
print(m.version("modloader-demo-res-hello"), HelloModule().greeting)
"""
    proc = venv.run(code)
    assert proc.stdout.strip() == "2.0.0 Hi", proc.stderr
    infos = sorted(p.name for p in venv.site_packages.glob("modloader_demo_res_hello-*"))
    assert infos == ["modloader_demo_res_hello-2.0.0.dist-info"]


@pytest.mark.slow
def test_every_example_plugin_installs_and_each_is_built_once(venv, venv_template, tmp_path):
    projects = example_projects()
    before = source_trees(projects)
    started = time.perf_counter()
    venv.install(*projects)
    first = time.perf_counter() - started
    proc = venv.run(
        "import importlib.metadata as m, json;"
        "print(json.dumps(sorted(e.name for e in m.entry_points(group='modloader.demo'))))"
    )
    assert json.loads(proc.stdout) == [p.name for p in projects], proc.stderr
    # A second venv installs the cached wheels: no project is built again.
    built = sorted(p.name for p in venv.wheels.folder.iterdir())
    copy_venv(venv_template, tmp_path / "again").install(*projects)
    assert sorted(p.name for p in venv.wheels.folder.iterdir()) == built
    # Builds run from copies: whatever an earlier `pip install` left in a project
    # (build/, *.egg-info) is neither read nor touched, and nothing new appears.
    assert source_trees(projects) == before, "the source tree was built in"
    print(f"installed {len(projects)} example plugins in {first:.1f} s")


# -- the example plugins and the demo's modules.conf ----------------------------


def source_trees(projects):
    """Every path under ``projects`` with its modification time, bytecode aside."""
    return {
        path: path.stat().st_mtime_ns
        for project in projects
        for path in project.rglob("*")
        if "__pycache__" not in path.parts
    }


def example_projects():
    return sorted(p for p in EXAMPLE_PLUGINS.iterdir() if (p / "pyproject.toml").is_file())


@pytest.mark.parametrize("project", example_projects(), ids=lambda p: p.name)
def test_each_example_plugin_publishes_one_module_named_as_its_folder(project):
    meta = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    assert meta["version"] == "1.0.0"
    assert len(meta["description"]) > 20
    assert list(meta["entry-points"]) == ["modloader.demo"]
    assert list(meta["entry-points"]["modloader.demo"]) == [project.name]
    assert (project / "README.md").is_file()
    assert any((project / "tests").glob("test_*.py"))


def test_demo_conf_names_only_example_plugins():
    names = {p.name for p in example_projects()}
    conf = (REPO / "framework" / "modloader" / "demo.conf").read_text()
    directives = []
    for line in conf.splitlines():
        key, sep, value = line.split(";", 1)[0].partition("=")
        if sep:
            directives.append((key.strip(), value.strip()))
    assert directives == [
        ("autoload", "yes"),
        ("preload", "res_store"),
        ("require", "res_hello"),
        ("load", "app_echo"),
        ("noload", "res_unwanted"),
    ]
    assert {value for key, value in directives if key != "autoload"} <= names
