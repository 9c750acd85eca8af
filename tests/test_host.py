"""The public Host: its states, use(), typed module information, and bad arguments."""

from __future__ import annotations

import json
from typing import Any

import pytest
from stevedore.extension import ExtensionManager

from modloader import ConfigError
from modloader import DiscoveryError
from modloader import Host
from modloader import HostState
from modloader import HostStateError
from modloader import InvalidTransitionError
from modloader import ModLoaderError
from modloader import ModuleContext
from modloader import ModuleEntry
from modloader import ModuleInfo
from modloader import ModulesConfig
from modloader import StaticDiscovery
from modloader import UnloadMode

#: The keys of ``module show --json``: a contract with operators' scripts.
#: The --json keys of a module, in the order they are written (module show's columns first).
JSON_KEYS = [
    "name",
    "description",
    "use_count",
    "status",
    "state",
    "support_level",
    "version",
    "distribution",
    "builtin",
    "required",
    "preload",
    "holders",
    "requires",
    "optional_modules",
    "enhances",
    "load_priority",
    "load_time",
    "last_error",
]


class Greeter:
    description = "Says hello"

    def load(self, ctx: ModuleContext) -> None:
        ctx.register_command("hello say", lambda args: "hello " + " ".join(args))


class Quiet:
    description = "Says nothing"


def make(modules: dict[str, Any] | None = None, **kwargs: Any) -> Host:
    discovery = StaticDiscovery("test.host", modules or {"a": Greeter, "b": Quiet})
    return Host("test.host", discovery=discovery, config=ModulesConfig(), **kwargs)


# -- states and use() ------------------------------------------------------------------


def test_use_after_a_stop_now_raises_for_every_name() -> None:
    host = make()
    host.start()
    host.use("a").release()  # "a" is now on use()'s fast path
    host.stop(graceful=False)
    for name in ("a", "b"):
        with pytest.raises(HostStateError):
            host.use(name)


def test_use_before_start_raises() -> None:
    with pytest.raises(HostStateError):
        make().use("a")


def test_operations_need_a_running_host() -> None:
    host = make()
    with pytest.raises(HostStateError):
        host.load("a")
    host.start()
    host.stop()
    with pytest.raises(HostStateError):
        host.unload("a")


def test_a_host_starts_once() -> None:
    host = make()
    host.start()
    assert host.state is HostState.RUNNING
    with pytest.raises(HostStateError):
        host.start()
    assert host.stop() == ["b", "a"]
    assert host.state is HostState.STOPPED


def test_use_and_release_many_times_leave_no_reference() -> None:
    host = make()
    host.start()
    for _ in range(1000):
        with host.use("a", holder="loop"):
            pass
    assert host.get_module("a").use_count == 0


# -- module information ----------------------------------------------------------------


def test_module_info_is_typed_and_frozen() -> None:
    host = make()
    host.start()
    info = host.get_module("A")
    assert isinstance(info, ModuleInfo)
    assert (info.name, info.status, info.state, info.description) == (
        "a",
        "Running",
        "running",
        "Says hello",
    )
    assert info.holders == () and info.builtin is False and info.load_time is not None
    with pytest.raises(AttributeError):
        info.name = "x"  # type: ignore[misc]


def test_module_info_to_dict_is_the_json_form() -> None:
    host = make()
    host.start()
    info = host.list_modules()[0]
    assert list(info.to_dict()) == JSON_KEYS
    assert info[0] == info.name and info["name"] == info.name  # by position, by key
    assert host.run("module show").data["modules"][0] == info.to_dict()
    assert info["holders"] == [] and info["use_count"] == 0
    # Every sequence a list, every value as info[key] gives it: JSON's own types.
    info = info._replace(holders=("app",), requires=("b",), enhances=("c", "d"))
    assert info.to_dict() == {key: info[key] for key in JSON_KEYS}
    assert [k for k, v in info.to_dict().items() if isinstance(v, list)] == [
        "holders",
        "requires",
        "optional_modules",
        "enhances",
    ]
    assert json.loads(json.dumps(info.to_dict())) == info.to_dict()
    # One made from a careless host's reply (RemoteHost takes fields as they come).
    odd = info._replace(holders=None, requires=["b"])  # type: ignore[arg-type]
    assert odd.to_dict() == {key: odd[key] for key in JSON_KEYS}
    assert odd.to_dict()["holders"] is None


def test_extensions_is_a_real_extension_manager() -> None:
    host = make()
    host.start()
    manager = host.extensions
    assert type(manager) is not ExtensionManager and isinstance(manager, ExtensionManager)
    assert manager.names() == ["a", "b"]
    assert manager.map(lambda ext: ext.obj.description) == ["Says hello", "Says nothing"]


# -- commands --------------------------------------------------------------------------


