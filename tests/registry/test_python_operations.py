"""Module operations from Python: typed outcomes, and typed errors carrying their facts."""

from __future__ import annotations

from typing import Any

import pytest

from modloader import BuiltinModuleError
from modloader import DependencyError
from modloader import Host
from modloader import LoadDeclinedError
from modloader import LoadOutcome
from modloader import ModLoaderError
from modloader import ModuleAlreadyRunningError
from modloader import ModuleDeclined
from modloader import ModuleInUseError
from modloader import ModuleNotInstalledError
from modloader import ModuleNotRunningError
from modloader import NameConflictError
from modloader import NoSuchModuleError
from modloader import RefreshOutcome
from modloader import ReloadError
from modloader import ReloadOutcome
from modloader import ReloadResult
from modloader import UnloadMode
from modloader import UnloadOutcome
from modloader import UnloadRefusedError
from tests.registry.conftest import HostFactory
from tests.registry.test_startup import Journal
from tests.registry.test_startup import module


def reloadable(journal: Journal, result: Any = None) -> type:
    cls = module(journal)

    def reload(self: Any, ctx: Any) -> Any:
        journal.append(f"reload {ctx.name}")
        return result

    cls.reload = reload  # type: ignore[attr-defined]
    return cls


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
            "solo": reloadable(journal),
            "broken_reload": reloadable(journal, ReloadResult.ERROR),
            "stubborn": module(journal, refuse_unload=True),
            "declines": module(journal, raises=ModuleDeclined("no config")),
        },
        builtins={"core_builtin": object()},
    )
    h.start()
    journal.clear()
    return h


# -- load ------------------------------------------------------------------------------


def test_load_returns_an_outcome(host: Host) -> None:
    host.unload("solo")
    assert host.load("solo") == LoadOutcome("solo", replaced_declined=False)
    assert host.get_module("solo").running


def test_load_of_a_running_module(host: Host) -> None:
    with pytest.raises(ModuleAlreadyRunningError) as caught:
        host.load("solo")
    assert caught.value.name == "solo"


def test_load_not_installed_names_the_closest(host: Host) -> None:
    with pytest.raises(ModuleNotInstalledError) as caught:
        host.load("sola")
    assert (caught.value.name, caught.value.suggestion) == ("sola", "solo")
    assert isinstance(caught.value, NoSuchModuleError)


def test_load_declined_carries_the_reason(host: Host) -> None:
    with pytest.raises(LoadDeclinedError) as caught:
        host.load("declines")
    error = caught.value
    assert (error.name, error.reason, error.importing) == ("declines", "no config", False)
    assert error.replaced_declined  # the earlier declined entry was removed first


def test_load_with_a_missing_dependency(host: Host) -> None:
    host.unload("top")
    host.unload("app")
    host.unload("base")
    with pytest.raises(DependencyError) as caught:
        host.load("app")
    assert caught.value.missing == {"base": "not loaded"}
    assert str(caught.value) == "app loaded before dependency base!"
    assert host.get_module("app").state == "declined"


def test_load_with_an_unknown_dependency(make_host: HostFactory, journal: Journal) -> None:
    host = make_host({"needy": module(journal, requires=("ghost",))}, autoload=False)
    host.start()
    with pytest.raises(DependencyError) as caught:
        host.load("needy")
    assert caught.value.missing == {"ghost": "not installed"}


def test_load_of_a_name_two_distributions_publish(make_host: HostFactory, journal: Journal) -> None:
    host = make_host({}, autoload=False)
    host.start()
    candidate = module(journal)
    host.discovery.add("twin", candidate, dist_name="dist_one")  # type: ignore[attr-defined]
    host.discovery.add("TWIN", candidate, dist_name="dist_two")  # type: ignore[attr-defined]
    with pytest.raises(NameConflictError) as caught:
        host.load("twin")
    assert caught.value.name == "twin"
    assert caught.value.publishers == ("dist_one 1.0", "dist_two 1.0")


# -- unload ----------------------------------------------------------------------------


def test_unload_returns_an_outcome(host: Host) -> None:
    assert host.unload("solo") == UnloadOutcome("solo", UnloadMode.SOFT)
    with pytest.raises(NoSuchModuleError):
        host.get_module("solo")


def test_soft_unload_in_use(host: Host, journal: Journal) -> None:
    with host.use("base", holder="me"), pytest.raises(ModuleInUseError) as caught:
        host.unload("base")
    error = caught.value
    assert (error.name, error.use_count, error.holders) == ("base", 2, ("app", "me"))
    assert journal == []


