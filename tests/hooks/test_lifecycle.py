"""Modules join the hooks when running and leave before unload(), every way in and out."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from modloader import Host
from tests.hooks.conftest import HookSite
from tests.hooks.conftest import obj

HostFactory = Callable[..., Host]


def callers(host: Host) -> list[str]:
    return [impl.plugin_name for impl in host.hook.filter_note.get_hookimpls()]


def during(site: HookSite) -> list[object]:
    """The results of calls made from inside unload() (the taggers trace their own names)."""
    return [c for c in site.specs.CALLS if isinstance(c, list)]


@pytest.fixture
def three(hook_site: HookSite) -> HookSite:
    for name in ("res_a", "res_b", "res_c"):
        hook_site.add(name)
    return hook_site


def test_startup_and_module_load_join(three: HookSite, app_host: HostFactory) -> None:
    host = app_host(noload=["res_c"])
    assert host.hook.filter_note(text="n") == ["n|res_a", "n|res_b"]
    assert host.run("module load res_c").ok
    assert host.hook.filter_note(text="n") == ["n|res_a", "n|res_b", "n|res_c"]


@pytest.mark.parametrize("flag", ["", "-f ", "-h "], ids=["soft", "firm", "hard"])
def test_every_unload_leaves_before_unload_is_called(
    three: HookSite, app_host: HostFactory, flag: str
) -> None:
    three.add(
        "res_b",
        """
        class Module:
            @hookimpl
            def filter_note(self, text):
                return text + "|" + NAME

            def unload(self, ctx):
                # A call made from unload() itself no longer reaches this module.
                CALLS.append(ctx.host.hook.filter_note(text="during"))
        """,
    )
    host = app_host()
    assert host.run(f"module unload {flag}res_b").ok
    assert during(three) == [["during|res_a", "during|res_c"]]
    assert host.hook.filter_note(text="n") == ["n|res_a", "n|res_c"]
    assert "res_b" not in host.run("module show hooks").output


REFUSER = """
class Module:
    @hookimpl
    def filter_note(self, text):
        return text + "|" + NAME

    @hookimpl
    def app_ready(self, app):
        CALLS.append("ready " + NAME)

    def unload(self, ctx):
        CALLS.append(ctx.host.hook.filter_note(text="during"))
        return False
