"""SPEC 4-6 against every host: a Host, an AsyncHost with plain modules, and with async ones.

The same assertions for all three (``kind``): startup order and phases,
declines, the required failure (``StartupError``, exit code 2, what started is
unloaded in reverse), soft/firm/hard unloads, use counts and holders, reload
and refresh. For the ``async`` kind every hook ran on the AsyncHost's loop.
"""

from __future__ import annotations

from typing import Any

import pytest

from modloader import DependencyError
from modloader import LoadDeclinedError
from modloader import LoadResult
from modloader import ModuleAlreadyRunningError
from modloader import ModuleDeclined
from modloader import ModuleInUseError
from modloader import ModuleNotRunningError
from modloader import NoSuchModuleError
from modloader import ReloadError
from modloader import ReloadResult
from modloader import StaleHandleError
from modloader import StartupError
from modloader import UnloadMode
from modloader import UnloadRefusedError
from tests.aio.conftest import HostFactory
from tests.aio.conftest import Journal
from tests.aio.conftest import LoopThread
from tests.aio.conftest import module


def status(host: Any) -> dict[str, str]:
    return {m.name: m.status for m in host.list_modules()}


@pytest.fixture(autouse=True)
def _hooks_ran_on_the_loop(kind: str, journal: Journal, runner: LoopThread) -> Any:
    yield
    if kind == "async":
        assert journal.loops == {id(runner.loop)}, "an async hook ran off the host's loop"
    else:
        assert journal.loops == set()


# -- startup (SPEC 4) ------------------------------------------------------------------


def test_order_preload_then_core_init_then_the_rest(
    make_host: HostFactory, journal: Journal, kind: str
) -> None:
    host = make_host(
        {
            "base": module(journal, kind, priority=150),
            "dep": module(journal, kind, priority=10, requires=("base",)),
            "p50": module(journal, kind, priority=50),
            "early": module(journal, kind, priority=200),
        },
        load=("^early",),
    )
    host.start(lambda h: journal.append("core init"))
    assert journal == ["load early", "core init", "load base", "load dep", "load p50"]


def test_a_decline_leaves_the_module_not_running_and_declines_its_dependents(
    make_host: HostFactory, journal: Journal, kind: str
) -> None:
    host = make_host(
        {
            "shy": module(journal, kind, raises=ModuleDeclined("no config")),
            "user": module(journal, kind, requires=("shy",)),
            "ok": module(journal, kind),
        }
    )
    report = host.start()
    assert status(host) == {"ok": "Running", "shy": "Not Running", "user": "Not Running"}
    assert host.get_module("shy").last_error == "no config"
    assert "load user" not in journal  # declined without calling its load()
    assert "Declined modules which depend on shy: user" in report.lines
    assert report.running == 1 and report.declined == 2


@pytest.mark.parametrize(
    ("shy", "message"),
    [
        ({"raises": ModuleDeclined("no")}, "*** Failed to load required module needed"),
        ({"result": LoadResult.FAILURE}, "*** Failed to load module needed"),
    ],
)
def test_a_required_failure_aborts_startup_and_unloads_in_reverse(
    make_host: HostFactory, journal: Journal, kind: str, shy: dict[str, Any], message: str
) -> None:
    host = make_host(
        {
            "first": module(journal, kind, priority=1),
            "second": module(journal, kind, priority=2),
            "needed": module(journal, kind, priority=3, **shy),
            "never": module(journal, kind, priority=4),
        },
        load=("needed!",),
    )
    with pytest.raises(StartupError) as caught:
        host.start()
    assert caught.value.exit_code == 2
    assert message in str(caught.value)
    assert journal == ["load first", "load second", "load needed", "unload second", "unload first"]


# -- load and unload (SPEC 5.2, 5.3) ---------------------------------------------------


@pytest.fixture
def chain(make_host: HostFactory, journal: Journal, kind: str) -> Any:
    host = make_host(
        {
            "base": module(journal, kind),
            "app": module(journal, kind, requires=("base",)),
            "top": module(journal, kind, requires=("app",)),
            "stubborn": module(journal, kind, refuse_unload=True),
            "failing": module(journal, kind, reload_result=ReloadResult.ERROR),
            "plain": module(journal, kind, reloadable=False),
        }
    )
    host.start()
    journal.clear()
    return host


def test_load_refusals_are_the_same_errors(chain: Any, journal: Journal) -> None:
    with pytest.raises(ModuleAlreadyRunningError):
        chain.load("base")
    chain.unload("top")
    chain.unload("app")
    chain.unload("base")
    with pytest.raises(DependencyError) as caught:
        chain.load("app")
    assert caught.value.missing == {"base": "not loaded"}
    assert chain.load("base").name == "base"
    assert chain.load("app").replaced_declined is True
    assert journal == ["unload top", "unload app", "unload base", "load base", "load app"]


