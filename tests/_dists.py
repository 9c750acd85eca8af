"""Real installed distributions for tests, made two ways, cheapest first.

1. :func:`make_dist` writes a distribution straight into a folder the way an
   installer leaves it: ``NAME-VERSION.dist-info/`` (``METADATA``,
   ``entry_points.txt``, ``RECORD``, ``top_level.txt``, ``INSTALLER``) next to
   the package files. Put the folder on ``sys.path`` (:func:`run_python` does it
   for a subprocess) and ``importlib.metadata`` finds a real distribution.
   :func:`remove_dist` and :func:`upgrade_dist` change it in place, as
   ``pip uninstall`` and ``pip install -U`` would. A few milliseconds each.
   They call ``importlib.invalidate_caches()``, so this process sees the change
   too (``monkeypatch.syspath_prepend(site)``); code it already imported stays
   in ``sys.modules`` until dropped, as in a real host.

2. :class:`Venv` is a real virtual environment with modloader installed from
   this repository (``pip install -e``), into which :meth:`Venv.install`
   pip-installs project folders such as ``example_plugins/res_hello``. No
   network is used: the venv sees the test environment's third-party packages
   through a ``.pth`` file pointing at a filtered mirror of its site-packages
   (modloader itself and every distribution publishing a ``modloader.*``
   entry-point group are left out, so the venv starts with no plugins), and
   builds use the test environment's setuptools (``--no-build-isolation``).
   The first venv of a test run costs two to three seconds (the editable
   install); each further one is a copy of that template (about 0.1 s). Each
   project is built into a wheel once per session (:class:`WheelCache`, about
   0.1 s a project); an install is then one pip run (1.5 to 2 s for any number
   of projects). :func:`clone_project` makes a changed copy to upgrade to.

Fixtures (register with ``pytest_plugins = ["_dists"]`` in ``tests/conftest.py``,
or import the ``*_fixture`` functions into a test module): ``dist_site`` (an
empty folder for :func:`make_dist`), ``venv`` (a fresh :class:`Venv`) and
``venv_template`` (the session's template; do not install into it).
"""

from __future__ import annotations

import configparser
import hashlib
import importlib
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Mapping
from pathlib import Path

import pytest

from modloader.testing import dist_info_name
from modloader.testing import installed_distributions
from modloader.testing import make_distribution
from modloader.testing import remove_distribution

__all__ = [
    "EXAMPLE_PLUGINS",
    "REPO",
    "Venv",
    "WheelCache",
    "build_and_install",
    "clone_project",
    "copy_venv",
    "create_venv",
    "dist_info_name",
    "make_dist",
    "normalize_name",
    "remove_dist",
    "run_python",
    "upgrade_dist",
]

#: The repository root (the folder holding ``pyproject.toml``).
REPO = Path(__file__).resolve().parents[1]
#: The example plugin projects, one folder each.
EXAMPLE_PLUGINS = REPO / "example_plugins"

EntryPointsT = Mapping[str, Mapping[str, str]]


# -- 1. distributions written in place ---------------------------------------


def normalize_name(name: str) -> str:
    """The name as it appears in a ``.dist-info`` folder (PEP 503, then ``-`` to ``_``)."""
    return re.sub(r"[-_.]+", "_", name).lower()


def make_dist(
    site: Path,
    name: str,
    version: str,
    entry_points: EntryPointsT | None = None,
    modules: Mapping[str, str] | None = None,
    summary: str | None = None,
) -> Path:
    """Install a distribution into ``site`` (:func:`modloader.testing.make_distribution`).

    Unlike the kit's function, an existing installation of the same name is an
    error here (:func:`upgrade_dist` removes it first), so a test never
    replaces a distribution by accident.
    """
    if installed_distributions(site, name):
        raise FileExistsError(f"{name} is already installed in {site}; use upgrade_dist()")
    return make_distribution(
        site, name, version, entry_points=entry_points, files=modules, summary=summary
    )


