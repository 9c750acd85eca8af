"""A testing kit for module publishers and app authors.

* :func:`module_host` — a started host over modules given in code
  (:class:`~modloader.StaticDiscovery`), or over the real entry points of a
  namespace restricted to the names you list; nothing is pip-installed.
* :func:`check_lifecycle` — asserts a module loads, reloads and unloads
  cleanly: nothing left in ``sys.modules``, no registration left behind,
  every reference it took released.
* :func:`module_object` — the object a running module's entry point gave
  (what ``host.use(name).obj`` is), without taking a reference.
* :func:`make_distribution` — lays a real ``*.dist-info`` distribution (with
  entry points and code) in a folder, for tests that need
  ``importlib.metadata`` to see an installed plugin.
* :func:`project_distribution` — the same from a project folder's own
  ``pyproject.toml`` (name, version, description, entry points), so a test
  discovers the module through the entry points its publisher wrote.

The pytest plugin (:mod:`modloader.pytest_plugin`, registered through the
``pytest11`` entry point) wraps these as the ``modloader_host`` and
``fake_distributions`` fixtures.
"""

from __future__ import annotations

import csv
import importlib
import sys
import tomllib
from collections.abc import Iterable
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from modloader._config.model import ModuleEntry
from modloader._config.model import ModulesConfig
from modloader._discovery.static import StaticDiscovery
from modloader._host import Host
from modloader._hostargs import check_flag
from modloader._hostargs import check_name
from modloader._names import name_key
from modloader._registry.calls import DEFAULT_TIMEOUT
from modloader._registry.record import ModuleRecord
from modloader._registry.refs import ModuleHandle
from modloader.errors import ModuleNotRunningError

__all__ = [
    "LifecycleReport",
    "check_lifecycle",
    "dist_info_name",
    "installed_distributions",
    "make_distribution",
    "module_host",
    "module_object",
    "project_distribution",
    "remove_distribution",
]


def module_host(
    modules: Mapping[str, Any] | None = None,
    *,
    namespace: str = "modloader.testing",
    load: Iterable[str] = (),
    require: Iterable[str] = (),
    noload: Iterable[str] = (),
    autoload: bool = True,
    builtins: Mapping[str, Any] | None = None,
    start: bool = True,
    module_settings: Mapping[str, Mapping[str, Any]] | None = None,
    config_dir: str | Path | None = None,
    env_prefix: str = "MODLOADER_",
    hookspecs: Iterable[Any] | None = None,
    strict_hooks: bool = False,
    module_timeout: float | None = DEFAULT_TIMEOUT,
) -> Host:
    """A host for tests.

    With ``modules`` (name -> class, instance or Python module), discovery is
    in memory. Without, the host reads the installed entry points of
    ``namespace`` (use ``load=[...]`` with ``autoload=False`` to pick some).

    Settings: ``module_settings`` gives values from code (module name ->
    values), ``config_dir`` is the folder of the modules' ``<name>.conf``
    files (none by default: only code, the environment under ``env_prefix``
    and the defaults count).
    ``hookspecs`` (and ``strict_hooks``) declare the app's hooks, as the app's
    own host does, so ``host.hook.<name>(...)`` calls the module under test.
    ``module_timeout``: how long a module's call may run (a test of a module
    that hangs gives it a second, say).
    """
    load, require, noload = (
        _name_list(param, value)
        for param, value in (("load", load), ("require", require), ("noload", noload))
    )
    check_flag("module_host", "autoload", autoload)
    dropped = {name_key(n) for n in noload}
    entries = [ModuleEntry(n) for n in load] + [ModuleEntry(n, required=True) for n in require]
    entries = [e for e in entries if name_key(e.name) not in dropped]
    config = ModulesConfig(autoload=autoload, entries=tuple(entries), noload=tuple(noload))
    discovery = StaticDiscovery(namespace, modules) if modules is not None else None
    host = Host(
        namespace,
        discovery=discovery,
        config=config,
        builtins=builtins,
        module_settings=module_settings,
        config_dir=config_dir,
        env_prefix=env_prefix,
        hookspecs=hookspecs,
        strict_hooks=strict_hooks,
        module_timeout=module_timeout,
    )
    if start:
        host.start()
    return host


