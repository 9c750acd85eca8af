"""SIGTERM, SIGINT and SIGHUP sent to a real ``modloader`` process, at every phase of its life.

The modules are real installed distributions (:mod:`tests.cli._signalled`)
whose ``load()``, ``unload()`` and ``reload()`` trace what happens to them and
sleep, hang or leave threads behind when the environment says so; the signals
are real, sent once the trace shows the process is where the test wants it.
"""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from modloader._cli.signals import finish as exit_wait
from modloader._registry.calls import _CallThread
from tests.cli._signalled import Signalled
from tests.cli._signalled import finish
from tests.cli._signalled import lay

STOP_SIGNALS = pytest.mark.parametrize(
    "signum", [signal.SIGTERM, signal.SIGINT], ids=["TERM", "INT"]
)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return lay(tmp_path_factory.mktemp("site-packages"))


@pytest.fixture
def host(site: Path, tmp_path: Path) -> Iterator[Signalled]:
    signalled = Signalled(site, tmp_path)
    yield signalled
    shutil.rmtree(os.path.dirname(signalled.socket), ignore_errors=True)


def _clean(err: str) -> None:
    assert "Traceback" not in err, err
    assert "KeyboardInterrupt" not in err, err


# -- a stop during startup ---------------------------------------------------------------


@STOP_SIGNALS
def test_a_stop_during_the_load_phase_unloads_what_started(
    host: Signalled, signum: signal.Signals
) -> None:
    proc = host.start(env={"SIGTEST_SLOW_LOAD": "beta"})
    host.wait_for("loading beta", proc)
    proc.send_signal(signum)
    code, _, err = finish(proc)
    assert code == 0, err
    _clean(err)
    # beta's load() ends, gamma never starts, beta and alpha are unloaded in reverse.
    assert host.lifecycle() == ["load alpha", "load beta", "unload beta", "unload alpha"]
    assert f"received {signum.name} during startup" in err
    assert "Startup stopped before gamma: a stop was requested" in err
    assert "startup failed" not in err
    assert not os.path.exists(host.socket)


def test_a_stop_during_the_preload_phase(host: Signalled) -> None:
    proc = host.start(conf="autoload = yes\npreload = gamma", env={"SIGTEST_SLOW_LOAD": "gamma"})
    host.wait_for("loading gamma", proc)
    proc.send_signal(signal.SIGTERM)
    code, _, err = finish(proc)
    assert code == 0, err
    _clean(err)
    assert host.lifecycle() == ["load gamma", "unload gamma"]


def test_a_stop_during_the_core_init(host: Signalled) -> None:
    proc = host.start(
        conf="autoload = yes\npreload = gamma", env={"SIGTEST_SLOW_CORE": "1"}, app=True
    )
    host.wait_for("core_init -", proc)
    proc.send_signal(signal.SIGINT)
    code, _, err = finish(proc)
    assert code == 0, err
    _clean(err)
    assert host.lines() == ["load gamma", "core_init -", "unload gamma"]
    assert "Startup stopped before the load phase" in err


@STOP_SIGNALS
def test_execute_interrupted_during_startup_exits_128_plus_the_signal(
    host: Signalled, signum: signal.Signals
) -> None:
    proc = host.start("-x", "module show", env={"SIGTEST_SLOW_LOAD": "beta"})
    host.wait_for("loading beta", proc)
    proc.send_signal(signum)
    code, out, err = finish(proc)
    assert code == 128 + signum, err
    _clean(err)
    assert out == ""  # the command never ran
    assert host.lifecycle() == ["load alpha", "load beta", "unload beta", "unload alpha"]


@STOP_SIGNALS
def test_a_second_signal_while_the_executed_command_hangs_says_so_before_it_exits(
    host: Signalled, signum: signal.Signals
) -> None:
    """``-x`` holds the log until the command's output is printed; a forced stop ends
    the process before that: what was held is written first, not lost."""
    proc = host.start(
        "--module-timeout",
        "60",
        "-x",
        "module load beta",
        conf="autoload = yes\nnoload = beta",
        env={"SIGTEST_HANG_LOAD": "beta"},
    )
    host.wait_for("loading beta", proc)
    proc.send_signal(signum)
    time.sleep(0.5)
    proc.send_signal(signum)
    code, out, err = finish(proc, timeout=30)
    assert code == 128 + signum, err
    _clean(err)
    assert out == ""
    assert f"received {signum.name} again: stopping now" in err


def test_execute_interrupted_while_its_command_runs(host: Signalled) -> None:
    """The command finishes and prints; the host stops gracefully; the status says why."""
    proc = host.start(
        "-x",
        "module load beta",
        conf="autoload = yes\nnoload = beta",
        env={"SIGTEST_SLOW_LOAD": "beta"},
    )
    host.wait_for("loading beta", proc)
    proc.send_signal(signal.SIGTERM)
    code, out, err = finish(proc)
    assert code == 128 + signal.SIGTERM, err
    _clean(err)
    assert out == "Loaded beta\n"
    assert host.lifecycle() == [
        "load alpha",
        "load gamma",
        "load beta",
        "unload beta",
        "unload gamma",
        "unload alpha",
    ]