"""


def test_a_refused_unload_rejoins_in_its_place_without_replay(
    three: HookSite, app_host: HostFactory
) -> None:
    three.add("res_b", REFUSER)
    host = app_host()
    host.hook.app_ready.call_historic(kwargs={"app": "x"})
    assert host.run("module unload -f res_b").output.startswith("Firm unload failed for res_b")
    assert during(three) == [["during|res_a", "during|res_c"]]
    assert host.hook.filter_note(text="n") == ["n|res_a", "n|res_b", "n|res_c"]
    assert three.specs.CALLS.count("ready res_b") == 1


def test_a_hard_unload_removes_a_refusing_module_from_the_hooks(
    three: HookSite, app_host: HostFactory
) -> None:
    three.add("res_b", REFUSER)
    host = app_host()
    result = host.run("module unload -h res_b")
    assert "** Dangerous **" in result.output
    assert host.hook.filter_note(text="n") == ["n|res_a", "n|res_c"]


def test_reload_keeps_the_module_in_place(three: HookSite, app_host: HostFactory) -> None:
    three.add(
        "res_a",
        """
        class Module:
            suffix = "v1"

            @hookimpl
            def filter_note(self, text):
                return text + "|" + self.suffix

            def reload(self, ctx):
                self.suffix = "v2"
        """,
    )
    host = app_host()
    assert host.run("module reload res_a").ok
    assert host.hook.filter_note(text="n") == ["n|v2", "n|res_b", "n|res_c"]


def test_refresh_moves_the_module_to_the_end_of_the_start_order(
    three: HookSite, app_host: HostFactory
) -> None:
    host = app_host()
    first = obj(host, "res_a")
    assert host.run("module refresh res_a").ok
    assert obj(host, "res_a") is not first
    assert host.hook.filter_note(text="n") == ["n|res_b", "n|res_c", "n|res_a"]


def test_refresh_recursively_brings_the_dependents_back(
    hook_site: HookSite, app_host: HostFactory
) -> None:
    hook_site.add("res_base")
    hook_site.add(
        "app_user",
        """
        class Module:
            requires = ["res_base"]

            @hookimpl
            def filter_note(self, text):
                return text + "|" + NAME
        """,
    )
    host = app_host()
    assert host.run("module refresh res_base recursively").ok
    assert host.hook.filter_note(text="n") == ["n|res_base", "n|app_user"]


def test_upgrade_by_refresh_calls_the_new_code(three: HookSite, app_host: HostFactory) -> None:
    host = app_host()
    three.add(
        "res_b",
        """
        class Module:
            @hookimpl
            def filter_note(self, text):
                return text + "|res_b 2.0"
        """,
        version="2.0",
    )
    assert host.run("module refresh res_b").ok
    assert host.get_module("res_b")["version"] == "2.0"
    assert host.hook.filter_note(text="n") == ["n|res_a", "n|res_c", "n|res_b 2.0"]


def test_a_module_that_declines_never_joins(hook_site: HookSite, app_host: HostFactory) -> None:
    hook_site.add(
        "res_no",
        """
        class Module:
            @hookimpl
            def filter_note(self, text):
                return "never"

            def load(self, ctx):
                return LoadResult.DECLINE
        """,
    )
    host = app_host()
    assert host.hook.filter_note(text="n") == []
    assert host.run("module unload res_no").ok  # removing a declined module is harmless


def test_shutdown_leaves_no_module_in_the_hooks(three: HookSite, app_host: HostFactory) -> None:
    host = app_host()
    host.stop()
    assert callers(host) == []
    assert host.hook.filter_note(text="n") == []


BLOCKER = """
import threading

ENTERED = threading.Event()
GO = threading.Event()


class Module:
    @hookimpl
    def filter_note(self, text):
        ENTERED.set()
        assert GO.wait(10)
        return text + "|" + NAME
