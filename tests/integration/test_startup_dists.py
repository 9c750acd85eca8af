"""Startup through the Python API over real installed distributions and a real modules.conf.

The same rules as ``tests/registry/test_startup.py`` (in memory), here found by
``importlib.metadata`` in ``.dist-info`` folders, chosen by a modules.conf file
read by ``Host(namespace, config_path=...)``. Each plugin writes to a trace
file what happened to it (see :mod:`tests._plugins`).
"""

from __future__ import annotations

import dataclasses
import functools
import warnings
from collections.abc import Callable
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from modloader import ConfigError
from modloader import Host
from modloader import HostState
from modloader import StartupError
from modloader.pytest_plugin import FakeSite
from modloader.testing import make_distribution
from tests import _plugins as p

StartT = Callable[..., Host]

#: Python 3.12+ warns when discovery reads a metadata field a distribution lacks (most of
#: these plugins have no Summary); test_metadata_without_summary_scans_cleanly covers that.


@pytest.fixture
def trace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "trace.log"
    monkeypatch.setenv(p.TRACE_VAR, str(path))
    return path


@pytest.fixture
def start(fake_distributions: FakeSite, tmp_path: Path, trace: Path) -> Iterator[StartT]:
    """``start(namespace, conf_text, core_init=None, run=True)``: a host over that scenario."""
    hosts: list[Host] = []
    installed: set[str] = set()

    def factory(
        namespace: str,
        conf: str,
        *,
        core_init: Callable[[Host], None] | None = None,
        run: bool = True,
    ) -> Host:
        if namespace not in installed:
            p.install(fake_distributions.add, namespace, p.SCENARIOS[namespace])
            installed.add(namespace)
        path = p.write_conf(tmp_path / f"modules-{len(hosts)}.conf", conf)
        host = Host(namespace, config_path=path)
        hosts.append(host)
        if run:
            host.start(core_init=core_init)
        return host

    yield factory
    for host in reversed(hosts):
        host.stop()


def events(trace: Path, kind: str) -> list[str]:
    return [line.split()[1] for line in p.read_trace(trace) if line.split()[0] == kind]


def statuses(host: Host) -> dict[str, str]:
    return {m["name"]: m["status"] for m in host.list_modules()}


# -- directives ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("autoload_line", "autoload"),
    [
        pytest.param("", True, id="default-yes"),
        pytest.param("autoload = yes", True, id="yes"),
        pytest.param("autoload => no", False, id="no-arrow"),
        pytest.param("autoload = no\nautoload = On", True, id="last-line-wins"),
        pytest.param("AutoLoad=N", False, id="key-any-case"),
    ],
)
def test_every_directive(start: StartT, trace: Path, autoload_line: str, autoload: bool) -> None:
    host = start("itest.directives", autoload_line + "\n" + p.DIRECTIVES_CONF)
    auto = ["res_a", "res_b"] if autoload else []
    # Preload entries first, then explicit entries in config order, then autoloaded by name.
    assert events(trace, "load") == ["res_pre", "res_prereq", "res_listed", "res_req", *auto]
    # noload wins whatever the line order; noload'ed and left-out modules are never imported.
    assert sorted(events(trace, "import")) == sorted(events(trace, "load"))
    rows = {m["name"]: m for m in host.list_modules()}
    # The module list keeps the spelling of the first line naming the module.
    assert list(rows) == [*auto, "RES_LISTED.so", "res_pre", "res_prereq.SO", "Res_Req"]
    assert {n: (m["required"], m["preload"]) for n, m in rows.items()} == {
        **{n: (False, False) for n in auto},
        "RES_LISTED.so": (False, False),
        "res_pre": (False, True),
        "res_prereq.SO": (True, True),
        "Res_Req": (True, False),
    }
    assert all(m["status"] == "Running" for m in rows.values())
    # Any spelling finds the module.
    assert host.is_running("res_listed") and host.is_running("RES_REQ.so")
    assert not host.is_running("res_never")
    assert host.config is not None and host.config.noload == (
        "res_late_noload",
        "res_early_noload",
        "res_never",
        "res_ghost",
    )
    host.stop()
    expected = ["res_pre", "res_prereq", "res_listed", "res_req", *auto]
    assert events(trace, "unload") == expected[::-1]


def test_ctx_name_is_the_entry_point_name(start: StartT, trace: Path) -> None:
    start("itest.directives", p.DIRECTIVES_CONF)
    assert [line for line in p.read_trace(trace) if line.startswith("named ")] == []