def test_module_commands_live_in_the_one_table() -> None:
    host = make({"a": Greeter, "b": Greeter})
    host.start()
    assert host.run("hello say there").output == "hello there"
    # "b" registers the same words: refused, so "b" declines and "a" keeps them.
    assert host.get_module("b").state == "declined"
    assert "already registered by 'a'" in (host.get_module("b").last_error or "")
    host.unload("a")
    assert not host.run("hello say there").ok


def test_a_module_may_not_take_a_host_command() -> None:
    class Thief:
        def load(self, ctx: ModuleContext) -> None:
            ctx.register_command("module show", lambda args: "mine")

    host = make({"thief": Thief})
    host.start()
    assert host.get_module("thief").state == "declined"
    assert host.run("module show").output.startswith("Module")


@pytest.mark.parametrize(
    ("words", "taken"),
    [("core stop now", "core stop'"), ("module", "module "), ("module show extra", "module show'")],
)
def test_a_module_may_not_take_lines_of_a_host_command(words: str, taken: str) -> None:
    class Thief:
        def load(self, ctx: ModuleContext) -> None:
            ctx.register_command(words, lambda args: "mine")

    host = make({"thief": Thief})
    host.start()
    try:
        assert host.get_module("thief").state == "declined"
        error = host.get_module("thief").last_error or ""
        assert f"command '{words}' would take lines of '{taken}" in error
        assert error.endswith("registered by the host")
        assert host.run("module lod a").output.startswith("No such command 'module lod a'")
        assert host.run("module show extra").output.startswith("Usage: module show")
    finally:
        host.stop()


def test_modules_may_not_take_lines_of_each_others_commands() -> None:
    class Other:
        def load(self, ctx: ModuleContext) -> None:
            ctx.register_command("hello say loudly", lambda args: "mine")

    host = make({"a": Greeter, "other": Other})
    host.start()
    try:
        assert "would take lines of 'hello say', registered by 'a'" in (
            host.get_module("other").last_error or ""
        )
        assert host.run("hello say loudly").output == "hello loudly"
    finally:
        host.stop()


def test_run_and_execute_run_the_same_command() -> None:
    """They differ only in when a result's structured form is made (run: at once)."""
    host = Host("ns", discovery=StaticDiscovery("ns", {"res_a": object()}), config=ModulesConfig())
    host.start()
    try:
        ran, executed = host.run("module show"), host.execute("module show")
        assert (ran.ok, ran.output, ran.data) == (executed.ok, executed.output, executed.data)
    finally:
        host.stop()


# -- errors ----------------------------------------------------------------------------


def test_a_failing_scan_is_a_discovery_error() -> None:
    class Broken(StaticDiscovery):
        def scan(self) -> Any:
            raise OSError("metadata unreadable")

    host = Host("test.host", discovery=Broken("test.host"), config=ModulesConfig())
    with pytest.raises(DiscoveryError, match="metadata unreadable"):
        host.start()


@pytest.mark.parametrize(
    ("config", "issue"),
    [
        (
            ModulesConfig(noload=("core_x",)),
            "<code>: core_x is a built-in module, you cannot specify 'noload'.",
        ),
        (
            ModulesConfig(entries=(ModuleEntry("a", required=True),), noload=("A",)),
            "<code>: A is configured with 'require' and 'noload', this is impossible.",
        ),
        (
            ModulesConfig(
                entries=(ModuleEntry("a", True, True, "app.conf", 3),),
                noload=("a",),
                noload_at=(ModuleEntry("a", source="app.conf", line=9),),
            ),
            "app.conf:9: a is configured with 'preload-require' and 'noload', this is impossible.",
        ),
    ],
)
def test_a_config_made_in_code_goes_through_the_rules_over_names(
    config: ModulesConfig, issue: str
) -> None:
    discovery = StaticDiscovery("test.host", {"a": Greeter})
    host = Host("test.host", discovery=discovery, builtins={"core_x": Quiet()}, config=config)
    with pytest.raises(ConfigError) as caught:
        host.start()
    assert [str(found) for found in caught.value.issues] == [issue]
    assert host.state is HostState.STOPPED
    assert host.list_modules() == []


def test_a_config_made_in_code_may_noload_what_is_neither_built_in_nor_required() -> None:
    config = ModulesConfig(entries=(ModuleEntry("a", preload=True),), noload=("b", "c"))
    discovery = StaticDiscovery("test.host", {"a": Greeter, "b": Quiet})
    host = Host("test.host", discovery=discovery, builtins={"core_x": Quiet()}, config=config)
    host.start()
    assert [info.name for info in host.list_modules()] == ["a", "core_x"]
    host.stop()


def test_invalid_transition_is_a_modloader_error() -> None:
    assert issubclass(InvalidTransitionError, ModLoaderError)


