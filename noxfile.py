# /// script
# requires-python = ">=3.11"
# dependencies = ["nox>=2025.2.9"]
# ///
"""The project's checks, one nox session each; CI runs them all with ``.ci/run``.

``nox`` alone runs what CI runs; ``nox -s tests-3.12 -- -k refresh`` runs one
interpreter with extra pytest arguments; ``nox -l`` lists the sessions. Every
session installs what it needs from a dependency group of ``pyproject.toml``,
so a developer's ``pip install --group dev -e .`` gets the same tools.
"""

from __future__ import annotations

import os
import re
import shutil
import tarfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent
PYPROJECT = nox.project.load_toml(ROOT / "pyproject.toml")

#: The interpreters the package supports; each gets a ``tests`` session.
PYTHONS = ["3.11", "3.12", "3.13"]
#: The one interpreter for sessions whose result does not depend on it.
DEFAULT_PYTHON = "3.12"
#: Tests marked ``slow`` build and install distributions; they run on one
#: interpreter only, the newest (a developer's own virtualenv covers the oldest).
SLOW_TESTS_PYTHON = PYTHONS[-1]
#: What ``lint`` checks (those of them that exist).
LINT_PATHS = [
    "framework",
    "tests",
    "benchmarks",
    "example_plugins",
    "examples",
    "docs",
    "noxfile.py",
]
#: The least line-and-branch coverage (percent) a whole ``tests`` run may have; it
#: measures about 89 on each interpreter, so a change that leaves new code untested
#: by a few hundred lines fails.
COVERAGE_FLOOR = 86
#: pytest's exit status when it collected no test: not a failure of the session.
NO_TESTS_COLLECTED = 5

nox.needs_version = ">=2025.2.9"
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.error_on_external_run = True
nox.options.sessions = ["lint", "typing", "tests", "integration", "docs", "build"]


def _find_pyenv_pythons() -> None:
    """Put pyenv's interpreters on PATH, the newest patch release of each version first.

    pyenv installs every version under ``$PYENV_ROOT/versions`` but its shims run
    only the versions selected with ``pyenv global``/``local``; nox looks for
    ``python3.12`` on PATH. Folders that do not exist are skipped, so this is
    harmless on machines without pyenv.
    """
    roots = [Path.home() / ".pyenv"]
    if os.environ.get("PYENV_ROOT"):
        roots.insert(0, Path(os.environ["PYENV_ROOT"]))
    if pyenv := shutil.which("pyenv"):  # <root>/bin/pyenv, wherever HOME is
        roots.append(Path(pyenv).parent.parent)
    found: list[str] = []
    for python in PYTHONS:
        pattern = re.compile(rf"{re.escape(python)}\.(\d+)")
        releases = [
            (int(match.group(1)), folder / "bin")
            for root in roots
            for folder in (root / "versions").glob(f"{python}.*")
            if (match := pattern.fullmatch(folder.name)) and (folder / "bin").is_dir()
        ]
        if releases:
            found.append(str(max(releases)[1]))
    path = os.environ.get("PATH", "").split(os.pathsep)
    os.environ["PATH"] = os.pathsep.join([*found, *(p for p in path if p not in found)])


_find_pyenv_pythons()


def _group(*names: str) -> tuple[str, ...]:
    """The requirements of the named dependency groups of ``pyproject.toml``."""
    return nox.project.dependency_groups(PYPROJECT, *names)