def test_a_declining_load_raises(make_host: HostFactory, journal: Journal, kind: str) -> None:
    host = make_host({"shy": module(journal, kind, raises=RuntimeError("boom"))}, autoload=False)
    host.start()
    with pytest.raises(LoadDeclinedError) as caught:
        host.load("shy")
    assert caught.value.reason == "RuntimeError: boom"
    assert status(host) == {"shy": "Not Running"}


def test_soft_unload_refuses_a_used_module_and_names_the_holders(
    chain: Any, journal: Journal
) -> None:
    handle = chain.use("top", "web")
    with pytest.raises(ModuleInUseError) as caught:
        chain.unload("base")
    assert (caught.value.use_count, caught.value.holders) == (1, ("app",))
    with pytest.raises(ModuleInUseError) as caught:
        chain.unload("top")
    assert caught.value.holders == ("web",)
    assert journal == []  # unload() was never called
    handle.release()
    handle.release()  # twice is harmless
    assert chain.get_module("top").use_count == 0


def test_firm_unload_takes_dependents_down_deepest_first(chain: Any, journal: Journal) -> None:
    handle = chain.use("top", "web")
    outcome = chain.unload("base", UnloadMode.FIRM)
    assert outcome.forced_use_count == 1
    assert outcome.dependents_unloaded == ("top", "app")
    assert journal == ["unload top", "unload app", "unload base"]
    with pytest.raises(StaleHandleError):
        _ = handle.obj
    with pytest.raises(NoSuchModuleError):
        chain.get_module("base")


def test_refused_unload_soft_firm_and_hard(chain: Any, journal: Journal) -> None:
    for mode in (UnloadMode.SOFT, UnloadMode.FIRM):
        with pytest.raises(UnloadRefusedError) as caught:
            chain.unload("stubborn", mode)
        assert caught.value.reason == "unload() returned False"
        assert chain.get_module("stubborn").status == "Running"
    outcome = chain.unload("stubborn", UnloadMode.HARD)
    assert outcome.removed_despite_refusal == "unload() returned False"
    assert "stubborn" not in status(chain)
    assert journal == ["unload stubborn"] * 3


# -- use counts (SPEC 6) ---------------------------------------------------------------


def test_use_counts_and_holders(chain: Any) -> None:
    assert chain.get_module("base").holders == ("app",)
    with chain.use("base", "web"), chain.use("base", "cli"):
        info = chain.get_module("base")
        assert (info.use_count, info.holders) == (3, ("app", "cli", "web"))
    assert chain.get_module("base").use_count == 1
    chain.unload("plain")
    with pytest.raises(NoSuchModuleError):
        chain.use("plain")


# -- reload and refresh (SPEC 5.4, 5.5) ------------------------------------------------


def test_reload_outcomes_and_refusals(chain: Any, journal: Journal) -> None:
    assert chain.reload("base").reloaded == ("base",)
    with pytest.raises(ReloadError) as caught:
        chain.reload("failing")
    assert caught.value.reason == "failed"
    with pytest.raises(ReloadError) as caught:
        chain.reload("plain")
    assert caught.value.reason == "not-supported"
    everything = chain.reload()
    assert everything.failed == ("failing",)
    assert set(everything.reloaded) == {"base", "app", "top", "stubborn"}
    chain.unload("top")
    with pytest.raises(NoSuchModuleError):
        chain.reload("top")


def test_reload_of_a_declined_module(make_host: HostFactory, journal: Journal, kind: str) -> None:
    host = make_host({"shy": module(journal, kind, raises=ModuleDeclined("no"))})
    host.start()
    with pytest.raises(ModuleNotRunningError):
        host.reload("shy")


def test_refresh_recursively_brings_the_dependents_back(chain: Any, journal: Journal) -> None:
    outcome = chain.refresh("base", recursive=True)
    assert outcome.ok
    assert [o.name for o in outcome.dependents_unloaded] == ["top", "app"]
    assert journal == [
        "unload top",
        "unload app",
        "unload base",
        "load base",
        "load app",
        "load top",
    ]
    assert chain.get_module("base").holders == ("app",)


def test_refresh_checks_every_use_count_first(chain: Any, journal: Journal) -> None:
    with chain.use("top", "web"), pytest.raises(ModuleInUseError):
        chain.refresh("base", recursive=True)
    assert journal == []


def test_the_commands_say_the_same(chain: Any) -> None:
    result = chain.run("module unload stubborn")
    assert not result.ok
    assert "Firm unload failed for stubborn" in result.output
    assert chain.run("module refresh top").output.splitlines()[-1] == "Unloaded and loaded top"
    assert chain.run("module reload failing").output.splitlines()[0] == (
        "The module 'failing' reported a reload failure"
    )


def test_graceful_stop_unloads_in_reverse_start_order(chain: Any, journal: Journal) -> None:
    order = ["top", "stubborn", "plain", "failing", "app", "base"]
    assert chain.stop() == order
    assert journal == [f"unload {name}" for name in order]
