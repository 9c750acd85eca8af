"""Run-time commands (SPEC 5.2-5.5) and use counts (SPEC 6), with their exact messages."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from modloader import Host
from modloader import ModuleDeclined
from modloader import ModuleNotRunningError
from modloader import ModulesConfig
from modloader import NoSuchModuleError
from modloader import ReloadResult
from modloader import StaleHandleError
from modloader import StaticDiscovery
from tests.registry.conftest import HostFactory
from tests.registry.test_startup import Journal
from tests.registry.test_startup import module
from tests.registry.test_startup import status


def out(host: Host, line: str) -> tuple[bool, list[str]]:
    result = host.run(line)
    return result.ok, result.output.splitlines()


@pytest.fixture
def journal() -> Journal:
    return Journal()


@pytest.fixture
def host(make_host: HostFactory, journal: Journal) -> Host:
    h = make_host(
        {
            "base": module(journal),
            "app": module(journal, requires=("base",)),
            "top": module(journal, requires=("app",)),
            "solo": module(journal),
            "stubborn": module(journal, refuse_unload=True),
            "declines": module(journal, raises=ModuleDeclined("no config")),
        }
    )
    h.start()
    journal.clear()
    return h


# -- module load ----------------------------------------------------------------------


def test_load_already_running(host: Host) -> None:
    assert out(host, "module load solo") == (
        False,
        ["Module 'solo' already loaded and running.", "Command 'module load solo' failed."],
    )


def test_load_not_installed_suggests(host: Host) -> None:
    ok, lines = out(host, "module load sola")
    assert not ok
    assert (
        lines[0]
        == "Error loading module 'sola': no such module is installed (did you mean 'solo'?)"
    )


def test_load_after_decline_retries(host: Host, journal: Journal) -> None:
    ok, lines = out(host, "module load declines")
    assert not ok
    assert lines[0] == "Unloading module 'declines' that previously declined to load"
    assert "Unable to load module declines" in lines
    assert journal == ["load declines"]


def test_load_picks_up_a_new_install(host: Host, journal: Journal) -> None:
    host.discovery.add("fresh", module(journal))  # type: ignore[attr-defined]
    assert out(host, "module load fresh") == (True, ["Loaded fresh"])
    assert status(host)["fresh"] == "Running"


def test_load_does_not_start_dependencies(host: Host, journal: Journal) -> None:
    assert host.run("module unload top app").ok
    ok, lines = out(host, "module load top")
    assert (ok, lines[0]) == (False, "top loaded before dependency app!")
    assert status(host)["top"] == "Not Running"
    host.discovery.add("orphan", module(journal, requires=("ghost",)))  # type: ignore[attr-defined]
    ok, lines = out(host, "module load orphan")
    assert (ok, lines[0]) == (False, "orphan has one or more unknown dependencies.")


def test_load_works_for_a_noloaded_module(journal: Journal) -> None:
    discovery = StaticDiscovery("ns", {"a": module(journal), "kept_out": module(journal)})
    h = Host("ns", discovery=discovery, config=ModulesConfig(noload=("kept_out",)))
    h.start()
    assert out(h, "module load kept_out") == (True, ["Loaded kept_out"])


# -- module unload --------------------------------------------------------------------


def test_unload_unknown(host: Host) -> None:
    assert out(host, "module unload nope")[1][:2] == [
        "Unload failed, 'nope' could not be found",
        "Unable to unload resource nope",
    ]


def test_unload_declined_removes_it(host: Host) -> None:
    assert out(host, "module unload declines") == (
        True,
        ["Unloading module 'declines' that previously declined to load", "Unloaded declines"],
    )
    assert "declines" not in status(host)


def test_soft_unload_refused_names_holders(host: Host, journal: Journal) -> None:
    with host.use("base", holder="request-42"):
        ok, lines = out(host, "module unload base")
    assert not ok
    assert lines[0] == "Soft unload failed, 'base' has use count 2 (held by app, request-42)"
    assert "unload base" not in journal


def test_multi_unload_stops_at_first_failure(host: Host) -> None:
    ok, lines = out(host, "module unload solo base top")
    assert not ok
    assert lines == [
        "Unloaded solo",
        "Soft unload failed, 'base' has use count 1 (held by app)",
        "Unable to unload resource base",
        "Command 'module unload solo base top' failed.",
    ]
    assert status(host)["top"] == "Running"


def test_firm_unload_takes_dependents_down_deepest_first(host: Host, journal: Journal) -> None:
    handle = host.use("base", holder="worker")
    ok, lines = out(host, "module unload -f base")
    assert ok
    assert lines == [
        "Forcing removal of module 'base' with use count 2",
        "Unloaded dependent module top",
        "Unloaded dependent module app",
        "Unloaded base",
    ]
    assert journal == ["unload top", "unload app", "unload base"]
    with pytest.raises(StaleHandleError, match="was unloaded while this reference was held"):
        handle.obj  # noqa: B018 - the property is what is being tested
    handle.release()
    handle.release()  # twice is harmless


def test_unload_refused_by_module_stays_running(host: Host) -> None:
    for flag in ("", "-f "):
        ok, lines = out(host, f"module unload {flag}stubborn")
        assert not ok
        assert lines[:2] == [
            "Firm unload failed for stubborn",
            "Unable to unload resource stubborn",
        ]
        assert status(host)["stubborn"] == "Running"


def test_hard_unload_removes_anyway(host: Host) -> None:
    ok, lines = out(host, "module unload -h stubborn")
    assert ok
    assert lines == [
        "Firm unload failed for stubborn",
        "** Dangerous **: Unloading resource anyway, at user request",
        "Unloaded stubborn",
    ]
    assert "stubborn" not in status(host)


@pytest.mark.parametrize("line", ["module unload", "module unload -f", "module unload -x solo"])
def test_unload_usage(host: Host, line: str) -> None:
    ok, lines = out(host, line)
    assert not ok
    assert lines == ["Usage: module unload [-f|-h] <module name> [<module name> ...]"]


def test_long_flags_are_accepted(host: Host) -> None:
    assert host.run("module unload -force solo").ok


def test_registrations_removed_on_unload(make_host: HostFactory) -> None:
    removed: list[str] = []

    class Registers:
        def load(self, ctx: Any) -> None:
            ctx.register_command("greet", lambda args: "hello " + " ".join(args), summary="Greets")
            ctx.register("timer", lambda: removed.append("timer"))

    h = make_host({"reg": Registers})
    h.start()
    assert out(h, "greet you") == (True, ["hello you"])
    assert h.run("module unload -h reg").ok
    assert removed == ["timer"]
    assert out(h, "greet you")[1][0].startswith("No such command 'greet you'")


@pytest.mark.parametrize("mode", ["", "-f ", "-h "])
@pytest.mark.parametrize("raised", [SystemExit(2), KeyboardInterrupt(), ValueError("gone")])
def test_a_registration_whose_remove_raises_anything_is_logged_and_the_rest_removed(
    make_host: HostFactory, caplog: pytest.LogCaptureFixture, raised: BaseException, mode: str
) -> None:
    removed: list[str] = []

    def fail() -> None:
        raise raised

    class Registers:
        def load(self, ctx: Any) -> None:
            ctx.register("first", lambda: removed.append("first"))
            ctx.register("broken", fail)
            ctx.register("last", lambda: removed.append("last"))

    h = make_host({"reg": Registers})
    h.start()
    result = h.run(f"module unload {mode}reg")  # a result: nothing escapes into the caller

    assert result.ok, result.output
    assert removed == ["last", "first"]
    assert "reg: removing broken failed" in caplog.text
    assert type(raised).__name__ in caplog.text
    assert not h.is_running("reg")
    assert h.run("module load reg").ok


def test_a_registration_whose_remove_hangs_is_given_up_at_the_time_limit(
    make_host: HostFactory, caplog: pytest.LogCaptureFixture
) -> None:
    gate = threading.Event()
    removed: list[str] = []

    class Registers:
        def load(self, ctx: Any) -> None:
            ctx.register("first", lambda: removed.append("first"))
            ctx.register("stuck", lambda: gate.wait(30))

    h = make_host({"reg": Registers, "other": Registers})
    h.start()
    h.module_timeout = 0.3
    began = time.monotonic()
    assert h.run("module unload reg").ok  # its remove() runs on in its own thread
    assert time.monotonic() - began < 5
    assert "reg: remove() did not return within 0.3 s" in caplog.text
    assert not h.is_running("reg")
    assert h.run("module unload other").ok  # the lock is not held by the one that hangs
    gate.set()
    deadline = time.monotonic() + 10
    while removed != ["first", "first"] and time.monotonic() < deadline:
        time.sleep(0.01)
    assert removed == ["first", "first"]


def test_a_late_load_undone_runs_its_removals_without_holding_the_lock(
    make_host: HostFactory, caplog: pytest.LogCaptureFixture
) -> None:
    finish_load, finish_remove = threading.Event(), threading.Event()

    class Late:
        def load(self, ctx: Any) -> None:
            ctx.register("stuck", lambda: finish_remove.wait(30))
            finish_load.wait(30)

    class Other:
        def load(self, ctx: Any) -> None:
            pass

    h = make_host({"late": Late, "other": Other})
    h.module_timeout = 0.3
    h.start()  # late's load() times out: it is not running
    finish_load.set()  # it returns: undone, and its stuck removal runs as a module call
    deadline = time.monotonic() + 10
    while "late: remove() did not return" not in caplog.text and time.monotonic() < deadline:
        time.sleep(0.01)
    began = time.monotonic()
    assert h.run("module unload other").ok  # the lock is not held meanwhile
    assert time.monotonic() - began < 5
    while h.get_module("late").state != "declined" and time.monotonic() < deadline:
        time.sleep(0.01)
    assert "load() did not return within 0.3 s" in str(h.get_module("late").last_error)
    finish_remove.set()


def test_what_a_failed_load_registered_is_removed(make_host: HostFactory) -> None:
    removed: list[str] = []

    class Fails:
        def load(self, ctx: Any) -> Any:
            ctx.register("timer", lambda: removed.append("timer"))
            raise RuntimeError("no database")

    h = make_host({"fails": Fails})
    h.start()
    assert removed == ["timer"]
    assert h.get_module("fails").state == "declined"


# -- module reload --------------------------------------------------------------------


class Reloadable:
    calls = 0
    answer: Any = None

    def reload(self, ctx: Any) -> Any:
        type(self).calls += 1
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def test_reload_messages_without_early_stop(make_host: HostFactory, journal: Journal) -> None:
    class Bad(Reloadable):
        answer = ReloadResult.ERROR

    class Raises(Reloadable):
        answer = RuntimeError("bad file")

    h = make_host(
        {
            "good": Reloadable,
            "bad": Bad,
            "raises": Raises,
            "plain": module(journal),
            "off": module(journal, raises=ModuleDeclined("x")),
        }
    )
    h.start()
    ok, lines = out(h, "module reload good nope bad raises off plain")
    assert not ok
    assert lines == [
        "Module 'good' reloaded successfully.",
        "No such module 'nope'",
        "The module 'bad' reported a reload failure",
        "The module 'raises' reported a reload failure",
        "The module 'off' was not properly initialized. Before reloading the module, you must "
        'run "module load off" and fix whatever is preventing the module from being initialized.',
        "The module 'plain' does not support reloads",
        "Command 'module reload good nope bad raises off plain' failed.",
    ]


def test_reload_all_is_silent_and_core_reload_is_the_same(make_host: HostFactory) -> None:
    class Counted(Reloadable):
        calls = 0

    h = make_host({"a": Counted})
    h.start()
    assert out(h, "module reload") == (True, [])
    assert out(h, "core reload") == (True, [])
    assert Counted.calls == 2


def test_reload_before_startup_is_queued(make_host: HostFactory) -> None:
    class Counted(Reloadable):
        calls = 0

    h = make_host({"a": Counted})
    early: list[tuple[bool, list[str]]] = []
    h.start(lambda host: early.append(out(host, "module reload a")))
    assert early[0][1][0] == "a: cannot reload a module yet; request queued"
    assert Counted.calls == 1  # run once startup had finished


# -- module refresh -------------------------------------------------------------------


def test_refresh(host: Host, journal: Journal) -> None:
    assert out(host, "module refresh solo") == (True, ["Unloaded and loaded solo"])
    assert journal == ["unload solo", "load solo"]


def test_refresh_unload_refused(host: Host) -> None:
    ok, lines = out(host, "module refresh base")
    assert not ok
    assert lines[-2:] == ["Unable to unload resource base", "Command 'module refresh base' failed."]


def test_refresh_recursively(host: Host, journal: Journal) -> None:
    ok, lines = out(host, "module refresh base recursively")
    assert ok, lines
    assert journal == [
        "unload top",
        "unload app",
        "unload base",
        "load base",
        "load app",
        "load top",
    ]
    assert lines[-1] == "Unloaded and loaded base"
    assert all(v == "Running" for k, v in status(host).items() if k != "declines")


def test_refresh_recursively_checks_first(host: Host, journal: Journal) -> None:
    with host.use("app", holder="outsider"):
        ok, lines = out(host, "module refresh base recursively")
    assert not ok
    assert lines[0] == "Soft unload failed, 'app' has use count 1 (held by outsider)"
    assert journal == []  # nothing changed


def test_refresh_second_word_ignored(host: Host) -> None:
    assert host.run("module refresh solo whatever").ok


# -- use counts -----------------------------------------------------------------------


def test_use_counts_and_holders(host: Host) -> None:
    first = host.use("solo", holder="a")
    second = host.use("solo", holder="b")
    assert host.get_module("solo")["use_count"] == 2
    assert host.get_module("solo")["holders"] == ["a", "b"]
    first.release()
    first.release()
    assert host.get_module("solo")["use_count"] == 1
    with second:
        pass
    assert host.get_module("solo")["use_count"] == 0


def test_use_of_missing_or_stopped_module(host: Host) -> None:
    with pytest.raises(NoSuchModuleError):
        host.use("ghost")
    with pytest.raises(ModuleNotRunningError):
        host.use("declines")