def _name_list(param: str, value: Iterable[str]) -> tuple[str, ...]:
    """Module names given to :func:`module_host` as a list (a string is not one: its
    letters would be the names)."""
    if isinstance(value, str):
        raise TypeError(
            f"module_host(): '{param}' must be a list of module names, not a str "
            f"({value!r}): write [{value!r}]"
        )
    return tuple(check_name("module_host", param, name) for name in value)


def module_object(host: Host, name: str) -> Any:
    """The object a running module's entry point gave (a class's instance, an instance, a module).

    Takes no reference, so a later ``module unload`` is not refused because of
    the test. :raises NoSuchModuleError: not in the module list.
    :raises ModuleNotRunningError: in the list but not running.
    """
    record = host._modules.get(check_name("module_object", "name", name))
    if not record.state.running or record.obj is None:
        raise ModuleNotRunningError(record.name, record.state.status)
    return record.obj


class LifecycleReport:
    """What :func:`check_lifecycle` saw; ``problems`` is empty when all was clean."""

    __slots__ = ("dropped_modules", "name", "problems", "reloaded")

    def __init__(self, name: str) -> None:
        self.name = name
        #: ``True``: ``module reload`` ran; ``None``: the module has no ``reload``.
        self.reloaded: bool | None = None
        #: The module's Python modules that were dropped from ``sys.modules``.
        self.dropped_modules: list[str] = []
        #: What was wrong; empty when all was clean.
        self.problems: list[str] = []

    def __repr__(self) -> str:
        return f"LifecycleReport({self.name!r}, problems={self.problems!r})"

    def __bool__(self) -> bool:
        return not self.problems


def check_lifecycle(
    host: Host, name: str, *, reload: bool = True, strict: bool = True
) -> LifecycleReport:
    """Unload ``name`` (and reload it first if it supports that) and check nothing is left.

    Checks: the module is running; ``module reload`` succeeds (when it has a
    ``reload``); ``module unload`` succeeds; afterwards no command or other
    registration it made is left, every reference it took on other modules
    was released, and none of its distribution's Python modules remain in
    ``sys.modules``. With ``strict`` (the default) a problem raises
    :class:`AssertionError` listing them all.
    """
    record = host._modules.find(check_name("check_lifecycle", "name", name))
    report = LifecycleReport(name)
    if record is None or not record.state.running:
        state = "not in the module list" if record is None else record.state.value
        report.problems.append(f"'{name}' is not running ({state})")
        return _finish(report, strict)
    holders_before = {
        other.name: [h for h in list(other.holders) if h.holder == record.name]
        for other in host._modules.ordered()
    }
    if reload and record.reload_hook is not None:  # as read at import, in its call
        result = host.run(f"module reload {name}")
        report.reloaded = result.ok
        if not result.ok:
            report.problems.append(f"reload failed: {result.output}")
    tops = _top_levels(host, record)
    before = {m for m in sys.modules if m.partition(".")[0] in tops}
    result = host.run(f"module unload {name}")
    if not result.ok:
        report.problems.append(f"unload failed: {result.output}")
        return _finish(report, strict)
    _check_left_behind(host, record, holders_before, report)
    _check_code_dropped(host, tops, before, report)
    return _finish(report, strict)


def _top_levels(host: Host, record: ModuleRecord) -> frozenset[str]:
    if record.candidate is None:
        return frozenset()
    return host._lifecycle.catalogue.top_level_modules(record.candidate)


def _check_left_behind(
    host: Host,
    record: ModuleRecord,
    holders_before: dict[str, list[ModuleHandle[Any]]],
    report: LifecycleReport,
) -> None:
    left_commands = [c.words for c in host._table.all() if c.owner == record.name]
    if left_commands:
        report.problems.append(f"commands left registered: {left_commands}")
    if record.registrations:
        report.problems.append(f"registrations left: {[r.what for r in record.registrations]}")
    for other_name, handles in holders_before.items():
        other = host._modules.find(other_name)
        still = [h for h in handles if other is not None and h in other.holders]
        if still:
            report.problems.append(f"references on '{other_name}' not released: {len(still)}")
    if record.given_back:  # the loader gave them back at the unload; the module did not
        report.problems.append(f"references not released: {', '.join(record.given_back)}")


