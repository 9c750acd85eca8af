"""What a module's context accepts: wrong arguments are the module's TypeError, a decline."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from typing import ClassVar

import pytest

from modloader import Host
from modloader import ModuleNotRunningError
from modloader import ModulesConfig
from modloader import StaticDiscovery
from modloader import UnloadMode
from modloader.testing import module_object


def _noop(args: list[str]) -> str:
    return "ok"


def _host(module: type) -> Host:
    host = Host("t.ctx", discovery=StaticDiscovery("t.ctx", {"m": module}), config=ModulesConfig())
    host.start()
    return host


CALLS: dict[str, tuple[Callable[[Any], None], str]] = {
    "words": (
        lambda ctx: ctx.register_command("  ", _noop),
        "register_command(): 'words' must be a non-empty str, not '  '",
    ),
    "handler": (
        lambda ctx: ctx.register_command("odd cmd", "not callable"),
        "register_command(): 'handler' must be callable, not 'not callable'",
    ),
    "summary": (
        lambda ctx: ctx.register_command("odd cmd", _noop, summary=123),
        "register_command(): 'summary' must be a str, not 123",
    ),
    "usage": (
        lambda ctx: ctx.register_command("odd cmd", _noop, usage=["odd", "cmd"]),
        "register_command(): 'usage' must be a str or None, not ['odd', 'cmd']",
    ),
    "what": (
        lambda ctx: ctx.register(42, lambda: None),
        "register(): 'what' must be a str, not 42",
    ),
    "remove": (
        lambda ctx: ctx.register("a thing", None),
        "register(): 'remove' must be callable, not None",
    ),
}


@pytest.mark.parametrize("case", list(CALLS))
def test_a_wrong_argument_declines_the_module_naming_it(case: str) -> None:
    call, message = CALLS[case]

    class Careless:
        def load(self, ctx: Any) -> None:
            call(ctx)

    host = Host(
        "t.ctx", discovery=StaticDiscovery("t.ctx", {"m": Careless}), config=ModulesConfig()
    )
    host.start()
    info = host.get_module("m")
    assert info.state == "declined"
    assert info.last_error == f"TypeError: {message}"
    assert host.run("core show help").ok  # nothing half-registered
    assert "odd cmd" not in host.run("core show help").output
    host.stop()


def test_a_command_with_its_summary_and_usage_is_in_the_help() -> None:
    class Careful:
        def load(self, ctx: Any) -> None:
            ctx.register_command("odd cmd", _noop, summary="Does odd things", usage="odd cmd [X]")

    host = _host(Careful)
    assert "odd cmd            -- Does odd things" in host.run("core show help").output
    assert "Usage: odd cmd [X]" in host.run("core show help odd cmd").output
    assert host.run("odd cmd").output == "ok"
    host.stop()


def test_a_holder_that_is_not_text_declines_the_module_that_passes_it() -> None:
    class Base:
        pass

    class Careless:
        def load(self, ctx: Any) -> None:
            ctx.use("base", holder=123)

    host = Host(
        "t.ctx",
        discovery=StaticDiscovery("t.ctx", {"base": Base, "m": Careless}),
        config=ModulesConfig(autoload=True),
    )
    host.start()
    assert host.get_module("m").last_error == "TypeError: use(): 'holder' must be a str, not 123"
    assert host.get_module("base").use_count == 0  # nothing was held
    host.stop()


@pytest.mark.parametrize(
    ("name", "error"),
    [
        (3, "TypeError: use(): 'name' must be a module name (str), not 3"),
        ("", "ValueError: use(): 'name' must not be empty"),
        (None, "TypeError: use(): 'name' must be a module name (str), not None"),
    ],
)
def test_a_module_name_that_is_not_one_is_named_as_host_use_names_it(
    name: object, error: str
) -> None:
    class Careless:
        def load(self, ctx: Any) -> None:
            ctx.use(name)

    host = Host(
        "t.ctx",
        discovery=StaticDiscovery("t.ctx", {"m": Careless}),
        config=ModulesConfig(autoload=True),
    )
    host.start()
    assert host.get_module("m").last_error == error
    host.stop()


#: What a context kept past its module's unload is asked for (by a thread left behind).
LATE_CALLS: dict[str, Callable[[Any], object]] = {
    "use": lambda ctx: ctx.use("other"),
    "register": lambda ctx: ctx.register("a thing", lambda: None),
    "register_command": lambda ctx: ctx.register_command("late hi", _noop),
}


class _Keeps:
    """Keeps each context it is given, as a careless module's background thread would."""

    contexts: ClassVar[list[Any]] = []

    def load(self, ctx: Any) -> None:
        _Keeps.contexts.append(ctx)


