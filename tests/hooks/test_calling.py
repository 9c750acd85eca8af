"""Calling hooks: start order, tryfirst/trylast, firstresult, wrappers, historic replay."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from modloader import Host
from tests.hooks.conftest import HookSite
from tests.hooks.conftest import obj

HostFactory = Callable[..., Host]


def test_a_call_reaches_every_running_module_in_start_order(
    hook_site: HookSite, app_host: HostFactory
) -> None:
    for name in ("res_c", "res_a", "res_b"):
        hook_site.add(name)
    # Config order first, then autoload by name: res_b, res_a, res_c.
    host = app_host(load=["res_b"])
    assert host.hook.filter_note(text="n") == ["n|res_b", "n|res_a", "n|res_c"]


def test_load_priority_orders_the_calls_as_it_orders_startup(
    hook_site: HookSite, app_host: HostFactory
) -> None:
    hook_site.add(
        "res_a", TAGGER_CLASS.replace("class Module:", "class Module:\n    load_priority = 200")
    )
    hook_site.add("res_b")
    host = app_host()
    assert host.hook.filter_note(text="n") == ["n|res_b", "n|res_a"]


TAGGER_CLASS = """
class Module:
    @hookimpl
    def filter_note(self, text):
        return text + "|" + NAME
"""


def test_tryfirst_and_trylast_order_within_start_order(
    hook_site: HookSite, app_host: HostFactory
) -> None:
    hook_site.add(
        "res_a",
        """
        class Module:
            @hookimpl(trylast=True)
            def filter_note(self, text):
                return "last"
        """,
    )
    hook_site.add("res_b")
    hook_site.add(
        "res_c",
        """
        class Module:
            @hookimpl(tryfirst=True)
            def filter_note(self, text):
                return "first"
        """,
    )
    hook_site.add("res_d")
    host = app_host()
    assert host.hook.filter_note(text="n") == ["first", "n|res_b", "n|res_d", "last"]
    shown = host.run("module show hooks like filter").output
    assert "res_c (tryfirst), res_b, res_d, res_a (trylast)" in shown


def test_firstresult_stops_at_the_first_answer(hook_site: HookSite, app_host: HostFactory) -> None:
    for name, answer in (("res_a", "None"), ("res_b", "'store-b'"), ("res_c", "'store-c'")):
        hook_site.add(
            name,
            f"""
            class Module:
                @hookimpl
                def open_store(self, url):
                    CALLS.append(NAME)
                    return {answer}
            """,
        )
    host = app_host()
    assert host.hook.open_store(url="x://") == "store-b"
    assert hook_site.specs.CALLS == ["res_a", "res_b"]
    assert host.run("module unload res_b").ok
    assert host.hook.open_store(url="x://") == "store-c"


def test_wrappers_surround_the_calls_first_started_outermost(
    hook_site: HookSite, app_host: HostFactory
) -> None:
    hook_site.add(
        "res_new",
        """
        class Module:
            @hookimpl(wrapper=True)
            def wrapped(self, value):
                CALLS.append("new before")
                result = yield
                CALLS.append("new after")
                return result + ["from new wrapper"]
        """,
    )
    hook_site.add(
        "res_old",
        """
        class Module:
            @hookimpl(hookwrapper=True)
            def wrapped(self, value):
                CALLS.append("old before")
                outcome = yield
                CALLS.append("old after")
        """,
    )
    hook_site.add(
        "res_plain",
        """
        class Module:
            @hookimpl
            def wrapped(self, value):
                CALLS.append("plain")
                return value * 2
        """,
    )
    host = app_host()
    assert host.hook.wrapped(value=2) == [4, "from new wrapper"]
    assert hook_site.specs.CALLS == ["new before", "old before", "plain", "old after", "new after"]


def test_a_module_loaded_late_receives_the_historic_calls_it_missed(
    hook_site: HookSite, app_host: HostFactory
) -> None:
    hook_site.add("res_early")
    host = app_host()
    host.hook.app_ready.call_historic(kwargs={"app": "notes"})
    assert obj(host, "res_early").apps == ["notes"]

    hook_site.add("res_late")
    assert host.run("module load res_late").ok
    assert obj(host, "res_late").apps == ["notes"]
    assert obj(host, "res_early").apps == ["notes"]  # nobody else is called again

    # A refresh makes a new object: it is told again, once.
    assert host.run("module refresh res_early").ok
    assert obj(host, "res_early").apps == ["notes"]
    # A historic call after they joined reaches each once, replays included.
    host.hook.app_ready.call_historic(kwargs={"app": "mail"})
    assert obj(host, "res_late").apps == ["notes", "mail"]
    assert obj(host, "res_early").apps == ["notes", "mail"]


def test_a_historic_replay_that_raises_is_logged_and_the_module_runs(
    hook_site: HookSite, app_host: HostFactory, caplog: pytest.LogCaptureFixture
) -> None:
    host = app_host()
    host.hook.app_ready.call_historic(kwargs={"app": "notes"})
    hook_site.add(
        "res_grumpy",
        """
        class Module:
            @hookimpl
            def app_ready(self, app):
                raise RuntimeError("not ready for " + app)

            @hookimpl
            def filter_note(self, text):
                return "grumpy"
        """,
    )
    assert host.run("module load res_grumpy").ok
    assert "replaying historic hook 'app_ready' raised" in caplog.text
    assert host.hook.filter_note(text="n") == ["grumpy"]


def test_exceptions_reach_the_caller_and_the_references_are_given_back(
    hook_site: HookSite, app_host: HostFactory
) -> None:
    hook_site.add(
        "res_boom",
        """
        class Module:
            @hookimpl
            def filter_note(self, text):
                raise ValueError("bad note")
        """,
    )
    host = app_host()
    with pytest.raises(ValueError, match="bad note"):
        host.hook.filter_note(text="n")
    assert host.get_module("res_boom")["use_count"] == 0


def test_call_extra_runs_plain_functions_beside_the_modules(
    hook_site: HookSite, app_host: HostFactory
) -> None:
    hook_site.add("res_a")
    host = app_host()
    extra = host.hook.filter_note.call_extra([lambda text: "extra"], {"text": "n"})
    assert sorted(extra) == ["extra", "n|res_a"]


def test_a_module_without_implementations_is_not_called(
    hook_site: HookSite, app_host: HostFactory
) -> None:
    hook_site.add("res_quiet", "class Module:\n    pass\n")
    hook_site.add("res_a")
    host = app_host()
    assert host.hook.filter_note(text="n") == ["n|res_a"]
    assert host.is_running("res_quiet")


def test_a_host_without_hookspecs_has_no_hook_relay(modloader_host: Any) -> None:
    host = modloader_host({})
    with pytest.raises(AttributeError, match="declares no hooks: pass hookspecs"):
        host.hook  # noqa: B018
    assert host.run("module show hooks").output == "This host declares no hooks."


def test_extensions_still_lists_the_running_modules_beside_hooks(
    hook_site: HookSite, app_host: HostFactory
) -> None:
    hook_site.add("res_a")
    hook_site.add("res_b")
    host = app_host()
    assert host.extensions.names() == ["res_a", "res_b"]
    assert host.extensions.map(lambda ext: ext.obj.filter_note(text="n")) == [
        "n|res_a",
        "n|res_b",
    ]