@STOP_SIGNALS
def test_a_second_signal_during_a_hung_startup_stops_now(
    host: Signalled, signum: signal.Signals
) -> None:
    log = host.tmp / "stderr.log"
    with log.open("w") as stderr:
        proc = host.start(env={"SIGTEST_HANG_LOAD": "beta"}, stderr=stderr.fileno())
    host.wait_for("loading beta", proc)
    proc.send_signal(signum)
    first = f"received {signum.name} during startup"
    host.wait_until(lambda: first in log.read_text(), proc, 60, "the first signal's log line")
    proc.send_signal(signum)
    started = time.monotonic()
    code, _, _ = finish(proc, timeout=30)
    assert time.monotonic() - started < 20
    err = log.read_text()
    assert code == 128 + signum, err
    _clean(err)
    assert f"received {signum.name} again: stopping now" in err
    # core stop now: no unload() runs.
    assert host.lifecycle() == ["load alpha", "load beta"]


# -- a running host ----------------------------------------------------------------------


def test_sighup_reloads_every_module_and_the_host_goes_on(host: Signalled) -> None:
    proc = host.start(env={"SIGTEST_FAIL_RELOAD": "beta"})
    try:
        host.wait_for_socket(proc)
        proc.send_signal(signal.SIGHUP)
        for name in ("alpha", "beta", "gamma"):
            host.wait_for(f"reload {name}", proc)
        shown = host.rx("module show")
        assert shown.returncode == 0, shown.stderr
        assert proc.poll() is None
        proc.send_signal(signal.SIGHUP)  # and again: every SIGHUP reloads
        host.wait_until(lambda: host.lines().count("reload gamma") == 2, proc, 60, "second reload")
        time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        code, _, err = finish(proc)
    finally:
        proc.kill()
    assert code == 0, err
    _clean(err)
    assert [line for line in host.lines() if line.startswith("reload")] == [
        "reload alpha",
        "reload beta",
        "reload gamma",
    ] * 2
    assert err.count("SIGHUP: reloading every module") == 2
    assert "beta: reload failed: reload() returned False" in err
    assert "SIGHUP: 2 modules reloaded, 1 failed (reloaded: alpha, gamma; failed: beta)" in err
    assert host.lifecycle()[-3:] == ["unload gamma", "unload beta", "unload alpha"]
    assert not os.path.exists(host.socket)


def test_a_sighup_during_startup_reloads_once_startup_has_finished(host: Signalled) -> None:
    proc = host.start(env={"SIGTEST_SLOW_LOAD": "beta"})
    try:
        host.wait_for("loading beta", proc)
        proc.send_signal(signal.SIGHUP)
        host.wait_for("reload gamma", proc)
        host.wait_for_socket(proc)
        assert proc.poll() is None
        proc.send_signal(signal.SIGTERM)
        code, _, err = finish(proc)
    finally:
        proc.kill()
    assert code == 0, err
    _clean(err)
    lines = host.lines()
    assert lines.index("load gamma") < lines.index("reload alpha")
    assert "received SIGHUP during startup" in err


@STOP_SIGNALS
def test_a_second_signal_during_a_hung_graceful_stop_stops_now(
    host: Signalled, signum: signal.Signals
) -> None:
    proc = host.start(env={"SIGTEST_HANG_UNLOAD": "beta"})
    try:
        host.wait_for_socket(proc)
        proc.send_signal(signum)
        host.wait_for("unloading beta", proc)
        assert proc.poll() is None  # beta's unload() hangs: the graceful stop waits
        proc.send_signal(signum)
        started = time.monotonic()
        code, _, err = finish(proc, timeout=30)
    finally:
        proc.kill()
    assert time.monotonic() - started < 20
    assert code == 128 + signum, err
    _clean(err)
    assert f"received {signum.name}: stopping gracefully" in err
    assert f"received {signum.name} again: stopping now" in err
    # gamma and beta were asked to unload; alpha's unload() was skipped by the forced stop.
    assert host.lifecycle()[-2:] == ["unload gamma", "unload beta"]
    assert "unload alpha" not in host.lines()
    assert not os.path.exists(host.socket)


# -- threads left behind -----------------------------------------------------------------


def test_threads_a_module_leaves_do_not_keep_the_process_alive(host: Signalled) -> None:
    proc = host.start("--exit-timeout", "1", env={"SIGTEST_THREAD": "beta"})
    try:
        host.wait_for_socket(proc)
        proc.send_signal(signal.SIGTERM)
        started = time.monotonic()
        code, _, err = finish(proc, timeout=30)
    finally:
        proc.kill()
    assert time.monotonic() - started < 20
    assert code == 0, err
    _clean(err)
    assert host.lifecycle()[-3:] == ["unload gamma", "unload beta", "unload alpha"]
    assert "exiting after 1 s although 1 thread that modules started is still running" in err
    assert "'sigtest-spinner-beta' (sigtest_beta.py:" in err
    assert "in _spin)" in err