"""


@pytest.fixture
def blocked(hook_site: HookSite, app_host: HostFactory) -> tuple[Host, list[object], object]:
    """res_a blocks inside a call made in a thread; res_b and res_c wait their turn."""
    hook_site.add("res_a", BLOCKER)
    hook_site.add("res_b")
    hook_site.add("res_c")
    host = app_host()
    results, thread, module = call_blocked_in_res_a(host)
    return host, results, (thread, module)


def call_blocked_in_res_a(host: Host) -> tuple[list[object], threading.Thread, Any]:
    """Start a filter_note call in a thread; return once it is inside res_a (a BLOCKER)."""
    module = __import__("hookmod_res_a.module", fromlist=["ENTERED"])
    results: list[object] = []
    thread = threading.Thread(target=lambda: results.append(host.hook.filter_note(text="n")))
    thread.start()
    assert module.ENTERED.wait(10)
    return results, thread, module


def test_a_soft_unload_during_a_call_is_refused_naming_the_call(
    blocked: tuple[Host, list[object], object],
) -> None:
    host, results, (thread, module) = blocked  # type: ignore[misc]
    for name in ("res_a", "res_c"):  # the one it is in, and one it has yet to reach
        result = host.run(f"module unload {name}")
        assert not result.ok
        assert f"Soft unload failed, '{name}' has use count 1 (held by hook:filter_note)" in (
            result.output
        )
    assert host.get_module("res_b")["holders"] == ["hook:filter_note"]
    module.GO.set()
    thread.join(10)
    assert results == [["n|res_a", "n|res_b", "n|res_c"]]
    # The references went back with the call.
    assert all(m["use_count"] == 0 for m in host.list_modules())
    assert host.run("module unload res_c").ok


def test_a_firm_unload_during_a_call_skips_the_module_the_call_has_not_reached(
    blocked: tuple[Host, list[object], object],
) -> None:
    host, results, (thread, module) = blocked  # type: ignore[misc]
    result = host.run("module unload -f res_b")
    assert result.ok
    assert "Forcing removal of module 'res_b' with use count 1" in result.output
    module.GO.set()
    thread.join(10)
    assert results == [["n|res_a", "n|res_c"]]
    assert all(m["use_count"] == 0 for m in host.list_modules())


def test_a_firm_unload_of_the_module_a_call_is_in_lets_the_call_finish(
    blocked: tuple[Host, list[object], object],
) -> None:
    host, results, (thread, module) = blocked  # type: ignore[misc]
    assert host.run("module unload -f res_a").ok
    module.GO.set()
    thread.join(10)
    assert results == [["n|res_a", "n|res_b", "n|res_c"]]
    assert host.hook.filter_note(text="n") == ["n|res_b", "n|res_c"]


def test_a_wrapper_the_call_has_not_entered_is_skipped_after_a_firm_unload(
    hook_site: HookSite, app_host: HostFactory
) -> None:
    hook_site.add(
        "res_a",
        """
        import threading

        ENTERED = threading.Event()
        GO = threading.Event()


        class Module:
            @hookimpl(wrapper=True)
            def wrapped(self, value):
                ENTERED.set()
                assert GO.wait(10)
                result = yield
                return [*result, "outer"]
        """,
    )
    for name, marker in (("res_b", "wrapper=True"), ("res_c", "hookwrapper=True")):
        hook_site.add(
            name,
            f"""
            class Module:
                @hookimpl({marker})
                def wrapped(self, value):
                    CALLS.append("entered " + NAME)
                    result = yield
                    return result
            """,
        )
    hook_site.add(
        "res_d",
        """
        class Module:
            @hookimpl
            def wrapped(self, value):
                return value
        """,
    )
    host = app_host()
    module = __import__("hookmod_res_a.module", fromlist=["ENTERED"])
    results: list[object] = []
    thread = threading.Thread(target=lambda: results.append(host.hook.wrapped(value=1)))
    thread.start()
    assert module.ENTERED.wait(10)
    assert host.run("module unload -f res_b res_c").ok
    module.GO.set()
    thread.join(10)
    assert results == [[1, "outer"]]
    assert hook_site.specs.CALLS == []


#: Counts the calls that reach it; its unload() refuses.
STUBBORN = """
class Module:
    @hookimpl
    def filter_note(self, text):
        return text + "|" + NAME

    def unload(self, ctx):
        CALLS.append("unload " + NAME)
        return False
"""


@pytest.mark.parametrize(
    ("flag", "expected"),
    [
        # removed although unload() refused: the call in flight skips it
        ("-h", ["n|res_a", "n|res_c"]),
        # unload() refused, the module runs on: the call in flight reaches it in its place
        ("-f", ["n|res_a", "n|res_b", "n|res_c"]),
    ],
)
def test_a_refusing_module_unloaded_during_a_call(
    hook_site: HookSite, app_host: HostFactory, flag: str, expected: list[str]
) -> None:
    hook_site.add("res_a", BLOCKER)
    hook_site.add("res_b", STUBBORN)
    hook_site.add("res_c")
    host = app_host()
    results, thread, module = call_blocked_in_res_a(host)
    host.run(f"module unload {flag} res_b")
    assert hook_site.specs.CALLS == ["unload res_b"]
    module.GO.set()
    thread.join(10)
    assert results == [expected]
    assert host.hook.filter_note(text="n") == expected
    assert all(m["use_count"] == 0 for m in host.list_modules())
    assert callers(host)[::-1] == [n.partition("|")[2] for n in expected]  # pluggy: reversed
