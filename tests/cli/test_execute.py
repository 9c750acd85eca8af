"""``modloader -n NS -C FILE -x CMD`` in a subprocess, over real installed distributions.

Every plugin distribution of :mod:`tests._plugins` is laid once per module in a
folder put on the subprocess's ``PYTHONPATH``; each scenario reads its own
namespace, so the runs do not see each other's modules. The plugins write what
happened to them to a trace file, so the start and stop order of the real
command can be read back. Startup messages go to stderr through logging.
"""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from modloader.testing import make_distribution
from tests import _plugins as p


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("site-packages")
    p.install_all(functools.partial(make_distribution, folder))
    return folder


def _command() -> list[str]:
    """The console script of this environment, else the same entry point through -c."""
    script = Path(sys.executable).with_name("modloader")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from modloader._cli import main; raise SystemExit(main())"]


_LOG_LINE = re.compile(r"^\[[^\]]*\] (?P<level>[A-Z]+): (?P<message>.*)$")


@dataclass(frozen=True, slots=True)
class Run:
    code: int
    out: str
    err: str
    trace: list[str]
    trace_exists: bool

    @property
    def messages(self) -> list[str]:
        """Startup's log messages (stderr without the time stamp and level)."""
        found = (_LOG_LINE.match(line) for line in self.err.splitlines())
        return [m["message"] for m in found if m]

    def events(self, kind: str) -> list[str]:
        return [line.split()[1] for line in self.trace if line.split()[0] == kind]

    def lifecycle(self) -> list[str]:
        """``load``/``unload`` lines in order."""
        return [line for line in self.trace if line.split()[0] in ("load", "unload")]

    def json(self) -> Any:
        return json.loads(self.out)