# -- bad input -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [
        ({"config": "modules.conf"}, "config"),
        ({"settings": "autoload=no"}, "settings"),
        ({"builtins": ["a"]}, "builtins"),
        ({"config_path": 3}, "config_path"),
        ({"default_config_path": ["x"]}, "default_config_path"),
        ({"env_prefix": None}, "env_prefix"),
        ({"discovery": "entry points"}, "discovery"),
        ({"strict_hooks": "no"}, "strict_hooks"),
    ],
)
def test_wrong_argument_types_name_the_parameter(kwargs: dict[str, Any], param: str) -> None:
    with pytest.raises(TypeError, match=f"'{param}'"):
        Host("test.host", **kwargs)


@pytest.mark.parametrize("namespace", [{"a": 1}, None, 3])
def test_the_namespace_must_be_a_string(namespace: Any) -> None:
    with pytest.raises(TypeError, match="'namespace'"):
        Host(namespace)


def test_an_empty_namespace_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="'namespace'"):
        Host("  ")


def test_wrong_types_to_the_operations() -> None:
    host = make()
    host.start()
    with pytest.raises(TypeError, match="'name'"):
        host.load(3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="'mode'"):
        host.unload("a", "firm")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="'name'"):
        host.refresh("")
    with pytest.raises(TypeError, match="'name'"):
        host.get_module(None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="'line'"):
        host.run(["module", "show"])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="'core_init'"):
        make().start("not callable")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="'line'"):
        host.complete(None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="'callback'"):
        host.on_stop_request(42)  # type: ignore[arg-type]
    for name in (["a"], {"a": 1}, None, 3):  # hashable or not, before and after a use of "a"
        with pytest.raises(TypeError, match=r"use\(\): 'name' must be a module name \(str\)"):
            host.use(name)  # type: ignore[arg-type]
        host.use("a").release()
    with pytest.raises(TypeError, match="'timeout'"):
        host.wait_for_stop("soon")  # type: ignore[arg-type]
    assert host.wait_for_stop(0) is None
    with pytest.raises(ValueError, match="'module_timeout' must be at most"):
        host.module_timeout = 1e300  # longer than a thread can wait: the stop failed
    host.request_stop(graceful=False)
    assert host.wait_for_stop(1e300) is False  # as long as a thread can wait: for good
    assert host.unload("a", UnloadMode.SOFT).name == "a"


@pytest.mark.parametrize("flag", ["no", "False", 0, None, 1])
def test_a_yes_or_no_argument_must_be_a_bool(flag: Any) -> None:
    """A truthy stand-in would do the opposite of what ``"no"`` or ``"False"`` says."""
    host = make()
    host.start()
    with pytest.raises(TypeError, match="'recursive' must be True or False"):
        host.refresh("a", recursive=flag)
    with pytest.raises(TypeError, match="'graceful' must be True or False"):
        host.request_stop(graceful=flag)
    assert host.wait_for_stop(0) is None  # the wrong request was not made
    with pytest.raises(TypeError, match="'graceful' must be True or False"):
        host.stop(graceful=flag)
    assert host.state is HostState.RUNNING and host.is_running("a")
    assert sorted(host.stop(graceful=True)) == ["a", "b"]


def test_wrong_types_from_a_module_name_the_parameter() -> None:
    seen: list[str] = []

    class Careless:
        def load(self, ctx: ModuleContext) -> None:
            for call in (
                lambda: ctx.register("timer", "not callable"),  # type: ignore[arg-type]
                lambda: ctx.register_command("", lambda args: None),
                lambda: ctx.register_command("go", "not callable"),  # type: ignore[arg-type]
            ):
                try:
                    call()
                except TypeError as exc:
                    seen.append(str(exc))

    host = make({"careless": Careless})
    host.start()
    assert [message.split(" must")[0] for message in seen] == [
        "register(): 'remove'",
        "register_command(): 'words'",
        "register_command(): 'handler'",
    ]


def test_holders_the_application_names_otherwise_than_with_text_are_shown_as_text() -> None:
    # use() is the hot path: it takes the label as given; what shows it makes it text.
    host = make({"a": Greeter, "b": Quiet, "c": type("Needs", (), {"requires": ("b",)})})
    host.start()
    held = [host.use("b", holder=123), host.use("b", holder=["x"]), host.use("b")]  # type: ignore[arg-type]
    assert host.get_module("b").holders == ("123", "['x']", "c", "host")
    assert "b" in host.run("module show").output
    refused = host.run("module unload b")
    assert not refused.ok
    assert "(held by 123, ['x'], c, host)" in refused.output
    for handle in held:
        handle.release()
    assert host.unload("b", UnloadMode.FIRM).dependents_unloaded == ("c",)
    host.stop()