def _check_code_dropped(
    host: Host, tops: frozenset[str], before: set[str], report: LifecycleReport
) -> None:
    remaining = sorted(m for m in before if m in sys.modules)
    report.dropped_modules = sorted(before - set(remaining))
    shared = any(r.state.running and tops & _top_levels(host, r) for r in host._modules.ordered())
    if remaining and not shared:
        report.problems.append(f"modules left in sys.modules: {remaining}")


def _finish(report: LifecycleReport, strict: bool) -> LifecycleReport:
    if strict and report.problems:
        raise AssertionError(
            f"module '{report.name}' did not unload cleanly: " + "; ".join(report.problems)
        )
    return report


def dist_info_name(name: str, version: str) -> str:
    """``NAME-VERSION.dist-info`` as an installer names it (PEP 503 name, ``-`` as ``_``)."""
    return f"{_normalize(name)}-{version}.dist-info"


def _normalize(name: str) -> str:
    import re

    return re.sub(r"[-_.]+", "_", name).lower()


def _record_row(site: Path, path: Path) -> list[str]:
    """``path``'s row of a ``RECORD`` (a CSV file: a path with a comma is quoted)."""
    import base64
    import hashlib

    data = path.read_bytes()
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return [path.relative_to(site).as_posix(), f"sha256={digest}", str(len(data))]


def _in_site(site: Path, rel: str) -> Path | None:
    """``site / rel`` when that names something inside ``site`` (its folders' links
    followed, the name itself not), else ``None``: an absolute path, a ``..`` out of
    it, or a path through a link to another folder."""
    if not rel or Path(rel).is_absolute():
        return None
    path = site / rel
    try:
        folder = path.parent.resolve()
    except (OSError, RuntimeError):  # a loop of links
        return None
    root = site.resolve()
    if folder != root and root not in folder.parents:
        return None
    return folder / path.name


def make_distribution(
    site: str | Path,
    name: str,
    version: str = "1.0",
    *,
    entry_points: Mapping[str, Mapping[str, str]] | None = None,
    files: Mapping[str, str] | None = None,
    summary: str | None = None,
) -> Path:
    """Install a distribution into ``site`` by writing its files; returns its ``.dist-info``.

    ``files`` maps paths relative to ``site`` (``"myplugin/__init__.py"``) to
    their text. ``entry_points`` maps a group to ``{name: "module:attr"}``.
    ``summary`` becomes the ``Summary:`` line. What an installer writes is
    written: ``METADATA``, ``entry_points.txt``, ``top_level.txt``,
    ``INSTALLER`` and a ``RECORD`` with hashes. An installed distribution of
    the same name is removed first, as ``pip install -U`` would. Put ``site``
    on ``sys.path`` (or ``PYTHONPATH`` of a subprocess) to use it.
    """
    site = Path(site)
    site.mkdir(parents=True, exist_ok=True)
    for rel in files or {}:
        if _in_site(site, rel) is None or rel.endswith("/"):
            raise ValueError(f"make_distribution(): {rel!r} is not a file path inside {site}")
    remove_distribution(site, name)
    written = []
    for rel, text in (files or {}).items():
        path = site / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    info = site / dist_info_name(name, version)
    info.mkdir()
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    if summary is not None:
        metadata += f"Summary: {summary}\n"
    meta_files = {"METADATA": metadata, "INSTALLER": "modloader.testing\n"}
    if entry_points:
        meta_files["entry_points.txt"] = "\n".join(
            "\n".join([f"[{group}]", *(f"{ep} = {value}" for ep, value in points.items())]) + "\n"
            for group, points in entry_points.items()
        )
    if files:
        tops = sorted({Path(rel).parts[0].removesuffix(".py") for rel in files})
        meta_files["top_level.txt"] = "".join(f"{top}\n" for top in tops)
    for filename, text in meta_files.items():
        (info / filename).write_text(text, encoding="utf-8")
        written.append(info / filename)
    rows = [_record_row(site, path) for path in written]
    rows.append([f"{info.name}/RECORD", "", ""])
    with (info / "RECORD").open("w", encoding="utf-8", newline="") as record:
        csv.writer(record, lineterminator="\n").writerows(rows)
    importlib.invalidate_caches()
    return info