def _install(session: nox.Session, *projects: Path, groups: Sequence[str] = ()) -> None:
    """Install ``projects`` from source, built as wheels (not editable), and ``groups``.

    The builds run without isolation, against the union of the projects' build
    requirements installed first: an isolated build environment per
    distribution costs seconds each, and the integration session builds many.
    """
    requires: set[str] = set()
    for project in projects:
        # setuptools builds in the source tree; a build/ left by an earlier build
        # (this session's, or a `pip install .`) would put files deleted since
        # into the wheel.
        shutil.rmtree(project / "build", ignore_errors=True)
        build_system = nox.project.load_toml(project / "pyproject.toml").get("build-system", {})
        requires.update(build_system.get("requires", ["setuptools>=40.8.0"]))  # PEP 517 default
    session.install(*sorted(requires))
    session.install("--no-build-isolation", *map(str, projects), *_group(*groups))
    for project in projects:  # and the tree is left as the session found it
        shutil.rmtree(project / "build", ignore_errors=True)


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """Run the test suite under coverage against the installed package.

    The package is installed from a built wheel, not in editable mode, so the
    tests see what ships, and the whole run must cover ``COVERAGE_FLOOR`` percent
    of the package. Tests marked ``slow`` run only on the newest
    interpreter. ``tests/integration`` is left to the ``integration`` session.
    Arguments after ``--`` go to pytest.
    """
    _install(session, ROOT, groups=["test"])
    data = Path(session.virtualenv.location) / "coverage"
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir()
    env = {"COVERAGE_FILE": str(data / ".coverage")}
    marks = [] if session.python == SLOW_TESTS_PYTHON else ["-m", "not slow"]
    session.run(
        "coverage",
        "run",
        "-m",
        "pytest",
        "--ignore=tests/integration",
        *marks,
        *session.posargs,
        env=env,
        success_codes=[0, NO_TESTS_COLLECTED],
    )
    if any(data.glob(".coverage.*")):
        session.run("coverage", "combine", "--quiet", env=env)
    if _measured_files(session, data / ".coverage"):
        # The floor holds for the whole suite; a run narrowed by arguments only reports.
        floor = [] if session.posargs else [f"--fail-under={COVERAGE_FLOOR}"]
        session.run("coverage", "report", *floor, env=env)
    else:  # nothing imported modloader: no tests selected, not a failure
        session.log("No coverage data was collected.")


def _measured_files(session: nox.Session, data_file: Path) -> int:
    """How many source files the combined coverage data at ``data_file`` measured."""
    if not data_file.exists():
        return 0
    count = session.run(
        "python",
        "-c",
        "import sys, coverage; data = coverage.CoverageData(sys.argv[1]); data.read(); "
        "print(len(data.measured_files()))",
        str(data_file),
        silent=True,
    )
    return int(str(count).strip())


@nox.session(python=DEFAULT_PYTHON)
def integration(session: nox.Session) -> None:
    """Install modloader and every ``example_plugins/*`` distribution, then test them together.

    Runs ``tests/integration/`` (arguments after ``--`` go to that pytest run),
    then each example plugin's own ``tests/`` from the plugin's folder, with the
    plugin's own pytest configuration, then the example host application's
    (``examples/notes_app``) own tests.
    """
    plugins = sorted(path.parent for path in ROOT.glob("example_plugins/*/pyproject.toml"))
    _install(session, ROOT, *plugins, groups=["test"])
    if (ROOT / "tests" / "integration").is_dir():
        session.run(
            "pytest", "tests/integration", *session.posargs, success_codes=[0, NO_TESTS_COLLECTED]
        )
    else:
        session.log("There is no tests/integration folder.")
    for project in [*plugins, *sorted(p.parent for p in ROOT.glob("examples/*/pyproject.toml"))]:
        if (project / "tests").is_dir():
            with session.chdir(project):
                session.run("pytest", success_codes=[0, NO_TESTS_COLLECTED])


@nox.session(python=DEFAULT_PYTHON)
def lint(session: nox.Session) -> None:
    """Check style with ruff: lint rules, then formatting (arguments go to ``ruff check``)."""
    session.install(*_group("lint"))
    paths = [path for path in LINT_PATHS if (ROOT / path).exists()]
    session.run("ruff", "check", *session.posargs, *paths)
    session.run("ruff", "format", "--check", *paths)


