"""What ships: the wheel holds the ``modloader`` package and its metadata, nothing else.

The wheel is built once per test run, without build isolation (so offline),
from a copy of the source tree (so the build writes nothing into the checkout
and no stale ``build/`` folder can leak files into it).
"""

from __future__ import annotations

import ast
import configparser
import email
import importlib.metadata
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "framework" / "modloader"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
#: What the build reads from the checkout.
BUILD_INPUTS = ["pyproject.toml", "MANIFEST.in", "README.md", "LICENSE", "framework"]
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build")

#: The package is the same on every interpreter: build and check it once (on the newest).
pytestmark = pytest.mark.slow


def _unmet_build_requirement() -> str | None:
    """Why this interpreter cannot build the wheel without isolation, or ``None``."""
    try:
        from packaging.requirements import Requirement
    except ImportError:
        return "the 'build' package (and its 'packaging' dependency) is not installed"
    for text in ["build", *PYPROJECT["build-system"]["requires"]]:
        requirement = Requirement(text)
        try:
            found = importlib.metadata.version(requirement.name)
        except importlib.metadata.PackageNotFoundError:
            return f"building the wheel needs {text}, which is not installed"
        if not requirement.specifier.contains(found, prereleases=True):
            return f"building the wheel needs {text}; {found} is installed"
    return None


def _source_version() -> str:
    """``__version__`` as ``framework/modloader/_version.py`` spells it."""
    tree = ast.parse((SOURCE / "_version.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and [
            target.id for target in node.targets if isinstance(target, ast.Name)
        ] == ["__version__"]:
            return str(ast.literal_eval(node.value))
    raise AssertionError("_version.py does not assign __version__")


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    reason = _unmet_build_requirement()
    if reason:
        pytest.skip(reason)
    tree = tmp_path_factory.mktemp("source")
    for name in BUILD_INPUTS:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, tree / name, ignore=IGNORED)
        elif (ROOT / name).exists():
            shutil.copy2(ROOT / name, tree / name)
    out = tmp_path_factory.mktemp("dist")
    command = [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", out, tree]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"the wheel did not build:\n{done.stdout}\n{done.stderr}"
    (built,) = out.glob("*.whl")
    return built


@pytest.fixture(scope="session")
def names(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        return archive.namelist()


@pytest.fixture(scope="session")
def dist_info(wheel: Path) -> str:
    name, version = wheel.name.split("-")[:2]
    return f"{name}-{version}.dist-info/"


def _read(wheel: Path, member: str) -> str:
    with zipfile.ZipFile(wheel) as archive:
        return archive.read(member).decode("utf-8")


def test_wheel_holds_only_the_package_and_its_metadata(names, dist_info):
    strays = [name for name in names if not name.startswith(("modloader/", dist_info))]
    assert strays == []


def test_wheel_holds_every_file_of_the_package(names):
    shipped = {name.removeprefix("modloader/") for name in names if name.startswith("modloader/")}
    source = {
        path.relative_to(SOURCE).as_posix()
        for path in SOURCE.rglob("*")
        if path.is_file()
        and "__pycache__" not in path.parts
        and path.suffix != ".pyc"
        # A tool's cache made inside the package (mypy run from its folder) is not source.
        and not any(part.startswith(".") for part in path.relative_to(SOURCE).parts)
    }
    assert sorted(source - shipped) == []
    assert sorted(shipped - source) == []


def test_wheel_marks_the_package_typed(names):
    assert "modloader/py.typed" in names


@pytest.mark.skipif(
    not (SOURCE / "demo.conf").exists(), reason="framework/modloader/demo.conf is not written yet"
)
def test_wheel_ships_the_demo_configuration(names):
    assert "modloader/demo.conf" in names


def test_wheel_ships_the_demo_settings_files_beside_it(names):
    for name in ("chan_declines", "res_config_reload", "res_hello"):
        assert f"modloader/{name}.conf" in names


def test_version_is_defined_in_one_place(wheel):
    version = _source_version()
    metadata = email.message_from_string(_read(wheel, f"modloader-{version}.dist-info/METADATA"))
    assert metadata["Version"] == version
    assert wheel.name.startswith(f"modloader-{version}-")
    assert "version" in PYPROJECT["project"]["dynamic"]
    assert "version" not in PYPROJECT["project"]
    assignment = re.compile(r"^__version__\s*[:=]", re.MULTILINE)
    elsewhere = [
        path.relative_to(ROOT).as_posix()
        for path in sorted(SOURCE.rglob("*.py"))
        if path.name != "_version.py" and assignment.search(path.read_text(encoding="utf-8"))
    ]
    assert elsewhere == []


def test_installed_version_matches_the_source():
    from modloader._version import __version__

    assert __version__ == _source_version()
    assert importlib.metadata.version("modloader") == __version__


def test_wheel_installs_the_modloader_command(wheel, dist_info):
    entry_points = configparser.ConfigParser()
    entry_points.read_string(_read(wheel, f"{dist_info}entry_points.txt"))
    assert dict(entry_points["console_scripts"]) == {"modloader": "modloader._cli:main"}