def project_distribution(
    site: str | Path,
    project_dir: str | Path,
    *,
    version: str | None = None,
    groups: Mapping[str, str] | None = None,
) -> Path:
    """Lay the distribution that ``pip install project_dir`` would, minus the code.

    Reads ``project_dir/pyproject.toml``: ``[project]`` ``name``, ``version``
    (or ``version=`` when it is dynamic), ``description`` (the ``Summary``) and
    every ``[project.entry-points.GROUP]`` table, so discovery sees exactly the
    entry points the publisher wrote. ``groups`` publishes a group under
    another name (``{"myapp.modules": "myapp.tests"}``). No code is copied:
    the entry points import the project's packages from wherever Python finds
    them (installed, or the project folder on ``sys.path``). A distribution
    first on ``sys.path`` wins over an installed one of the same name.
    """
    pyproject = Path(project_dir) / "pyproject.toml"
    with pyproject.open("rb") as file:
        project = tomllib.load(file).get("project", {})
    if "name" not in project:
        raise ValueError(f"{pyproject}: [project] has no name")
    version = version or project.get("version")
    if not version:
        raise ValueError(f"{pyproject}: the version is dynamic; pass version=")
    renames = dict(groups or {})
    entry_points = {
        renames.get(group, group): dict(points)
        for group, points in project.get("entry-points", {}).items()
    }
    return make_distribution(
        site,
        project["name"],
        version,
        entry_points=entry_points,
        summary=project.get("description"),
    )


def installed_distributions(site: str | Path, name: str) -> list[Path]:
    """The ``.dist-info`` folders of ``name`` in ``site`` (normally zero or one)."""
    prefix = _normalize(name) + "-"
    return sorted(
        p
        for p in Path(site).glob("*.dist-info")
        if _normalize(p.name.split("-")[0]) + "-" == prefix
    )


def _remove_recorded(site: Path, path: Path) -> list[Path]:
    """Remove one file a ``RECORD`` lists, with its bytecode; returns its folders in ``site``."""
    if path.is_dir() and not path.is_symlink():  # a damaged RECORD: only files are listed
        return []
    path.unlink(missing_ok=True)
    cache = path.parent / "__pycache__"
    if path.suffix == ".py" and cache.is_dir():
        for pyc in cache.glob(f"{path.stem}.*.pyc"):
            pyc.unlink()
    return [p for p in path.parents if site in p.parents]


def _remove_if_empty(folder: Path) -> None:
    """Remove ``folder`` if nothing but bytecode is left in it."""
    if folder.is_dir() and [p.name for p in folder.iterdir()] == ["__pycache__"]:
        for pyc in (folder / "__pycache__").iterdir():
            pyc.unlink()
        (folder / "__pycache__").rmdir()
    if folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()


def remove_distribution(site: str | Path, name: str) -> bool:
    """Uninstall ``name`` from ``site`` as pip does; ``False`` when it was not there.

    The files its ``RECORD`` lists go (with their bytecode), then the folders
    left empty; files the distribution did not install are left alone, and so
    is anything outside ``site`` that a ``RECORD`` names (an absolute path, a
    ``..`` out of it: pip's scripts in ``bin/``, or a damaged ``RECORD``).
    """
    site = Path(site).resolve()
    infos = installed_distributions(site, name)
    for info in infos:
        folders = {info}
        with (info / "RECORD").open(encoding="utf-8", newline="") as record:
            for row in csv.reader(record):
                path = _in_site(site, row[0]) if row else None
                if path is not None:
                    folders.update(_remove_recorded(site, path))
        for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):
            _remove_if_empty(folder)
    if infos:
        importlib.invalidate_caches()
    return bool(infos)