@nox.session(python=DEFAULT_PYTHON)
def typing(session: nox.Session) -> None:
    """Type-check with mypy --strict: the package, this file, and ``tests/typing/`` if present.

    ``tests/typing/`` holds files of ``assert_type`` calls that pin the types
    the public API promises. Arguments after ``--`` go to mypy.
    """
    session.install(*PYPROJECT["project"]["dependencies"], *_group("typing"))
    session.run("mypy", *session.posargs)  # the package, as [tool.mypy] says
    files = ["noxfile.py"]
    if (ROOT / "tests" / "typing").is_dir():
        files.append("tests/typing")
    session.run("mypy", *session.posargs, *files)


@nox.session(python=DEFAULT_PYTHON)
def docs(session: nox.Session) -> None:
    """Build the documentation with Sphinx, failing on any warning; run its examples.

    The HTML lands in ``docs/_build/html``, the man page in ``docs/_build/man``.
    Every build starts afresh (``-E``) so that no warning hides in a cached
    page. Arguments go to the HTML build. ``tests/docs`` runs or checks every
    Python example of the pages (docs/contributing.md); the console examples
    need the demo plugins, and run in the ``integration`` session.
    """
    _install(session, ROOT, groups=["docs"])
    doctrees = "docs/_build/doctrees"
    strict = ["-W", "-n", "--keep-going", "-d", doctrees]
    session.run(
        "sphinx-build", *strict, "-E", "-b", "html", "docs", "docs/_build/html", *session.posargs
    )
    session.run("sphinx-build", *strict, "-b", "man", "docs", "docs/_build/man")
    session.run("pytest", "-p", "no:cacheprovider", "tests/docs")


@nox.session(python=DEFAULT_PYTHON)
def build(session: nox.Session) -> None:
    """Build the sdist and the wheel into ``dist/`` and check them as PyPI would.

    ``twine check --strict`` validates the metadata and README rendering; then the
    wheel must hold the ``modloader`` package, ``py.typed``, and nothing else.
    """
    session.install(*_group("build"))
    dist = ROOT / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    session.run("python", "-m", "build", "--outdir", str(dist), str(ROOT))
    session.run("twine", "check", "--strict", *sorted(str(path) for path in dist.iterdir()))
    (wheel,) = dist.glob("*.whl")
    _check_wheel(session, wheel)
    (sdist,) = dist.glob("*.tar.gz")
    _check_sdist(session, sdist)


def _check_sdist(session: nox.Session, sdist: Path) -> None:
    """Fail the session if ``sdist`` lacks the package or carries local clutter."""
    top = sdist.name.removesuffix(".tar.gz")
    with tarfile.open(sdist) as archive:
        names = archive.getnames()
    for required in ("PKG-INFO", "pyproject.toml", "framework/modloader/__init__.py"):
        if f"{top}/{required}" not in names:
            session.error(f"{sdist.name} lacks {required}")
    clutter = re.compile(r"(^|/)(\.nox|\.venv|dist|_build|__pycache__)(/|$)")
    strays = [name for name in names if clutter.search(name.removeprefix(f"{top}/"))]
    if strays:
        session.error(f"{sdist.name} holds local clutter: {', '.join(strays)}")
    session.log(f"{sdist.name}: {len(names)} entries")


def _check_wheel(session: nox.Session, wheel: Path) -> None:
    """Fail the session unless ``wheel`` holds the package and its metadata only."""
    name, version = wheel.name.split("-")[:2]
    allowed = ("modloader/", f"{name}-{version}.dist-info/")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    strays = [entry for entry in names if not entry.startswith(allowed)]
    if strays:
        session.error(f"{wheel.name} holds files outside the package: {', '.join(strays)}")
    for required in ("modloader/__init__.py", "modloader/py.typed"):
        if required not in names:
            session.error(f"{wheel.name} lacks {required}")
    session.log(f"{wheel.name}: {len(names)} files, all in modloader/ or its dist-info")
