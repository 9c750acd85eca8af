"""Startup (SPEC 4) over in-memory modules: phases, order, dependencies, results."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from modloader import Host
from modloader import LoadResult
from modloader import ModuleDeclined
from modloader import ModuleEntry
from modloader import ModulesConfig
from modloader import StartupError
from modloader import StaticDiscovery
from tests.registry.conftest import HostFactory
from tests.registry.conftest import entries


class Journal(list[str]):
    """What the modules did, in order."""


def module(
    journal: Journal,
    *,
    requires: tuple[str, ...] = (),
    optional: tuple[str, ...] = (),
    enhances: tuple[str, ...] = (),
    priority: int | None = None,
    result: Any = None,
    raises: BaseException | None = None,
    refuse_unload: bool = False,
    support: str | None = None,
    description: str | None = None,
) -> type:
    class M:
        def load(self, ctx: Any) -> Any:
            journal.append(f"load {ctx.name}")
            if raises is not None:
                raise raises
            return result

        def unload(self, ctx: Any) -> Any:
            journal.append(f"unload {ctx.name}")
            return False if refuse_unload else None

    M.requires = requires  # type: ignore[attr-defined]
    M.optional_modules = optional  # type: ignore[attr-defined]
    M.enhances = enhances  # type: ignore[attr-defined]
    if priority is not None:
        M.load_priority = priority  # type: ignore[attr-defined]
    if support is not None:
        M.support_level = support  # type: ignore[attr-defined]
    if description is not None:
        M.description = description  # type: ignore[attr-defined]
    return M


def loads(journal: Journal) -> list[str]:
    return [e.split()[1] for e in journal if e.startswith("load ")]


def status(host: Host) -> dict[str, str]:
    return {m["name"]: m["status"] for m in host.list_modules()}


@pytest.fixture
def journal() -> Journal:
    return Journal()


def test_autoload_starts_everything_in_name_order(make_host: HostFactory, journal: Journal) -> None:
    host = make_host({n: module(journal) for n in ["res_b", "RES_a", "chan_c"]})
    report = host.start()
    assert loads(journal) == ["chan_c", "RES_a", "res_b"]
    assert report.running == 3 and report.declined == 0


def test_explicit_entries_come_first_in_config_order(
    make_host: HostFactory, journal: Journal
) -> None:
    host = make_host({n: module(journal) for n in ["a", "b", "c", "d"]}, load=("d", "b"))
    host.start()
    assert loads(journal) == ["d", "b", "a", "c"]


def test_autoload_off_starts_only_listed(make_host: HostFactory, journal: Journal) -> None:
    mods = {n: module(journal) for n in ["a", "b", "c"]}
    discovery = StaticDiscovery("ns", mods)
    config = ModulesConfig(autoload=False, entries=entries("c"))
    host = Host("ns", discovery=discovery, config=config)
    host.start()
    assert loads(journal) == ["c"]
    assert discovery.loaded == ["c"]  # the others were never imported
    assert [m["name"] for m in host.list_modules()] == ["c"]


def test_noload_is_never_imported(make_host: HostFactory, journal: Journal) -> None:
    mods = {n: module(journal) for n in ["a", "b"]}
    discovery = StaticDiscovery("ns", mods)
    host = Host("ns", discovery=discovery, config=ModulesConfig(noload=("B.so",)))
    host.start()
    assert discovery.loaded == ["a"]
    assert "b" not in status(host)


def test_priority_orders_within_a_phase(make_host: HostFactory, journal: Journal) -> None:
    host = make_host(
        {
            "late": module(journal, priority=150),
            "early": module(journal, priority=10),
            "mid": module(journal, priority=50),
            "default": module(journal),
        }
    )
    host.start()
    assert loads(journal) == ["early", "mid", "default", "late"]


def test_dependency_inherits_the_earliest_slot(make_host: HostFactory, journal: Journal) -> None:
    # The SPEC 4.2 example: base(150), dep(10, requires base), p50(50) -> base, dep, p50.
    host = make_host(
        {
            "base": module(journal, priority=150),
            "dep": module(journal, priority=10, requires=("base",)),
            "p50": module(journal, priority=50),
        }
    )
    host.start()
    assert loads(journal) == ["base", "dep", "p50"]


def test_optional_in_load_order_starts_first_and_is_referenced(
    make_host: HostFactory, journal: Journal
) -> None:
    host = make_host(
        {
            "app": module(journal, priority=10, optional=("res_opt",)),
            "res_opt": module(journal, priority=200),
        }
    )
    host.start()
    assert loads(journal) == ["res_opt", "app"]
    assert host.get_module("res_opt")["holders"] == ["app"]


def test_optional_absent_or_declined_is_ignored(make_host: HostFactory, journal: Journal) -> None:
    host = make_host(
        {
            "app": module(journal, optional=("missing", "res_bad")),
            "res_bad": module(journal, result=LoadResult.DECLINE),
        }
    )
    host.start()
    assert status(host) == {"app": "Running", "res_bad": "Not Running"}


def test_enhancer_starts_before_modules_requiring_its_target(
    make_host: HostFactory, journal: Journal
) -> None:
    host = make_host(
        {
            "core": module(journal, priority=10),
            "user": module(journal, priority=20, requires=("core",)),
            "zz_enhancer": module(journal, priority=200, enhances=("core",)),
        }
    )
    host.start()
    assert loads(journal) == ["core", "zz_enhancer", "user"]
    assert host.get_module("core")["holders"] == ["user", "zz_enhancer"]


def test_enhancer_whose_target_is_missing_declines(
    make_host: HostFactory, journal: Journal
) -> None:
    host = make_host({"enh": module(journal, enhances=("nothere",))})
    report = host.start()
    assert status(host) == {"enh": "Not Running"}
    assert "Failed to resolve dependencies for enh: 'nothere' is not installed" in report.lines


@pytest.mark.parametrize(
    ("setup", "why"),
    [
        ({}, "'base' is not installed"),
        ({"noload": ("base",)}, "'base' is noload'ed"),
        ({"autoload": False, "load": ("app",)}, "'base' is not in the load order"),
    ],
    ids=["not-installed", "noloaded", "autoload-off"],
)
def test_dependencies_are_not_loaded_automatically(
    make_host: HostFactory, journal: Journal, setup: dict[str, Any], why: str
) -> None:
    mods: dict[str, Any] = {"app": module(journal, requires=("base",))}
    if setup:
        mods["base"] = module(journal)
    host = make_host(mods, **setup)
    report = host.start()
    assert status(host)["app"] == "Not Running"
    line = next(m for m in report.lines if m.startswith("Failed to resolve dependencies for app"))
    assert why in line
    assert "load app" not in journal


def test_decline_cascades_without_calling_load(make_host: HostFactory, journal: Journal) -> None:
    host = make_host(
        {
            "base": module(journal, raises=ModuleDeclined("no base.conf")),
            "a": module(journal, requires=("base",)),
            "b": module(journal, requires=("base",)),
        }
    )
    report = host.start()
    assert loads(journal) == ["base"]
    assert "Declined modules which depend on base: a, b" in report.lines
    assert "base declined to load." in report.lines
    assert "base: no base.conf" in report.lines
    assert "Some non-required modules failed to load." in report.lines
    assert host.get_module("a")["last_error"] == "dependency 'base' declined to load"


def test_a_decline_without_a_reason_says_so(make_host: HostFactory, journal: Journal) -> None:
    host = make_host({"mute": module(journal, raises=ModuleDeclined(""))})
    report = host.start()
    assert "mute: load() raised ModuleDeclined without a reason" in report.lines
    assert host.get_module("mute")["last_error"] == "load() raised ModuleDeclined without a reason"
    assert "mute: load() raised ModuleDeclined without a reason" in (
        host.run("module load mute").output.splitlines()
    )


def test_cycle_declines_every_member_and_names_it(make_host: HostFactory, journal: Journal) -> None:
    host = make_host(
        {
            "a": module(journal, requires=("b",)),
            "b": module(journal, requires=("a",)),
            "c": module(journal, requires=("a",)),
            "d": module(journal),
        }
    )
    report = host.start()
    assert status(host) == {
        "a": "Not Running",
        "b": "Not Running",
        "c": "Not Running",
        "d": "Running",
    }
    assert host.get_module("a")["last_error"] == "dependency cycle: a -> b -> a"
    assert "Declined modules which depend on a: c" in report.lines
    assert loads(journal) == ["d"]


@pytest.mark.parametrize(
    "raises",
    [RuntimeError("boom"), ImportError("no numpy"), SystemExit(3), AttributeError("nope")],
    ids=["exception", "import-error", "system-exit", "attribute-error"],
)
def test_exception_in_load_is_a_decline(
    make_host: HostFactory, journal: Journal, raises: BaseException
) -> None:
    host = make_host({"bad": module(journal, raises=raises), "good": module(journal)})
    host.start()
    assert status(host) == {"bad": "Not Running", "good": "Running"}
    assert type(raises).__name__ in host.get_module("bad")["last_error"]


@pytest.mark.parametrize(
    "raised",
    [KeyboardInterrupt(), SystemExit(3), GeneratorExit(), type("Custom", (BaseException,), {})()],
    ids=["KeyboardInterrupt", "SystemExit", "GeneratorExit", "custom"],
)
def test_a_base_exception_from_load_is_a_decline(
    make_host: HostFactory, journal: Journal, raised: BaseException
) -> None:
    # Module code runs in its own thread: what it raises there is the module's, not a Ctrl-C.
    host = make_host({"bad": module(journal, raises=raised), "ok": module(journal)})
    host.start()
    info = host.get_module("bad")
    assert info.state == "declined"
    assert info.last_error is not None
    assert info.last_error.startswith(type(raised).__name__)
    assert status(host)["ok"] == "Running"


def test_a_required_module_raising_keyboard_interrupt_aborts_and_unwinds(
    make_host: HostFactory, journal: Journal
) -> None:
    host = make_host(
        {
            "a": module(journal, priority=1),
            "b": module(journal, priority=2),
            "c": module(journal, priority=3, raises=KeyboardInterrupt()),
        },
        load=("a", "b", "c!"),
    )
    with pytest.raises(StartupError) as info:
        host.start()
    assert info.value.exit_code == 2
    assert journal == ["load a", "load b", "load c", "unload b", "unload a"]


def test_import_failure_is_a_decline(make_host: HostFactory, journal: Journal) -> None:
    host = make_host(
        {"broken": ImportError("No module named 'missing_lib'"), "ok": module(journal)}
    )
    host.start()
    assert host.get_module("broken")["last_error"] == "ImportError: No module named 'missing_lib'"
    assert status(host)["ok"] == "Running"


def test_import_failure_and_load_failure_log_their_tracebacks_alike(
    make_host: HostFactory, journal: Journal, caplog: pytest.LogCaptureFixture
) -> None:
    host = make_host(
        {
            "broken": ImportError("No module named 'missing_lib'"),
            "raising": module(journal, raises=RuntimeError("boom")),
        }
    )
    with caplog.at_level(logging.DEBUG, logger="modloader"):
        host.start()
    # One WARNING line with the reason each (the decline's report does not say it again,
    # though its messages hold it); the traceback at DEBUG (-v), for both.
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        "broken: import() raised ImportError: No module named 'missing_lib'",
        "broken declined to load.",
        "raising: load() raised RuntimeError: boom",
        "raising declined to load.",
        "Some non-required modules failed to load.",
    ]
    assert host.report is not None
    assert "broken: ImportError: No module named 'missing_lib'" in host.report.lines
    assert "raising: RuntimeError: boom" in host.report.lines
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING and r.exc_info]
    # Formatted in the module's call (words.told): the log record carries it as text.
    tracebacks = {
        r.getMessage().partition("\n")[0]: r
        for r in caplog.records
        if "the traceback of" in r.getMessage()
    }
    assert set(tracebacks) == {
        "broken: the traceback of import()",
        "raising: the traceback of load()",
    }
    assert {r.levelno for r in tracebacks.values()} == {logging.DEBUG}
    assert (
        tracebacks["broken: the traceback of import()"]
        .getMessage()
        .endswith("ImportError: No module named 'missing_lib'")
    )
    assert (
        tracebacks["raising: the traceback of load()"].getMessage().endswith("RuntimeError: boom")
    )


def test_failure_aborts_and_unwinds_in_reverse(make_host: HostFactory, journal: Journal) -> None:
    host = make_host(
        {
            "a": module(journal, priority=1),
            "b": module(journal, priority=2),
            "c": module(journal, priority=3, result=LoadResult.FAILURE),
            "d": module(journal, priority=4),
        }
    )
    with pytest.raises(StartupError) as info:
        host.start()
    assert info.value.exit_code == 2
    assert str(info.value) == "*** Failed to load module c"
    assert journal == ["load a", "load b", "load c", "unload b", "unload a"]


def test_required_decline_aborts_with_exit_2(make_host: HostFactory, journal: Journal) -> None:
    host = make_host(
        {"a": module(journal, priority=1), "req": module(journal, result=LoadResult.DECLINE)},
        load=("req!",),
    )
    with pytest.raises(StartupError, match=r"^\*\*\* Failed to load required module req$") as info:
        host.start()
    assert info.value.exit_code == 2
    assert journal == ["load a", "load req", "unload a"]


def test_required_not_installed_fails_before_starting_anything(
    make_host: HostFactory, journal: Journal
) -> None:
    host = make_host({"a": module(journal)}, load=("res_gone!",))
    with pytest.raises(StartupError, match=r"^\*\*\* Failed to load module res_gone - Required$"):
        host.start()
    assert journal == []


def test_required_depending_on_declined(make_host: HostFactory, journal: Journal) -> None:
    host = make_host(
        {
            "base": module(journal, result=LoadResult.DECLINE),
            "req": module(journal, requires=("base",)),
        },
        load=("req!",),
    )
    with pytest.raises(
        StartupError, match=r"^Cannot load required module req that depends on base$"
    ):
        host.start()


def test_preload_runs_before_core_init_with_its_dependencies(
    make_host: HostFactory, journal: Journal
) -> None:
    host = make_host(
        {
            "res_db": module(journal, priority=200),
            "res_realtime": module(journal, requires=("res_db",)),
            "app": module(journal, priority=1),
        },
        load=("^res_realtime",),
    )
    host.start(lambda h: journal.append("core init"))
    assert journal == ["load res_db", "load res_realtime", "core init", "load app"]


def test_an_enhancer_of_what_a_preloaded_module_requires_starts_first_when_preloaded_too(
    make_host: HostFactory, journal: Journal
) -> None:
    # Who enhances a module is known from its code: the preload phase imports only
    # what it starts, so the enhancer is pulled forward when it is preloaded itself.
    modules = {
        "plain": module(journal),
        "enh": module(journal, enhances=("plain",), priority=200),
        "user": module(journal, requires=("plain",), priority=20),
    }
    host = make_host(modules, load=("^user",))
    host.start(lambda h: journal.append("core init"))
    assert journal == ["load plain", "load user", "core init", "load enh"]
    assert host.get_module("enh")["holders"] == []
    host.stop()
    journal.clear()
    host = make_host(modules, load=("^user", "^enh"))
    host.start(lambda h: journal.append("core init"))
    assert journal == ["load plain", "load enh", "load user", "core init"]
    assert host.get_module("enh")["holders"] == ["user"]


def test_references_are_all_or_none(make_host: HostFactory, journal: Journal) -> None:
    host = make_host(
        {
            "a": module(journal),
            "b": module(journal, result=LoadResult.DECLINE),
            "user": module(journal, requires=("a", "b")),
        }
    )
    host.start()
    assert host.get_module("a")["use_count"] == 0
    assert status(host)["user"] == "Not Running"


def test_description_falls_back_to_summary_then_name(journal: Journal) -> None:
    discovery = StaticDiscovery("ns")
    discovery.add("with_desc", module(journal, description="Mine"), summary="Summary A")
    discovery.add("with_summary", module(journal), summary="Summary B")
    discovery.add("bare", module(journal), summary=None)
    host = Host("ns", discovery=discovery, config=ModulesConfig())
    host.start()
    shown = {m["name"]: m["description"] for m in host.list_modules()}
    assert shown == {"bare": "bare", "with_desc": "Mine", "with_summary": "Summary B"}


def test_deprecated_module_warns(
    make_host: HostFactory, journal: Journal, caplog: pytest.LogCaptureFixture
) -> None:
    host = make_host({"old": module(journal, support="deprecated")})
    with caplog.at_level(logging.WARNING, logger="modloader"):
        host.start()
    assert "Module 'old' is deprecated and may be removed in a future version." in caplog.messages


def test_names_match_case_insensitively_with_so(make_host: HostFactory, journal: Journal) -> None:
    host = make_host(
        {"res_cache": module(journal), "app": module(journal, requires=("RES_CACHE.so",))},
        load=("Res_Cache.SO",),
    )
    host.start()
    assert status(host) == {"app": "Running", "Res_Cache.SO": "Running"}
    with host.use("res_cache.so") as handle:
        assert handle.name == "Res_Cache.SO"


def test_builtin_holds_a_permanent_reference(make_host: HostFactory, journal: Journal) -> None:
    builtin = module(journal)()
    host = make_host({"a": module(journal)}, builtins={"core_builtin": builtin})
    host.start()
    row = host.get_module("core_builtin")
    assert row["builtin"] and row["use_count"] == 1 and row["holders"] == ["built-in"]
    assert not host.run("module unload -h core_builtin").ok


def test_events_report_each_state_change(make_host: HostFactory, journal: Journal) -> None:
    host = make_host({"a": module(journal), "b": module(journal, raises=ModuleDeclined("why"))})
    seen: list[tuple[str, str, str | None]] = []
    host.subscribe(lambda e: seen.append((e.kind.value, e.name, e.reason)))
    host.start()
    host.stop()
    assert seen == [("loaded", "a", None), ("declined", "b", "why"), ("unloaded", "a", None)]


@pytest.mark.parametrize("raised", [SystemExit(1), KeyboardInterrupt(), ValueError("oops")])
def test_a_subscriber_that_raises_anything_is_logged_and_the_change_completes(
    make_host: HostFactory,
    journal: Journal,
    caplog: pytest.LogCaptureFixture,
    raised: BaseException,
) -> None:
    host = make_host({"a": module(journal), "b": module(journal)})
    seen: list[str] = []

    def grumpy(event: Any) -> None:
        seen.append(f"{event.kind.value} {event.name}")
        raise raised

    host.subscribe(grumpy)
    host.start()
    assert host.run("module unload a").ok  # in this thread: nothing escapes into it
    assert host.stop() == ["b"]
    assert seen == ["loaded a", "loaded b", "unloaded a", "unloaded b"]
    assert caplog.text.count("event subscriber") == 4
    assert type(raised).__name__ in caplog.text


def test_stop_unloads_in_reverse_start_order(make_host: HostFactory, journal: Journal) -> None:
    host = make_host(
        {"a": module(journal), "b": module(journal, requires=("c",)), "c": module(journal)}
    )
    host.start()
    journal.clear()
    assert host.stop() == ["b", "c", "a"]
    assert journal == ["unload b", "unload c", "unload a"]


def test_conflicting_names_behave_as_failed(journal: Journal) -> None:
    discovery = StaticDiscovery("ns")
    discovery.add("dup", module(journal), dist_name="dist-one", version="1.0")
    host = Host("ns", discovery=discovery, config=ModulesConfig())
    # A second distribution publishing the same name (different spelling).
    discovery.add("DUP.so", module(journal), dist_name="dist-two", version="2.0")
    report = host.start()
    assert journal == []
    row = host.get_module("dup")
    assert row["status"] == "Not Running"
    assert "dist-one 1.0" in row["last_error"] and "dist-two 2.0" in row["last_error"]
    assert any("more than one distribution" in line for line in report.lines)


def test_required_conflict_fails_before_starting(journal: Journal) -> None:
    discovery = StaticDiscovery("ns")
    discovery.add("dup", module(journal), dist_name="one")
    discovery.add("Dup", module(journal), dist_name="two")
    discovery.add("a", module(journal))
    config = ModulesConfig(entries=(ModuleEntry("dup", required=True),))
    with pytest.raises(StartupError, match="Required"):
        Host("ns", discovery=discovery, config=config).start()
    assert journal == []


def test_core_init_failure_unloads_the_preloaded_modules(
    make_host: HostFactory, journal: Journal
) -> None:
    host = make_host({"pre": module(journal), "later": module(journal)}, load=("^pre",))

    def broken_core(h: Host) -> None:
        raise RuntimeError("core would not start")

    with pytest.raises(RuntimeError, match="core would not start"):
        host.start(broken_core)
    assert journal == ["load pre", "unload pre"]
    assert not host.is_running("pre")