@pytest.fixture
def modloader(site: Path, tmp_path: Path) -> Any:
    """``modloader(namespace, conf_text, *arguments, env=)``: run it; ``conf`` None: no ``-C``."""
    runs = iter(range(1000))

    def run(
        namespace: str | None, conf: str | None, *arguments: str, env: dict[str, str] | None = None
    ) -> Run:
        number = next(runs)
        trace = tmp_path / f"trace-{number}.log"
        environ = {k: v for k, v in os.environ.items() if not k.upper().startswith("MODLOADER_")}
        environ.update(
            PYTHONPATH=str(site),
            MODLOADER_CACHE_DIR=str(tmp_path / "cache"),
            XDG_CONFIG_HOME=str(tmp_path / "config-home"),
            **{p.TRACE_VAR: str(trace)},
        )
        environ.update(env or {})
        argv = [*_command()]
        if namespace is not None:
            argv += ["-n", namespace]
        if conf is not None:
            argv += ["-C", str(p.write_conf(tmp_path / f"modules-{number}.conf", conf))]
        done = subprocess.run(
            [*argv, *arguments],
            env=environ,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        return Run(done.returncode, done.stdout, done.stderr, p.read_trace(trace), trace.exists())

    return run


def show_rows(output: str) -> dict[str, str]:
    """``module show`` text: name -> status."""
    lines = output.splitlines()
    assert lines[0].split() == [
        "Module",
        "Description",
        "Use",
        "Count",
        "Status",
        "Support",
        "Level",
    ]
    assert re.fullmatch(r"\d+ modules loaded", lines[-1])
    rows = {line[:30].strip(): line[83:94].strip() for line in lines[1:-1]}
    assert lines[-1] == f"{len(rows)} modules loaded"
    return rows


# -- directives and order ----------------------------------------------------------------


@pytest.mark.parametrize("autoload", [True, False], ids=["autoload-default", "autoload-no"])
def test_every_directive(modloader: Any, autoload: bool) -> None:
    conf = p.DIRECTIVES_CONF if autoload else "autoload = no\n" + p.DIRECTIVES_CONF
    run = modloader("itest.directives", conf, "-x", "module show")
    assert run.code == 0, run.err
    auto = ["res_a", "res_b"] if autoload else []
    # The preload entries start first, then the explicit entries, then the autoloaded ones.
    started = ["res_pre", "res_prereq", "res_listed", "res_req", *auto]
    assert run.lifecycle() == [f"load {n}" for n in started] + [
        f"unload {n}" for n in reversed(started)
    ]
    # noload'ed (before or after its load line) and left-out modules are never imported.
    assert sorted(run.events("import")) == sorted(started)
    assert show_rows(run.out) == {
        **{n: "Running" for n in auto},
        "RES_LISTED.so": "Running",
        "res_pre": "Running",
        "res_prereq.SO": "Running",
        "Res_Req": "Running",
    }


def test_environment_replaces_the_file_lists(modloader: Any) -> None:
    env = {"MODLOADER_AUTOLOAD": "no", "MODLOADER_NOLOAD": "res_never"}
    run = modloader("itest.directives", p.DIRECTIVES_CONF, "-x", "help", env=env)
    assert run.code == 0, run.err
    # MODLOADER_NOLOAD replaces the file's noload lines: its load lines apply again.
    assert run.events("load") == p.DIRECTIVES_ENV_STARTS


def test_default_config_path(modloader: Any, tmp_path: Path) -> None:
    conf = tmp_path / "config-home" / "modloader" / "itest.order" / "modules.conf"
    conf.parent.mkdir(parents=True)
    p.write_conf(conf, "autoload = no\nload = p50\nload = a_auto")
    run = modloader("itest.order", None, "-x", "module show")
    assert run.code == 0, run.err
    assert run.events("load") == ["p50", "a_auto"]


def test_start_order(modloader: Any) -> None:
    run = modloader("itest.order", p.ORDER_CONF, "-x", "module show")
    assert run.code == 0, run.err
    assert run.events("load") == p.ORDER_STARTS
    assert run.events("unload") == p.ORDER_STARTS[::-1]


def test_preload_entries_start_before_the_others(modloader: Any) -> None:
    run = modloader("itest.preload", "preload = needs_lib\nnoload = broken_pre", "-x", "help")
    assert run.code == 0, run.err
    # lib (priority 200) is pulled forward by the preload entry that requires it as LIB.so;
    # early (priority 1) is not preloaded.
    assert run.events("load") == ["lib", "needs_lib", "early"]


@pytest.mark.parametrize(
    "conf",
    [
        pytest.param("autoload = no\nnoload = a_auto", id="autoload-no"),
        pytest.param(
            "\n".join(f"noload = {pl.name.upper()}.so" for pl in p.SCENARIOS["itest.order"]),
            id="all-noloaded",
        ),
    ],
)
def test_modules_left_out_are_never_imported(modloader: Any, conf: str) -> None:
    run = modloader("itest.order", conf, "-x", "module show")
    assert run.code == 0, run.err
    assert show_rows(run.out) == {}
    assert not run.trace_exists


def test_load_works_for_a_noloaded_module(modloader: Any) -> None:
    run = modloader("itest.directives", p.DIRECTIVES_CONF, "-x", "module load res_never")
    assert (run.code, run.out) == (0, "Loaded res_never\n")
    assert run.events("load")[-1] == "res_never"
    assert run.events("unload")[0] == "res_never"  # stopped first: started last


# -- dependencies ------------------------------------------------------------------------


def test_dependency_rules(modloader: Any) -> None:
    run = modloader("itest.deps", p.DEPS_CONF, "--json", "-x", "module show")
    assert run.code == 0, run.err
    assert run.events("load") == p.DEPS_STARTS
    for message in p.DEPS_MESSAGES:
        assert message in run.messages
    assert "res_off" not in run.events("import")
    rows = {m["name"]: m for m in run.json()["data"]["modules"]}
    assert rows["target"]["holders"] == ["a_user", "zz_enhancer"]
    assert rows["opt_present"]["holders"] == ["opt_user"]
    assert rows["opt_declining"]["use_count"] == 0
    assert rows["child_one"]["last_error"] == "dependency 'declines' declined to load"
    assert {n for n, m in rows.items() if m["state"] == "running"} == set(p.DEPS_STARTS) - {
        "declines",
        "opt_declining",
    }


def test_dependency_left_out_by_autoload_no(modloader: Any) -> None:
    run = modloader("itest.deps", p.DEPS_LISTED_CONF, "-x", "module show")
    assert run.code == 0, run.err
    assert p.UNLISTED_MESSAGE in run.messages
    assert run.events("load") == ["target", "a_user"]
    assert sorted(run.events("import")) == ["a_user", "needs_unlisted", "target"]
    assert show_rows(run.out) == {
        "a_user": "Running",
        "needs_unlisted": "Not Running",
        "target": "Running",
    }


# -- results -----------------------------------------------------------------------------


def test_every_result_text(modloader: Any) -> None:
    run = modloader("itest.results", "", "-v", "-x", "module show")  # -v: the summary too
    assert run.code == 0, run.err
    assert show_rows(run.out) == {
        name: "Running" if error is None else "Not Running"
        for name, error in p.RESULTS_ERRORS.items()
    }
    for name, error in p.RESULTS_ERRORS.items():
        if error is not None:
            assert f"{name} declined to load." in run.messages
            # The reason once: as raised ("X: load() raised E: ..."), or as the decline's.
            said = [m for m in run.messages if m.startswith(f"{name}: ") and m.endswith(error)]
            assert said in ([f"{name}: {error}"], [f"{name}: import() raised {error}"]) or said == [
                f"{name}: load() raised {error}"
            ], said
    assert run.messages[-2] == "Some non-required modules failed to load."
    assert re.fullmatch(r"2 modules running, 6 not running \(\d+ ms\)", run.messages[-1])
    assert sorted(run.events("unload")) == ["ok_none", "ok_success"]


def test_every_result_json(modloader: Any) -> None:
    run = modloader("itest.results", "", "--json", "-x", "module show")
    assert run.code == 0, run.err
    reply = run.json()
    assert (reply["command"], reply["ok"], reply["data"]["count"]) == ("module show", True, 8)
    rows = {m["name"]: m for m in reply["data"]["modules"]}
    assert {n: m["last_error"] for n, m in rows.items()} == p.RESULTS_ERRORS
    assert rows["ok_none"]["state"] == "running"
    assert rows["raises"]["state"] == "declined"
    assert {(m["version"], m["distribution"]) for m in rows.values()} == {
        ("1.0", f"itest_results-{n}") for n in rows
    }


def test_failure_aborts_with_status_2_and_unwinds(modloader: Any) -> None:
    run = modloader("itest.failure", "", "-x", "module show")
    assert run.code == 2
    assert run.out == ""  # the command never ran
    assert "*** Failed to load module fails" in run.messages
    assert "modloader: startup failed: *** Failed to load module fails" in run.err.splitlines()
    assert run.lifecycle() == [
        "load first",
        "load second",
        "load fails",
        "unload second",
        "unload first",
    ]


@pytest.mark.parametrize(
    ("namespace", "conf", "message", "unloaded"),
    [
        pytest.param(
            "itest.failure",
            "load = first\nrequire = ghost",
            "*** Failed to load module ghost - Required",
            None,
            id="required-missing",
        ),
        pytest.param(
            "itest.results",
            "autoload = no\nload = ok_none\nrequire = decl_exc\nload = ok_success",
            "*** Failed to load required module decl_exc",
            ["ok_none"],
            id="required-declines",
        ),
        pytest.param(
            "itest.deps",
            "autoload = no\nload = target\nload = declines\nrequire = child_one",
            "Cannot load required module child_one that depends on declines",
            ["target"],
            id="required-dependency-declined",
        ),
        pytest.param(
            "itest.conflict",
            "require = RES_DUP.so",
            "*** Failed to load module RES_DUP.so - Required",
            None,
            id="required-conflict",
        ),
    ],
)
def test_required_problems_exit_2(
    modloader: Any, namespace: str, conf: str, message: str, unloaded: list[str] | None
) -> None:
    run = modloader(namespace, conf, "-x", "module show")
    assert run.code == 2
    assert message in run.messages
    assert f"modloader: startup failed: {message}" in run.err.splitlines()
    if unloaded is None:  # checked before anything is imported
        assert not run.trace_exists
    else:
        assert run.events("unload") == unloaded


def test_preload_require_whose_import_fails_exits_2(modloader: Any) -> None:
    run = modloader("itest.preload", "preload-require = broken_pre", "-x", "module show")
    assert run.code == 2
    assert "*** Failed to load required module broken_pre" in run.messages


# -- exit status 1 -----------------------------------------------------------------------


def test_configuration_error_exits_1_and_starts_nothing(modloader: Any, tmp_path: Path) -> None:
    conf = "load = late\nautoload = maybe\npreload_require = x\nrequire = late\nnoload = LATE.so"
    run = modloader("itest.order", conf, "-x", "module show")
    assert (run.code, run.out) == (1, "")
    assert not run.trace_exists
    path = tmp_path / "modules-0.conf"
    # Every error at once, each with its file and line ([modules] is line 1).
    assert run.err.splitlines() == [
        "modloader: configuration error, nothing was started:",
        f"  {path}:3: Invalid value 'maybe' for 'autoload': "
        "expected yes/true/y/t/1/on or no/false/n/f/0/off (any case)",
        f"  {path}:4: Unknown configuration option 'preload_require' "
        "(did you mean 'preload-require'?)",
        f"  {path}:6: LATE.so is configured with 'require' and 'noload', this is impossible.",
    ]


def test_missing_config_file_exits_1(modloader: Any, tmp_path: Path) -> None:
    run = modloader("itest.order", None, "-C", str(tmp_path / "absent.conf"), "-x", "help")
    assert run.code == 1
    assert f"Configuration file '{tmp_path / 'absent.conf'}' does not exist" in run.err
    assert not run.trace_exists


@pytest.mark.parametrize(
    ("arguments", "complaint"),
    [
        pytest.param(("--no-such-option",), "unrecognized arguments", id="unknown-option"),
        pytest.param(("-c", "-x", "help"), "-x and -c cannot be combined", id="x-with-c"),
        pytest.param(("-x",), "expected one argument", id="x-without-command"),
    ],
)
def test_usage_error_exits_1(modloader: Any, arguments: tuple[str, ...], complaint: str) -> None:
    run = modloader("itest.order", None, *arguments)
    assert run.code == 1
    assert complaint in run.err
    assert run.err.startswith("usage: modloader")
    assert not run.trace_exists


@pytest.mark.parametrize(
    ("command", "output"),
    [
        pytest.param(
            "module unload nope",
            "Unload failed, 'nope' could not be found\nUnable to unload resource nope\n"
            "Command 'module unload nope' failed.\n",
            id="failed-command",
        ),
        pytest.param(
            "module show like", "Usage: module show [like <keyword>]\n", id="command-usage"
        ),
    ],
)
def test_failed_command_exits_1_after_a_clean_stop(
    modloader: Any, command: str, output: str
) -> None:
    run = modloader("itest.order", "autoload = no\nload = late", "-x", command)
    assert (run.code, run.out) == (1, output)
    assert run.lifecycle() == ["load late", "unload late"]


def test_a_module_command_runs_through_x(modloader: Any) -> None:
    run = modloader("itest.order", "autoload = no\nload = late", "-x", "ITEST hello there")
    assert (run.code, run.out) == (0, "hello from late there\n")
    assert run.lifecycle() == ["load late", "unload late"]


def test_core_stop_now_through_x_does_not_unload(modloader: Any) -> None:
    run = modloader("itest.order", "autoload = no\nload = late", "-x", "core stop now")
    assert (run.code, run.out) == (0, "Stopping now.\n")
    assert run.lifecycle() == ["load late"]


# -- module show -------------------------------------------------------------------------


def test_module_show_table(modloader: Any) -> None:
    run = modloader("itest.show", "", "-x", "module show")
    assert run.code == 0, run.err
    assert run.out == p.SHOW_TABLE + "\n"
    assert p.DEPRECATED_WARNING in run.messages
    assert not [m for m in run.messages if "'refuser' is deprecated" in m]  # it never ran


def test_module_show_json(modloader: Any) -> None:
    run = modloader("itest.show", "", "--json", "-x", "module show like USER")
    assert run.code == 0, run.err
    reply = run.json()
    assert reply["output"].splitlines()[-1] == "2 modules loaded"  # refuser and user
    refuser, row = reply["data"]["modules"]
    assert {k: refuser[k] for k in ("name", "state", "status", "last_error")} == {
        "name": "refuser",
        "state": "declined",
        "status": "Not Running",
        "last_error": "not configured",
    }
    assert {k: row[k] for k in ("name", "state", "version", "distribution", "last_error")} == {
        "name": "user",
        "state": "running",
        "version": "2.5",
        "distribution": "itest_show-user",
        "last_error": None,
    }
    assert (row["requires"], row["use_count"], row["support_level"]) == (
        ["described"],
        0,
        "unknown",
    )


def test_output_that_stdout_cannot_encode(modloader: Any) -> None:
    run = modloader("itest.unicode", "", "-x", "module show", env={"PYTHONIOENCODING": "ascii"})
    assert "Traceback" not in run.err
    assert run.code == 0
    assert run.out.splitlines()[1].startswith("res_cafe ")


def test_two_distributions_publishing_one_name(modloader: Any) -> None:
    run = modloader("itest.conflict", "", "--json", "-x", "module show")
    assert run.code == 0, run.err
    assert run.events("import") == ["res_solo"]  # neither publisher of res_dup is imported
    rows = {m["name"]: m for m in run.json()["data"]["modules"]}
    assert (rows["res_dup"]["status"], rows["res_solo"]["status"]) == ("Not Running", "Running")
    prefix = "module name is published by more than one distribution: "
    error = rows["res_dup"]["last_error"]
    assert error.startswith(prefix)
    assert sorted(error.removeprefix(prefix).split(", ")) == ["dup-one 1.0", "dup-two 2.0"]
    assert f"res_dup: {error}" in run.messages


def test_a_warm_run_imports_nothing_it_does_not_use(modloader: Any, tmp_path: Path) -> None:
    """The startup path stays light: no stevedore, importlib.metadata or pydantic (the scan
    and the configuration have caches), no dataclasses (which brings inspect and ast), no
    pathlib (which brings urllib.parse and ipaddress)."""
    heavy = {
        "dataclasses",
        "inspect",
        "ast",
        "pathlib",
        "stevedore",
        "importlib.metadata",
        "pydantic",
    }
    conf = str(p.write_conf(tmp_path / "modules.conf", p.ORDER_CONF))
    trace = {"PYTHONPROFILEIMPORTTIME": "1"}
    runs = [
        modloader("itest.order", None, "-C", conf, "-x", "module show", env=trace) for _ in range(2)
    ]
    assert all(run.code == 0 for run in runs), runs[-1].err
    imported = {
        line.rpartition("|")[2].strip()
        for line in runs[-1].err.splitlines()
        if line.startswith("import time:")
    }
    assert "modloader._host" in imported  # the trace is there
    assert imported.isdisjoint(heavy), sorted(imported & heavy)