def test_a_module_command_comes_and_goes_with_its_module(start: StartT) -> None:
    host = start("itest.order", "autoload = no\nload = late")
    assert host.run("itest hello big world").output == "hello from late big world"
    assert host.run("module unload late").ok
    assert not host.run("itest hello").ok


@pytest.mark.parametrize(
    "conf",
    [
        pytest.param("autoload = no", id="autoload-no-nothing-listed"),
        pytest.param(
            "\n".join(f"noload = {pl.name}" for pl in p.SCENARIOS["itest.order"]), id="all-noloaded"
        ),
    ],
)
def test_modules_left_out_are_never_imported(start: StartT, trace: Path, conf: str) -> None:
    host = start("itest.order", conf)
    assert host.list_modules() == []
    assert not trace.exists()


def test_load_of_an_uninstalled_name_declines_it(start: StartT, trace: Path) -> None:
    host = start("itest.order", "autoload = no\nload = res_ghost\nload = late")
    assert statuses(host) == {"late": "Running", "res_ghost": "Not Running"}
    assert host.get_module("res_ghost")["last_error"] == "not installed"
    assert host.report is not None
    assert host.report.lines[:2] == ["res_ghost declined to load.", "res_ghost: not installed"]


# -- order -----------------------------------------------------------------------------


def test_start_order(start: StartT, trace: Path) -> None:
    host = start("itest.order", p.ORDER_CONF)
    assert events(trace, "load") == p.ORDER_STARTS
    # The running modules as stevedore extensions, in start order.
    assert [e.name for e in host.extensions] == p.ORDER_STARTS
    host.stop()
    assert events(trace, "unload") == p.ORDER_STARTS[::-1]


def test_preload_phase_runs_before_core_init(start: StartT, trace: Path) -> None:
    seen: list[Any] = []

    def core_init(host: Host) -> None:
        seen.append(host.state)
        with trace.open("a", encoding="utf-8") as out:
            out.write("core init\n")

    start("itest.preload", "preload = needs_lib\nnoload = broken_pre", core_init=core_init)
    lines = [line for line in p.read_trace(trace) if line.split()[0] != "import"]
    # lib (priority 200) is pulled into the preload phase by needs_lib; early (priority 1)
    # is not preloaded, so it waits for the core.
    assert lines == ["load lib", "load needs_lib", "core init", "load early"]
    assert seen == [HostState.STARTING]


def test_host_as_context_manager(fake_distributions: FakeSite, trace: Path, tmp_path: Path) -> None:
    p.install(fake_distributions.add, "itest.order", p.SCENARIOS["itest.order"])
    conf = p.write_conf(tmp_path / "modules.conf", "autoload = no\nload = b_auto\nload = a_auto")
    states = []
    with Host("itest.order", config_path=conf) as host:
        states.append(host.state)
        assert events(trace, "load") == ["b_auto", "a_auto"]
    states.append(host.state)
    assert states == [HostState.RUNNING, HostState.STOPPED]
    assert events(trace, "unload") == ["a_auto", "b_auto"]


