"""``module show hooks``: the hooks, their kinds, and their modules in call order."""

from __future__ import annotations

import json
from collections.abc import Callable

from modloader import HookImplInfo
from modloader import HookInfo
from modloader import Host
from tests.hooks.conftest import HookSite

HostFactory = Callable[..., Host]


def test_module_show_hooks_lists_every_declared_hook(
    hook_site: HookSite, app_host: HostFactory
) -> None:
    hook_site.add("res_b")
    hook_site.add("res_a")
    host = app_host()
    result = host.run("module show hooks")
    assert result.ok
    assert result.output.splitlines() == [
        "Hook                           Kind         Modules (in call order)",
        "app_ready                      historic     res_a, res_b",
        "filter_note                                 res_a, res_b",
        "open_store                     firstresult  -",
        "wrapped                                     -",
        "4 hooks declared",
    ]


def test_like_matches_a_hook_or_a_module(hook_site: HookSite, app_host: HostFactory) -> None:
    hook_site.add("res_a")
    host = app_host()
    assert [h["hook"] for h in host.run("module show hooks like STORE").data["hooks"]] == [
        "open_store"
    ]
    assert [h["hook"] for h in host.run("module show hooks like res_a").data["hooks"]] == [
        "app_ready",
        "filter_note",
    ]
    assert host.run("module show hooks like nothing").output.endswith("0 hooks declared")


def test_the_structured_form_is_json(hook_site: HookSite, app_host: HostFactory) -> None:
    hook_site.add("res_a")
    host = app_host()
    data = json.loads(json.dumps(host.run("module show hooks like filter").data))
    assert data == {
        "count": 1,
        "hooks": [
            {
                "hook": "filter_note",
                "declared": True,
                "firstresult": False,
                "historic": False,
                "modules": [
                    {"name": "res_a", "wrapper": False, "tryfirst": False, "trylast": False}
                ],
            }
        ],
    }


def test_wrong_arguments_print_the_usage(hook_site: HookSite, app_host: HostFactory) -> None:
    host = app_host()
    for line in ("module show hooks like", "module show hooks res_a", "module show hooks a b c"):
        result = host.run(line)
        assert not result.ok
        assert result.output == "Usage: module show hooks [like <keyword>]"


def test_module_show_still_lists_modules(hook_site: HookSite, app_host: HostFactory) -> None:
    hook_site.add("res_a")
    host = app_host()
    assert host.run("module show like res_a").output.endswith("1 modules loaded")
    assert "module show hooks" in host.run("core show help").output


def test_list_hooks_is_the_commands_facts_typed(hook_site: HookSite, app_host: HostFactory) -> None:
    hook_site.add("res_b")
    hook_site.add("res_a")
    host = app_host()
    hooks = host.list_hooks()
    assert all(isinstance(h, HookInfo) for h in hooks)
    assert [h.name for h in hooks] == ["app_ready", "filter_note", "open_store", "wrapped"]
    filter_note = hooks[1]
    assert filter_note == HookInfo(
        "filter_note", declared=True, modules=(HookImplInfo("res_a"), HookImplInfo("res_b"))
    )
    assert (hooks[0].historic, hooks[2].firstresult, hooks[2].modules) == (True, True, ())
    assert [h.to_dict() for h in hooks] == host.run("module show hooks").data["hooks"]
    host.unload("res_a")
    assert host.list_hooks()[1].modules == (HookImplInfo("res_b"),)


def test_a_host_without_hookspecs_lists_none() -> None:
    from modloader import ModulesConfig
    from modloader import StaticDiscovery

    host = Host("t.none", discovery=StaticDiscovery("t.none", {}), config=ModulesConfig())
    assert host.list_hooks() == []


def test_the_hook_table_aligns_wide_names_and_escapes_controls() -> None:
    from wcwidth import wcswidth  # prompt_toolkit's own measure of terminal columns

    from modloader import HookImplInfo
    from modloader import HookInfo
    from modloader._hooks.commands import render_hook_table

    hooks = [
        HookInfo("\u8868\u793a", True, modules=(HookImplInfo("res_a\x1b[2J"),)),
        HookInfo("plain", True, firstresult=True, modules=(HookImplInfo("res_b"),)),
    ]
    lines = render_hook_table(hooks)
    assert wcswidth(lines[1][: lines[1].index("res_a")]) == 44
    assert lines[2].index("res_b") == 44
    assert lines[1].endswith("res_a\\x1b[2J")
