"""``modloader --check`` and ``Host.check()``: everything validated, no ``load()`` called."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from modloader import CheckReport
from modloader.pytest_plugin import FakeSite
from tests.settings.conftest import NAMESPACE
from tests.settings.conftest import HostMaker

FRAMEWORK = Path(__file__).resolve().parents[2] / "framework"


def run_check(site: Path, conf: Path, *extra: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "MYAPP_"))}
    environ.update(env, PYTHONPATH=os.pathsep.join([str(site), str(FRAMEWORK)]))
    return subprocess.run(
        [sys.executable, "-m", "modloader", "-n", NAMESPACE, "-C", str(conf), "--check", *extra],
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_python_check_calls_no_load(make_host: HostMaker, conf_dir: Path) -> None:
    conf = conf_dir / "res_store.conf"
    conf.write_text("[general]\ncapacity = lots\n")
    host = make_host(start=False)
    report = host.check()
    assert isinstance(report, CheckReport)
    assert not report.ok and report.exit_code == 1
    assert [str(e) for e in report.errors] == [
        f"{conf}:2: res_store: 'capacity': Input should be a valid integer, unable to parse "
        "string as an integer, got 'lots'"
    ]
    assert report.modules == ("res_noreload", "res_plain", "res_store")
    assert report.with_settings == ("res_noreload", "res_store")
    assert sys.modules["itest_settings_store"].LOADS == []
    conf.write_text("[general]\ncapacity = 3\n")
    assert host.check().ok


def test_check_reports_a_bad_modules_conf(make_host: HostMaker, conf_dir: Path) -> None:
    (conf_dir / "modules.conf").write_text("[modules]\nlaod = res_store\n")
    report = make_host(start=False).check()
    assert [e.message for e in report.errors] == [
        "Unknown configuration option 'laod' (did you mean 'load'?)"
    ]


def test_check_reports_a_required_module_that_is_not_installed(
    make_host: HostMaker, conf_dir: Path
) -> None:
    (conf_dir / "modules.conf").write_text("[modules]\nrequire = res_stor\n")
    (error,) = make_host(start=False).check().errors
    assert str(error) == "res_stor: not installed (did you mean 'res_store'?)"


def test_the_command_exits_1_with_every_error_and_starts_nothing(
    fake_distributions: FakeSite, make_host: HostMaker, conf_dir: Path, tmp_path: Path
) -> None:
    (conf_dir / "res_store.conf").write_text("[general]\ncapacity = lots\n[limts]\n")
    trace = tmp_path / "trace"
    done = run_check(
        fake_distributions.path,
        conf_dir / "modules.conf",
        ITEST_LOAD_TRACE=str(trace),
        MODLOADER_RES_STORE__LABLE="x",
    )
    assert done.returncode == 1, done.stderr
    assert done.stdout == "check FAILED (2 errors): 3 modules would start, 2 with settings\n"
    conf = conf_dir / "res_store.conf"
    assert done.stderr.splitlines() == [
        f"error: {conf}:2: res_store: 'capacity': Input should be a valid integer, "
        "unable to parse string as an integer, got 'lots'",
        f"error: {conf}:3: res_store: 'peers.limts.host' is required",
        "warning: MODLOADER_RES_STORE__LABLE: res_store: names no setting: unknown field "
        "'lable' (did you mean 'label'?); ignored",
    ]
    assert not trace.exists()


def test_the_command_escapes_control_characters_of_the_files_it_quotes(
    fake_distributions: FakeSite, conf_dir: Path
) -> None:
    """A file's text went to the terminal raw under --check (an escape sequence could
    clear the screen or retitle the window); every other output escapes it."""
    (conf_dir / "modules.conf").write_text("[modules]\nlod\x1b[2J = x\n#x\x07\n")
    (conf_dir / "res_store.conf").write_text("[gen\x1b]0;x\x07]\n")
    done = run_check(fake_distributions.path, conf_dir / "modules.conf")
    assert done.returncode == 1
    assert "\x1b" not in done.stderr and "\x07" not in done.stderr
    assert "Unknown configuration option 'lod\\x1b[2J'" in done.stderr


def test_the_command_exits_0_when_all_is_well(
    fake_distributions: FakeSite, make_host: HostMaker, conf_dir: Path
) -> None:
    (conf_dir / "res_store.conf").write_text("[general]\ncapacity = 2\n")
    done = run_check(fake_distributions.path, conf_dir / "modules.conf", "--json")
    assert done.returncode == 0, done.stderr
    assert '"ok": true' in done.stdout


@pytest.mark.parametrize("declared", [False, True], ids=["none-declare", "one-declares"])
def test_pydantic_is_imported_only_for_a_module_that_declares_settings(
    fake_distributions: FakeSite, tmp_path: Path, declared: bool
) -> None:
    attr = "settings_model = S\n" if declared else ""
    code = f"class M:\n    {attr or 'pass'}\n    def load(self, ctx):\n        pass\n"
    if declared:
        code = (
            "from modloader import ModuleSettings\nclass S(ModuleSettings):\n    x: int = 1\n"
            + code
        )
    fake_distributions.add(
        "itest-warm",
        entry_points={"itest.warm": {"mod_a": "itest_warm:M"}},
        files={"itest_warm/__init__.py": code},
    )
    conf = tmp_path / "modules.conf"
    conf.write_text("[modules]\nautoload = yes\n")
    probe = (
        "import json, sys\n"
        "from modloader import Host\n"
        f"h = Host('itest.warm', config_path={str(conf)!r})\n"
        "h.start()\n"
        "assert h.is_running('mod_a'), h.get_module('mod_a')\n"
        "heavy = {'pydantic', 'pydantic_settings'}\n"
        "print(json.dumps(any(m.split('.')[0] in heavy for m in sys.modules)))\n"
    )
    environ = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    environ["PYTHONPATH"] = os.pathsep.join([str(fake_distributions.path), str(FRAMEWORK)])

    def run() -> bool:
        done = subprocess.run(
            [sys.executable, "-c", probe], env=environ, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        return bool(done.stdout.strip() == "true")

    run()  # cold: modules.conf is validated (and cached) with pydantic
    assert run() is declared


def test_a_required_module_with_invalid_settings_exits_2(
    fake_distributions: FakeSite, make_host: HostMaker, conf_dir: Path
) -> None:
    (conf_dir / "modules.conf").write_text("[modules]\nrequire = res_store\n")
    (conf_dir / "res_store.conf").write_text("[general]\ncapacity = lots\n")
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "MYAPP_"))}
    environ["PYTHONPATH"] = os.pathsep.join([str(fake_distributions.path), str(FRAMEWORK)])
    conf = str(conf_dir / "modules.conf")
    done = subprocess.run(
        [sys.executable, "-m", "modloader", "-n", NAMESPACE, "-C", conf, "-x", "module show"],
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert (
        f"res_store: invalid settings: {conf_dir / 'res_store.conf'}:2: 'capacity'" in done.stderr
    )
    assert "modloader: startup failed: *** Failed to load required module res_store" in done.stderr


def test_check_warns_of_a_noload_that_names_no_installed_module(
    make_host: HostMaker, conf_dir: Path
) -> None:
    """As startup does: a misspelt noload is what a check is for."""
    (conf_dir / "modules.conf").write_text("[modules]\nnoload = res_stor\n")
    report = make_host(start=False).check()
    assert report.ok
    assert [str(w) for w in report.warnings] == [
        f"{conf_dir / 'modules.conf'}:2: noload = res_stor: no module of that name is installed "
        "in 'itest.settings' (did you mean 'res_store' or 'res_noreload'?)"
    ]


def test_check_warns_of_settings_for_no_module(
    make_host: HostMaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MYAPP_RES_STOR__CAPACITY", "3")
    monkeypatch.setenv("MYAPP_CACHE_DIR", "/tmp")  # no '__': not a module setting
    report = make_host(start=False, module_settings={"res_stoer": {"capacity": 1}}).check()
    assert report.ok
    assert [str(w) for w in report.warnings] == [
        "<code>: settings given for 'res_stoer', which is not a module with settings "
        "(did you mean 'res_store'?)",
        "MYAPP_RES_STOR__CAPACITY: names no module with settings (did you mean 'res_store'?)",
    ]


def test_an_applications_own_command_checks_with_its_factory(
    make_host: HostMaker,
    conf_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import modloader

    made: list[dict[str, object]] = []

    def factory(namespace: str, **options: object) -> modloader.Host:
        made.append(options)
        return modloader.Host(namespace, **options)  # type: ignore[arg-type]

    elsewhere = tmp_path / "settings"
    elsewhere.mkdir()
    (elsewhere / "res_store.conf").write_text("[general]\ncapacity = lots\n")
    monkeypatch.setenv("MYAPP_RES_NORELOAD__LEVEL", "2")

    def app(*argv: str) -> int:
        return modloader.main(
            list(argv),
            prog="myapp",
            namespace=NAMESPACE,
            default_config_path=conf_dir / "modules.conf",
            env_prefix="MYAPP_",
            host_factory=factory,
        )

    assert app("--check") == 0
    out, err = capsys.readouterr()
    assert (out, err) == ("check OK: 3 modules would start, 2 with settings\n", "")
    assert "config_dir" not in made[-1]
    assert app("--check", "--config-dir", str(elsewhere)) == 1
    out, err = capsys.readouterr()
    assert made[-1]["config_dir"] == str(elsewhere)
    assert out == "check FAILED (1 error): 3 modules would start, 2 with settings\n"
    assert err == (
        f"error: {elsewhere / 'res_store.conf'}:2: res_store: 'capacity': Input should be a "
        "valid integer, unable to parse string as an integer, got 'lots'\n"
    )
    assert sys.modules["itest_settings_store"].LOADS == []


#: A module whose import does what ``IMPORT_DOES`` says: wait while a file exists, or raise.
IMPORTED_CODE = """
import os
import time