def test_threads_left_by_execute_do_not_keep_it_alive(host: Signalled) -> None:
    proc = host.start(
        "--exit-timeout", "0.5", "-x", "module show", env={"SIGTEST_THREAD": "alpha,gamma"}
    )
    code, out, err = finish(proc, timeout=30)
    assert code == 0, err
    assert "3 modules loaded" in out
    assert "2 threads that modules started are still running" in err
    assert "'sigtest-spinner-alpha'" in err and "'sigtest-spinner-gamma'" in err


def test_a_clean_stop_exits_without_waiting(host: Signalled) -> None:
    proc = host.start("-x", "module show")
    started = time.monotonic()
    code, _, err = finish(proc)
    assert code == 0, err
    assert "still running" not in err
    assert time.monotonic() - started < 30


def test_the_exit_wait_lets_a_call_thread_go_once_its_call_is_over() -> None:
    """modloader's own call thread says it is no daemon until its call's last line: the
    wait at exit asks again, and does not wait out --exit-timeout for it, idle."""
    before = threading.enumerate()
    release = threading.Event()
    thread = _CallThread(target=release.wait, name="modloader-module-call", daemon=True)
    thread.calling = True  # its call has returned, and it is about to say so
    thread.start()
    flip = threading.Timer(0.2, lambda: setattr(thread, "calling", False))
    flip.start()
    started = time.monotonic()
    try:
        assert exit_wait(0, 5.0, before) == 0  # returns: exit_now would end pytest
        assert time.monotonic() - started < 2
        assert thread.is_alive()
    finally:
        release.set()
        flip.join()


def test_a_reload_whose_new_settings_are_refused_counts_as_failed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """SIGHUP's summary counts modules whose new settings were refused (no reload-failed
    event says so), as `module reload` lists them in `failed`."""
    from modloader import Host
    from modloader import ModulesConfig
    from modloader import ModuleSettings
    from modloader import StaticDiscovery
    from modloader._cli.signals import reload_everything

    class Limits(ModuleSettings):
        interval: int = 1

    class Timer:
        settings_model = Limits

        def reload(self, ctx: object) -> None:
            return None

    (tmp_path / "res_timer.conf").write_text("[general]\ninterval = 2\n")
    modules = {"res_timer": Timer, "res_other": Timer, "res_same": Timer}
    discovery = StaticDiscovery("t.hup", modules)
    host = Host("t.hup", discovery=discovery, config=ModulesConfig(), config_dir=tmp_path)
    host.start()
    try:
        (tmp_path / "res_timer.conf").write_text("[general]\ninterval = many\n")
        (tmp_path / "res_other.conf").write_text("[general]\ninterval = 3\n")
        with caplog.at_level("INFO", logger="modloader"):
            assert not reload_everything(host.executor, "SIGHUP", host.subscribe)
        summary = [r for r in caplog.records if r.getMessage().startswith("SIGHUP: 1 modules")]
        assert [r.getMessage() for r in summary] == [
            "SIGHUP: 1 modules reloaded, 1 failed (reloaded: res_other; failed: res_timer)"
        ]
        assert summary[0].levelname == "WARNING"
        # Each module's line at its own level: only the failure is a warning.
        levels = {r.getMessage(): r.levelname for r in caplog.records}
        assert levels["Module 'res_same' settings unchanged; not reloaded."] == "INFO"
        assert levels["Module 'res_other' reloaded successfully."] == "INFO"
        (refusal,) = [m for m in levels if m.startswith("The module 'res_timer' was not")]
        assert levels[refusal] == "WARNING"
    finally:
        host.stop()


def test_sighup_while_a_reload_runs_says_nothing_was_reloaded(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The second reload is refused as a whole: no "0 modules reloaded" at INFO."""
    from modloader import Host
    from modloader import ModulesConfig
    from modloader import StaticDiscovery
    from modloader._cli.signals import reload_everything

    inside, release = threading.Event(), threading.Event()

    class Slow:
        def reload(self, ctx: object) -> None:
            inside.set()
            release.wait(10)

    discovery = StaticDiscovery("t.hup2", {"res_slow": Slow})
    host = Host("t.hup2", discovery=discovery, config=ModulesConfig())
    host.start()
    first = threading.Thread(target=host.execute, args=("module reload",))
    try:
        first.start()
        assert inside.wait(10)
        with caplog.at_level("INFO", logger="modloader"):
            assert not reload_everything(host.executor, "SIGHUP", host.subscribe)
        said = [(r.levelname, r.getMessage()) for r in caplog.records]
        assert ("WARNING", "SIGHUP: no module reloaded") in said
        assert not any("modules reloaded" in message for _, message in said)
    finally:
        release.set()
        first.join(10)
        host.stop()