def test_firm_unload_takes_dependents_down(host: Host) -> None:
    outcome = host.unload("base", UnloadMode.FIRM)
    assert outcome.forced_use_count == 1
    assert outcome.dependents_unloaded == ("top", "app")
    assert [m.name for m in host.list_modules() if m.running] == [
        "broken_reload",
        "core_builtin",
        "solo",
        "stubborn",
    ]


def test_unload_refused_by_the_module(host: Host) -> None:
    with pytest.raises(UnloadRefusedError) as caught:
        host.unload("stubborn")
    assert (caught.value.refused_by, caught.value.reason) == (
        "stubborn",
        "unload() returned False",
    )
    assert host.is_running("stubborn")
    outcome = host.unload("stubborn", UnloadMode.HARD)
    assert outcome.removed_despite_refusal == "unload() returned False"


def test_unload_of_a_builtin(host: Host) -> None:
    with pytest.raises(BuiltinModuleError) as caught:
        host.unload("core_builtin")
    assert caught.value.name == "core_builtin"


def test_unload_of_a_declined_module(host: Host) -> None:
    assert host.unload("declines").previously_declined


def test_unload_of_an_unknown_module(host: Host) -> None:
    with pytest.raises(NoSuchModuleError) as caught:
        host.unload("sol")
    assert caught.value.suggestion == "solo"


# -- reload ----------------------------------------------------------------------------


def test_reload_one(host: Host, journal: Journal) -> None:
    assert host.reload("solo") == ReloadOutcome(reloaded=("solo",))
    assert journal == ["reload solo"]


def test_reload_all_lists_the_failures(host: Host) -> None:
    assert host.reload() == ReloadOutcome(reloaded=("solo",), failed=("broken_reload",))


@pytest.mark.parametrize(
    ("name", "error", "reason"),
    [
        ("base", ReloadError, "not-supported"),
        ("broken_reload", ReloadError, "failed"),
        ("declines", ModuleNotRunningError, None),
        ("ghost", NoSuchModuleError, None),
    ],
)
def test_reload_refused(host: Host, name: str, error: type[Exception], reason: str | None) -> None:
    with pytest.raises(error) as caught:
        host.reload(name)
    assert getattr(caught.value, "name", None) == name
    if reason is not None:
        assert getattr(caught.value, "reason", None) == reason


# -- refresh ---------------------------------------------------------------------------


def test_refresh_recursive(host: Host, journal: Journal) -> None:
    outcome = host.refresh("base", recursive=True)
    assert isinstance(outcome, RefreshOutcome) and outcome.ok
    assert [u.name for u in outcome.dependents_unloaded] == ["top", "app"]
    assert outcome.dependents_loaded == (LoadOutcome("app"), LoadOutcome("top"))
    assert journal[-3:] == ["load base", "load app", "load top"]


def test_refresh_in_use_changes_nothing(host: Host, journal: Journal) -> None:
    with host.use("app", holder="outsider"), pytest.raises(ModuleInUseError) as caught:
        host.refresh("base", recursive=True)
    assert (caught.value.name, caught.value.holders) == ("app", ("outsider",))
    assert journal == []


# -- use counts (SPEC 4.2, 6) ----------------------------------------------------------


def test_requiring_a_module_references_its_running_enhancers(
    make_host: HostFactory, journal: Journal
) -> None:
    host = make_host(
        {
            "base": module(journal),
            "enh": module(journal, enhances=("base",)),
            "user2": module(journal, requires=("base",)),
        }
    )
    host.start()
    counts = {m.name: m.use_count for m in host.list_modules()}
    assert counts == {"base": 2, "enh": 1, "user2": 0}
    assert host.get_module("enh").holders == ("user2",)
    # The same at run time.
    host.unload("user2")
    assert host.get_module("enh").use_count == 0
    host.load("user2")
    assert {m.name: m.use_count for m in host.list_modules()} == counts
    with pytest.raises(ModuleInUseError):
        host.unload("enh")


def test_every_operation_error_is_a_modloader_error(host: Host) -> None:
    for call in (lambda: host.load("solo"), lambda: host.unload("ghost")):
        with pytest.raises(ModLoaderError):
            call()


def test_refresh_whose_load_step_fails_says_so(host: Host, journal: Journal) -> None:
    host.discovery.add("solo", module(journal, raises=ModuleDeclined("gone bad")))  # type: ignore[attr-defined]
    result = host.run("module refresh SOLO")
    assert not result.ok
    assert result.output.splitlines() == [
        "SOLO: gone bad",
        "Unable to load module SOLO",
        "Unable to load resource SOLO",
        "Command 'module refresh SOLO' failed.",
    ]
    assert host.get_module("solo").state == "declined"  # in the list, Not Running