what = os.environ.get("IMPORT_DOES", "")
if os.environ.get("IMPORT_STARTED"):
    open(os.environ["IMPORT_STARTED"], "w").close()
deadline = time.monotonic() + 30
while what.startswith("wait ") and os.path.exists(what[5:]) and time.monotonic() < deadline:
    time.sleep(0.01)
if what.startswith("raise "):
    raise eval(what[6:])


class Imported:
    if what.startswith("model-waits "):  # reading settings_model is its code too

        @property
        def settings_model(self):
            while os.path.exists(what[12:]) and time.monotonic() < deadline:
                time.sleep(0.01)

    def load(self, ctx):
        pass
"""


@pytest.fixture
def imported(fake_distributions: FakeSite) -> Iterator[FakeSite]:
    """``res_imported``: a real distribution whose import obeys ``IMPORT_DOES``."""
    fake_distributions.add(
        "itest-imported",
        entry_points={NAMESPACE: {"res_imported": "itest_imported:Imported"}},
        files={"itest_imported/__init__.py": IMPORTED_CODE},
    )
    yield fake_distributions
    sys.modules.pop("itest_imported", None)


def _check_while_it_hangs(
    make_host: HostMaker, monkeypatch: pytest.MonkeyPatch, gate: Path, does: str
) -> None:
    """Check with ``res_imported`` hanging (``IMPORT_DOES`` = ``does`` on ``gate``) until
    ``gate`` is removed: an import error at the limit, and the others checked."""
    gate.touch()
    monkeypatch.setenv("IMPORT_DOES", f"{does} {gate}")
    host = make_host(start=False, module_timeout=0.3)
    began = time.monotonic()
    report = host.check()
    assert time.monotonic() - began < 5  # not the 30 s the import would take
    assert [str(e) for e in report.errors] == [
        "res_imported: cannot be imported: its import did not finish within 0.3 s"
    ]
    # The modules after it were checked all the same.
    assert report.modules == ("res_noreload", "res_plain", "res_store")


def test_a_module_whose_import_hangs_is_an_error_at_the_time_limit(
    imported: FakeSite,
    make_host: HostMaker,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    gate = tmp_path / "gate"
    try:
        _check_while_it_hangs(make_host, monkeypatch, gate, "wait")
    finally:
        gate.unlink()
    deadline = time.monotonic() + 10
    while "stopped waiting" not in caplog.text and time.monotonic() < deadline:
        time.sleep(0.01)
    assert "res_imported: its import returned" in caplog.text
    assert "after the check stopped waiting for it (returned)" in caplog.text


def test_a_settings_model_that_hangs_when_read_is_an_import_error_at_the_time_limit(
    imported: FakeSite, make_host: HostMaker, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    gate = tmp_path / "gate"
    try:
        _check_while_it_hangs(make_host, monkeypatch, gate, "model-waits")
    finally:
        gate.unlink()


@pytest.mark.parametrize("raised", ["KeyboardInterrupt()", "SystemExit(3)", "GeneratorExit()"])
def test_a_module_whose_import_raises_anything_is_an_error(
    imported: FakeSite, make_host: HostMaker, monkeypatch: pytest.MonkeyPatch, raised: str
) -> None:
    monkeypatch.setenv("IMPORT_DOES", f"raise {raised}")
    report = make_host(start=False).check()  # a report, not the module's exception
    name = raised.partition("(")[0]
    (error,) = report.errors
    assert str(error).startswith(f"res_imported: cannot be imported: {name}")
    assert report.modules == ("res_noreload", "res_plain", "res_store")


def test_the_command_reports_a_hanging_import_and_exits_1(
    imported: FakeSite, make_host: HostMaker, conf_dir: Path, tmp_path: Path
) -> None:
    gate = tmp_path / "gate"
    gate.touch()
    began = time.monotonic()
    done = run_check(
        imported.path,
        conf_dir / "modules.conf",
        "--module-timeout",
        "0.5",
        IMPORT_DOES=f"wait {gate}",
    )
    assert time.monotonic() - began < 20  # the process ends: the import's thread is left
    assert done.returncode == 1, done.stderr
    assert "error: res_imported: cannot be imported: its import did not finish within 0.5 s" in (
        done.stderr.splitlines()
    )
    assert done.stdout == "check FAILED (1 error): 3 modules would start, 2 with settings\n"


def test_ctrl_c_stops_the_check_at_once_and_says_so(
    imported: FakeSite, conf_dir: Path, tmp_path: Path
) -> None:
    gate, started = tmp_path / "gate", tmp_path / "started"
    gate.touch()
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "MYAPP_"))}
    environ.update(
        PYTHONPATH=os.pathsep.join([str(imported.path), str(FRAMEWORK)]),
        IMPORT_DOES=f"wait {gate}",
        IMPORT_STARTED=str(started),
    )
    conf = str(conf_dir / "modules.conf")
    proc = subprocess.Popen(
        [sys.executable, "-m", "modloader", "-n", NAMESPACE, "-C", conf, "--check"],
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not started.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert started.exists()  # the check is waiting for the module's import
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    finally:
        proc.kill()
        gate.unlink(missing_ok=True)
    assert proc.returncode == 130
    assert err == "check interrupted\n"
    assert out == ""