def test_environment_replaces_the_file_lists(
    start: StartT, trace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODLOADER_AUTOLOAD", "no")
    monkeypatch.setenv("MODLOADER_NOLOAD", "res_never")
    start("itest.directives", p.DIRECTIVES_CONF)
    # The variable replaces the file's noload list: its load lines apply again.
    assert events(trace, "load") == p.DIRECTIVES_ENV_STARTS


def test_enhancer_starts_before_modules_requiring_its_target(start: StartT, trace: Path) -> None:
    start("itest.enhance", "load = pre_user")
    assert events(trace, "load")[:3] == ["pre_target", "pre_enhancer", "pre_user"]


def test_preload_pulls_dependencies_but_imports_no_other_module(start: StartT, trace: Path) -> None:
    # Finding every enhancer of a preload entry's dependencies would mean importing every
    # module before the core is initialised; preload pulls forward only what its entries
    # name (requires, enhances, optional_modules), and the enhancer starts in the load phase.
    host = start("itest.enhance", "preload = pre_user")
    assert events(trace, "load")[:3] == ["pre_target", "pre_user", "pre_enhancer"]
    assert set(events(trace, "import")[:2]) == {"pre_target", "pre_user"}
    assert host.is_running("pre_enhancer")


# -- dependencies ----------------------------------------------------------------------


def test_dependency_rules(start: StartT, trace: Path) -> None:
    host = start("itest.deps", p.DEPS_CONF)
    assert events(trace, "load") == p.DEPS_STARTS
    assert host.report is not None
    for message in p.DEPS_MESSAGES:
        assert message in host.report.lines
    running = {n for n, s in statuses(host).items() if s == "Running"}
    assert running == set(p.DEPS_STARTS) - {"declines", "opt_declining"}
    # A declined dependency declines its dependents without calling their load().
    assert host.get_module("child_two")["last_error"] == "dependency 'declines' declined to load"
    # Optional modules: present and running is referenced; absent or declined is ignored.
    assert host.get_module("opt_present")["holders"] == ["opt_user"]
    assert host.get_module("opt_declining")["use_count"] == 0
    # Requirers hold a reference on what they require; the enhancer started before a_user.
    assert host.get_module("target")["holders"] == ["a_user", "zz_enhancer"]
    assert "res_off" not in statuses(host)
    assert "res_off" not in events(trace, "import")


def test_dependency_left_out_by_autoload_no(start: StartT, trace: Path) -> None:
    host = start("itest.deps", p.DEPS_LISTED_CONF)
    assert host.report is not None
    assert p.UNLISTED_MESSAGE in host.report.lines
    assert events(trace, "load") == ["target", "a_user"]
    assert sorted(events(trace, "import")) == ["a_user", "needs_unlisted", "target"]
    assert statuses(host) == {
        "a_user": "Running",
        "needs_unlisted": "Not Running",
        "target": "Running",
    }


# -- results ---------------------------------------------------------------------------


def test_every_result(start: StartT, trace: Path) -> None:
    host = start("itest.results", "")
    errors = {m["name"]: m["last_error"] for m in host.list_modules()}
    assert errors == p.RESULTS_ERRORS
    assert host.state is HostState.RUNNING
    assert host.report is not None and (host.report.running, host.report.declined) == (2, 6)
    for name, error in p.RESULTS_ERRORS.items():
        if error is not None:
            assert f"{name} declined to load." in host.report.lines
            assert f"{name}: {error}" in host.report.lines
    # Broken code was imported (and failed); load() ran only where the import succeeded.
    assert sorted(events(trace, "import")) == sorted(p.RESULTS_ERRORS)
    assert sorted(events(trace, "load")) == [
        "decl_exc",
        "decl_result",
        "ok_none",
        "ok_success",
        "raises",
    ]


def test_failure_aborts_and_unwinds(start: StartT, trace: Path) -> None:
    host = start("itest.failure", "", run=False)
    with pytest.raises(StartupError) as caught:
        host.start()
    assert str(caught.value) == "*** Failed to load module fails"
    assert (caught.value.exit_code, caught.value.module) == (2, "fails")
    assert host.state is HostState.STOPPED
    lines = [line for line in p.read_trace(trace) if line.split()[0] != "import"]
    assert lines == ["load first", "load second", "load fails", "unload second", "unload first"]


@pytest.mark.parametrize(
    ("namespace", "conf", "message"),
    [
        pytest.param(
            "itest.failure",
            "require = ghost",
            "*** Failed to load module ghost - Required",
            id="required-missing",
        ),
        pytest.param(
            "itest.results",
            "autoload = no\nload = ok_none\nrequire = decl_exc\nload = ok_success",
            "*** Failed to load required module decl_exc",
            id="required-declines",
        ),
        pytest.param(
            "itest.results",
            "autoload = no\nload = ok_none\nrequire = bad_import",
            "*** Failed to load required module bad_import",
            id="required-import-fails",
        ),
        pytest.param(
            "itest.deps",
            "autoload = no\nload = target\nload = declines\nrequire = child_one",
            "Cannot load required module child_one that depends on declines",
            id="required-dependency-declined",
        ),
        pytest.param(
            "itest.deps",
            "autoload = no\nload = target\nrequire = needs_ghost",
            "*** Failed to load required module needs_ghost",
            id="required-dependency-missing",
        ),
        pytest.param(
            "itest.deps",
            "autoload = no\nload = target\nload = cyc_b\nrequire = cyc_a",
            "*** Failed to load required module cyc_a",
            id="required-in-a-cycle",
        ),
        pytest.param(
            "itest.conflict",
            "require = res_dup",
            "*** Failed to load module res_dup - Required",
            id="required-conflict",
        ),
    ],
)
def test_required_module_problems_abort(
    start: StartT, trace: Path, namespace: str, conf: str, message: str
) -> None:
    host = start(namespace, conf, run=False)
    with pytest.raises(StartupError) as caught:
        host.start()
    assert str(caught.value) == message
    assert caught.value.exit_code == 2
    started = events(trace, "load")
    unloaded = events(trace, "unload")
    # What had started (load() returned success) was unloaded again, in reverse.
    ran = [n for n in started if n in {"ok_none", "target"}]
    assert unloaded == ran[::-1]
    if message.endswith("- Required"):
        assert not trace.exists()  # checked before anything is imported


def test_preload_require_whose_import_fails_aborts(start: StartT, trace: Path) -> None:
    host = start("itest.preload", "preload-require = broken_pre", run=False)
    with pytest.raises(StartupError) as caught:
        host.start()
    assert str(caught.value) == "*** Failed to load required module broken_pre"


def test_preload_whose_import_fails_is_reported(start: StartT, trace: Path) -> None:
    host = start("itest.preload", "preload = broken_pre")
    assert host.report is not None
    assert "broken_pre declined to load." in host.report.lines
    assert (
        "broken_pre: ModuleNotFoundError: No module named 'itest_no_such_module_anywhere'"
        in host.report.lines
    )


# -- module show and conflicts ---------------------------------------------------------


def test_module_show_table(start: StartT, caplog: pytest.LogCaptureFixture) -> None:
    host = start("itest.show", "")
    result = host.run("module show")
    assert result.ok
    assert result.output == p.SHOW_TABLE
    assert p.DEPRECATED_WARNING in [r.getMessage() for r in caplog.records]
    table = p.SHOW_TABLE.splitlines()
    assert host.run("module show like USER").output.splitlines() == [
        table[0],
        table[3],
        table[5],
        "2 modules loaded",
    ]
    rows = {m["name"]: m for m in result.data["modules"]}
    assert result.data["count"] == 6
    assert {k: rows["user"][k] for k in ("state", "version", "distribution", "last_error")} == {
        "state": "running",
        "version": "2.5",
        "distribution": "itest_show-user",
        "last_error": None,
    }
    assert {k: rows["refuser"][k] for k in ("state", "status", "last_error")} == {
        "state": "declined",
        "status": "Not Running",
        "last_error": "not configured",
    }


def test_two_distributions_publishing_one_name(start: StartT, trace: Path) -> None:
    host = start("itest.conflict", "")
    assert statuses(host) == {"res_dup": "Not Running", "res_solo": "Running"}
    error = host.get_module("res_dup")["last_error"]
    assert error.startswith("module name is published by more than one distribution: ")
    assert sorted(error.split(": ", 1)[1].split(", ")) == ["dup-one 1.0", "dup-two 2.0"]
    assert events(trace, "import") == ["res_solo"]
    assert host.report is not None and "res_dup declined to load." in host.report.lines


def test_one_distribution_on_two_path_entries_is_no_conflict(
    start: StartT, trace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    host = start("itest.conflict", "", run=False)  # lays res_solo 1.0 in the fake site
    shadow = tmp_path / "shadow-site"
    solo = [pl for pl in p.SCENARIOS["itest.conflict"] if pl.name == "res_solo"]
    p.install(
        functools.partial(make_distribution, shadow),
        "itest.conflict",
        [dataclasses.replace(pl, version="9.0") for pl in solo],
    )
    monkeypatch.syspath_prepend(str(shadow))
    host.start()
    # As importlib.metadata does, the first copy on sys.path wins: no conflict.
    assert statuses(host) == {"res_dup": "Not Running", "res_solo": "Running"}
    assert host.get_module("res_solo")["version"] == "9.0"
    assert host.get_module("res_dup")["last_error"].count("dup-") == 2


# -- configuration errors ----------------------------------------------------------------


def test_configuration_error_starts_nothing(start: StartT, trace: Path, tmp_path: Path) -> None:
    host = start("itest.order", "load = late\nautoload = maybe\nfrobnicate = x", run=False)
    with pytest.raises(ConfigError) as caught:
        host.start()
    conf = tmp_path / "modules-0.conf"
    assert [str(issue) for issue in caught.value.issues][:1] == [
        f"{conf}:3: " + caught.value.issues[0].message
    ]
    assert {issue.line for issue in caught.value.issues} == {3, 4}
    assert caught.value.exit_code == 1
    assert host.state is HostState.STOPPED
    assert not trace.exists()


def test_metadata_without_summary_scans_cleanly(start: StartT, trace: Path) -> None:
    host = start("itest.order", "autoload = no\nload = a_auto", run=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        host.start()
    assert events(trace, "load") == ["a_auto"]
    assert host.get_module("a_auto")["description"] == "a_auto"