def remove_dist(site: Path, name: str) -> None:
    """Uninstall ``name`` from ``site`` as pip does (:func:`modloader.testing.remove_distribution`).

    Raises :class:`FileNotFoundError` if it is not installed there.
    """
    if not remove_distribution(site, name):
        raise FileNotFoundError(f"{name} is not installed in {site}")


def upgrade_dist(
    site: Path,
    name: str,
    version: str,
    entry_points: EntryPointsT | None = None,
    modules: Mapping[str, str] | None = None,
    summary: str | None = None,
) -> Path:
    """Replace the installed ``name`` with ``version`` in place (uninstall, then install)."""
    remove_dist(site, name)
    return make_dist(site, name, version, entry_points, modules, summary)


def run_python(
    code: str,
    *,
    path_entries: Iterable[Path | str] = (),
    env: Mapping[str, str] | None = None,
    python: Path | str = sys.executable,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """Run ``code`` with ``python -c`` and the given folders first on ``sys.path``.

    ``env`` replaces the environment (default: this process's), except that
    ``PYTHONPATH`` is set to ``path_entries``. Output is captured as text;
    the exit status is not checked (look at ``returncode``).
    """
    environ = dict(os.environ if env is None else env)
    entries = [str(p) for p in path_entries]
    if entries:
        environ["PYTHONPATH"] = os.pathsep.join(entries)
    else:
        environ.pop("PYTHONPATH", None)
    environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    return subprocess.run(
        [str(python), "-c", code],
        env=environ,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


# -- 2. real virtual environments ---------------------------------------------


class Venv:
    """A virtual environment made by :func:`create_venv`."""

    def __init__(self, path: Path, wheels: WheelCache | None = None) -> None:
        #: The environment's folder.
        self.path = path
        #: Its interpreter.
        self.python = path / "bin" / "python"
        #: Where pip installs into.
        self.site_packages = _venv_site_packages(path)
        #: Built wheels shared by the session's venvs (``None``: build every time).
        self.wheels = wheels

    def __repr__(self) -> str:
        return f"<Venv {self.path}>"

    def pip(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run ``pip`` in this environment, offline; raise with pip's output if it fails."""
        cmd = [str(self.python), "-m", "pip", "--disable-pip-version-check", "--no-input", *args]
        env = dict(os.environ, PIP_NO_INDEX="1", PIP_NO_WARN_SCRIPT_LOCATION="1")
        env.pop("PYTHONPATH", None)
        proc = subprocess.run(
            cmd, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
        if proc.returncode:
            raise RuntimeError(
                f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
            )
        return proc

    def install(self, *project_dirs: Path, editable: bool = False) -> None:
        """pip-install project folders (one pip run), upgrading any installed version.

        Each project is built into a wheel once per session (:class:`WheelCache`),
        so installing it again in another venv costs only pip's install step.
        """
        if editable or self.wheels is None:
            for project_dir in project_dirs:
                build_and_install(project_dir, self, editable=editable)
            return
        wheels = self.wheels.build(*project_dirs)
        # --force-reinstall: as for a project folder, an equal version is replaced too.
        self.pip("install", "--no-deps", "--no-index", "--force-reinstall", *map(str, wheels))

    def uninstall(self, dist_name: str) -> None:
        """``pip uninstall -y DIST``."""
        self.pip("uninstall", "-y", dist_name)

    def run(
        self, code: str, *, env: Mapping[str, str] | None = None, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        """Run ``code`` with this environment's interpreter (see :func:`run_python`)."""
        return run_python(code, env=env, python=self.python, timeout=timeout)


def _venv_site_packages(path: Path) -> Path:
    found = sorted(path.glob("lib/python3*/site-packages"))
    if len(found) != 1:
        raise RuntimeError(f"{path} is not a POSIX virtual environment")
    return found[0]


class WheelCache:
    """Wheels of project folders, built once each; keyed by the folder's content."""

    _SKIP = ("build", "dist", "__pycache__", ".pytest_cache")

    def __init__(self, folder: Path, python: Path | str = sys.executable) -> None:
        self.folder = folder
        self.python = python
        self.folder.mkdir(parents=True, exist_ok=True)

    def _key(self, project_dir: Path) -> str:
        digest = hashlib.sha256()
        for path in sorted(project_dir.rglob("*")):
            rel = path.relative_to(project_dir)
            if any(part in self._SKIP or part.endswith(".egg-info") for part in rel.parts):
                continue
            if path.is_file():
                digest.update(rel.as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
        return f"{project_dir.name}-{digest.hexdigest()[:16]}"

    def build(self, *project_dirs: Path) -> list[Path]:
        """The wheel of each project, building the missing ones (all in one subprocess)."""
        keys = [self._key(p) for p in project_dirs]
        missing = {k: p for p, k in zip(project_dirs, keys, strict=True) if not self._wheel(k)}
        if missing:
            self._build(missing)
        wheels = [self._wheel(k) for k in keys]
        return [w for w in wheels if w is not None]

    def _wheel(self, key: str) -> Path | None:
        found = sorted((self.folder / key).glob("*.whl"))
        return found[0] if found else None

    def _build(self, projects: Mapping[str, Path]) -> None:
        # setuptools' PEP 517 backend, as pip calls it, but in one process for
        # all the projects: about 0.1 s a wheel instead of 1.5 s through pip.
        # Each is built from a copy, so the source tree gets no build/ or
        # *.egg-info and two builds of one project never share a folder.
        with tempfile.TemporaryDirectory(dir=self.folder) as tmp:
            jobs = []
            for key, project_dir in projects.items():
                src = Path(tmp) / key
                shutil.copytree(
                    project_dir, src, ignore=shutil.ignore_patterns(*self._SKIP, "*.egg-info")
                )
                jobs.append([str(src), str(self.folder / key)])
            proc = subprocess.run(
                [str(self.python), "-c", _BUILD_WHEELS, json.dumps(jobs)],
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
        if proc.returncode:
            raise RuntimeError(f"building wheels failed:\n{proc.stdout}\n{proc.stderr}")


_BUILD_WHEELS = """
import contextlib, io, json, os, sys
from setuptools import build_meta
for src, out in json.loads(sys.argv[1]):
    os.chdir(src)
    log = io.StringIO()
    try:
        with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
            build_meta.build_wheel(out)
    except BaseException:
        sys.stderr.write(f"building {src} failed:\\n{log.getvalue()}")
        raise
"""


def build_and_install(project_dir: Path, venv: Venv, *, editable: bool = False) -> None:
    """Build ``project_dir`` with the test environment's setuptools and install it into ``venv``."""
    args = ["install", "--no-deps", "--no-build-isolation", "--no-index"]
    if editable:
        args.append("-e")
    venv.pip(*args, str(project_dir))


def clone_project(
    project_dir: Path,
    dest: Path,
    *,
    version: str | None = None,
    files: Mapping[str, str] | None = None,
) -> Path:
    """Copy a project folder to ``dest``, optionally changing its version and some files.

    ``version`` replaces the ``version = "..."`` line of ``pyproject.toml``;
    ``files`` maps paths relative to the project to their new text. Install the
    copy over the original to test an upgrade as pip performs it.
    """
    shutil.copytree(
        project_dir, dest, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__")
    )
    if version is not None:
        pyproject = dest / "pyproject.toml"
        text, count = re.subn(
            r'(?m)^version = "[^"]*"$', f'version = "{version}"', pyproject.read_text()
        )
        if count != 1:
            raise ValueError(f"{pyproject} has no single 'version = \"...\"' line")
        pyproject.write_text(text)
    for rel, text in (files or {}).items():
        (dest / rel).write_text(text, encoding="utf-8")
    return dest


def _plugin_dists(site: Path) -> set[str]:
    """Entries of ``site`` that belong to modloader or publish a ``modloader.*`` group."""
    skip = set()
    for info in site.glob("*.dist-info"):
        name = info.name.split("-")[0]
        groups = []
        eps = info / "entry_points.txt"
        if eps.is_file():
            parser = configparser.ConfigParser(interpolation=None)
            parser.optionxform = str  # type: ignore[assignment,method-assign]
            parser.read_string(eps.read_text(encoding="utf-8"))
            groups = parser.sections()
        if normalize_name(name) != "modloader" and not any(
            g.startswith("modloader.") for g in groups
        ):
            continue
        skip.add(info.name)
        record = info / "RECORD"
        if record.is_file():
            for line in record.read_text(encoding="utf-8").splitlines():
                top = line.split("/", 1)[0].split(",", 1)[0]
                if top and not top.startswith(".."):
                    skip.add(top)
    return skip


def _mirror_site_packages(mirror: Path) -> None:
    """Symlink the test environment's third-party packages into ``mirror``, plugins left out."""
    mirror.mkdir(parents=True)
    sites = dict.fromkeys(Path(sysconfig.get_path(k)) for k in ("purelib", "platlib"))
    for site in sites:
        if not site.is_dir():
            continue
        skip = _plugin_dists(site)
        for entry in sorted(site.iterdir()):
            name = entry.name
            if (
                name in skip
                or name.endswith(".pth")
                or name.startswith("__editable__")
                or name == "__pycache__"
                or (mirror / name).exists()
            ):
                continue
            (mirror / name).symlink_to(entry)


def create_venv(path: Path, *, python: Path | str = sys.executable) -> Venv:
    """Create a venv at ``path`` with modloader installed editable from this repository."""
    subprocess.run([str(python), "-m", "venv", "--without-pip", str(path)], check=True)
    venv = Venv(path)
    mirror = path / "parent-site-packages"
    _mirror_site_packages(mirror)
    # A .pth line appends the mirror after the venv's own site-packages, so what
    # pip installs into the venv wins over what the test environment has.
    (venv.site_packages / "_modloader_test_parent.pth").write_text(f"{mirror}\n")
    build_and_install(REPO, venv, editable=True)
    return venv


def copy_venv(template: Venv, path: Path) -> Venv:
    """A copy of ``template`` at ``path``, its own paths rewritten (scripts, ``.pth``)."""
    shutil.copytree(template.path, path, symlinks=True)
    old, new = str(template.path), str(path)
    pth = path / template.site_packages.relative_to(template.path) / "_modloader_test_parent.pth"
    for file in [pth, *(path / "bin").iterdir()]:
        if file.is_symlink() or not file.is_file():
            continue
        try:
            text = file.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        if old in text:
            file.write_text(text.replace(old, new), encoding="utf-8")
    return Venv(path, template.wheels)


def _has_build_backend() -> str | None:
    """Why pip cannot build here, or ``None``.

    Builds run without isolation (offline), so the test environment's
    setuptools builds modloader; its ``license = "MIT"`` needs setuptools 77.
    """
    try:
        version = importlib.metadata.version("setuptools")
    except importlib.metadata.PackageNotFoundError:
        return "setuptools is not installed in the test environment"
    if int(version.split(".")[0]) < 77:
        return f"setuptools {version} is too old to build modloader (need >= 77)"
    return None


# -- fixtures -------------------------------------------------------------------


@pytest.fixture(name="dist_site")
def dist_site_fixture(tmp_path: Path) -> Path:
    """An empty folder to :func:`make_dist` into and put on a subprocess's ``sys.path``."""
    site = tmp_path / "site"
    site.mkdir()
    return site


@pytest.fixture(name="venv_template", scope="session")
def venv_template_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Venv]:
    """The session's venv with modloader installed; copy it (``venv``) before changing it."""
    reason = _has_build_backend()
    if reason:
        pytest.skip(reason)
    venv = create_venv(tmp_path_factory.mktemp("venv-template") / "venv")
    venv.wheels = WheelCache(tmp_path_factory.mktemp("wheels"))
    yield venv


@pytest.fixture(name="venv")
def venv_fixture(venv_template: Venv, tmp_path: Path) -> Venv:
    """A fresh venv with modloader and no plugins, to ``install`` example plugins into."""
    return copy_venv(venv_template, tmp_path / "venv")