class _Other:
    def load(self, ctx: Any) -> None:
        pass


@pytest.mark.parametrize("case", list(LATE_CALLS))
@pytest.mark.parametrize("again", [False, True], ids=["unloaded", "loaded-again"])
def test_a_context_kept_past_its_module_s_unload_speaks_for_nothing(case: str, again: bool) -> None:
    _Keeps.contexts = []
    discovery = StaticDiscovery("t.ctx", {"keeps": _Keeps, "other": _Other})
    host = Host("t.ctx", discovery=discovery, config=ModulesConfig())
    host.start()
    host.unload("keeps")
    if again:  # the same name, a new module object and a new context
        host.load("keeps")
    old = _Keeps.contexts[0]
    with pytest.raises(ModuleNotRunningError) as info:
        LATE_CALLS[case](old)
    assert str(info.value) == "Module 'keeps' is not running (unloaded)"
    # Nothing was taken or added in its name: no holder, no command.
    assert host.get_module("other").holders == ()
    assert not host.run("late hi").ok
    if again:  # the module loaded again has its own context, which works
        with _Keeps.contexts[1].use("other"):
            assert host.get_module("other").holders == ("keeps",)
        host.unload("keeps")
    assert host.unload("other").forced_use_count == 0  # a soft unload: nobody holds it
    host.stop()


class _Store:
    description = "what the others use"


def test_references_a_module_still_holds_when_it_is_removed_are_given_back(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Everything a module took through its context goes with it, references too, however
    it goes: a soft or hard unload, or a decline after it took them."""

    class Keeper:
        def load(self, ctx: Any) -> None:
            self.kept = ctx.use("a_store")
            with ctx.use("a_store", holder="once"):  # released by the module itself
                pass
            self.job = ctx.use("a_store", holder="job")

    class Decliner:
        def load(self, ctx: Any) -> None:
            self.kept = ctx.use("a_store")
            raise RuntimeError("no after all")

    modules = {"a_store": _Store, "keeper": Keeper, "m_hard": Keeper, "decliner": Decliner}
    host = Host("t.ctx", discovery=StaticDiscovery("t.ctx", modules), config=ModulesConfig())
    host.start()
    assert host.get_module("decliner")["state"] == "declined"
    assert sorted(host.get_module("a_store").holders) == ["job", "job", "keeper", "m_hard"]
    job = module_object(host, "m_hard").job
    with caplog.at_level("WARNING", logger="modloader"):
        host.unload("keeper")
        host.unload("m_hard", UnloadMode.HARD)
    assert host.get_module("a_store").holders == ()
    said = [r.getMessage() for r in caplog.records if "gave back" in r.getMessage()]
    template = "{}: gave back its reference on a_store (holder '{}'), which it still held"
    assert sorted(said) == sorted(
        template.format(name, holder)
        for name, holder in [
            ("decliner", "decliner"),  # when it declined
            ("keeper", "keeper"),
            ("keeper", "job"),
            ("m_hard", "m_hard"),
            ("m_hard", "job"),
        ]
    )
    job.release()  # the job's own release, later: harmless
    assert host.unload("a_store").name == "a_store"  # a soft unload: nothing holds it
    host.stop()
