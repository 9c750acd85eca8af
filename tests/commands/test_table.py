"""The command language: lookup, usage, failure lines, help, completion, the show table."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from typing import Any

import pytest

from modloader import Host
from modloader import ModulesConfig
from modloader import StaticDiscovery
from modloader import hookimpl
from modloader._commands.render import render_module_table
from modloader._commands.table import split_line
from modloader.demo import DemoSpecs
from modloader.testing import module_host
from tests._hostile import Unsayable


class Mod:
    description = "A module with a description that is longer than forty characters"
    support_level = "core"


@pytest.fixture
def host() -> Host:
    discovery = StaticDiscovery("ns", {"res_alpha": Mod, "res_beta": Mod, "app_gamma": Mod})
    h = Host("ns", discovery=discovery, config=ModulesConfig())
    h.start()
    return h


def test_show_table_is_asterisks(host: Host) -> None:
    with host.use("res_alpha", holder="x"):
        lines = host.run("module show").output.splitlines()
    assert lines[0] == (
        "Module                         Description                              "
        "Use Count  Status      Support Level"
    )
    assert lines[2] == (
        "res_alpha                      A module with a description that is long "
        "1          Running              core"
    )
    assert lines[-1] == "3 modules loaded"
    assert [line.split()[0] for line in lines[1:-1]] == ["app_gamma", "res_alpha", "res_beta"]


def test_show_like(host: Host) -> None:
    result = host.run("module show like RES_")
    assert result.ok
    assert [m["name"] for m in result.data["modules"]] == ["res_alpha", "res_beta"]
    assert result.output.splitlines()[-1] == "2 modules loaded"


@pytest.mark.parametrize("line", ["module show like", "module show like a b", "module show foo"])
def test_show_usage(host: Host, line: str) -> None:
    result = host.run(line)
    assert not result.ok
    assert result.output == "Usage: module show [like <keyword>]"


def test_show_structured_form(host: Host) -> None:
    row = host.run("module show").data["modules"][0]
    assert set(row) >= {
        "name",
        "state",
        "version",
        "distribution",
        "holders",
        "load_time",
        "last_error",
    }
    assert row["distribution"] == "static-app_gamma"


def test_one_module_row_is_plural_too() -> None:
    rows = [
        {
            "name": "a",
            "description": "d",
            "use_count": 0,
            "status": "Running",
            "support_level": "core",
        }
    ]
    assert render_module_table(rows)[-1] == "1 modules loaded"


def test_unknown_command_suggests(host: Host) -> None:
    result = host.run("modul show")
    assert not result.ok
    assert result.output.splitlines() == [
        "No such command 'modul show' (type 'core show help' for help)",
        "Did you mean 'module show'?",
    ]


def test_commands_are_case_insensitive(host: Host) -> None:
    assert host.run("MODULE SHOW like alpha").data["count"] == 1


def test_help_lists_every_command(host: Host) -> None:
    lines = host.run("core show help").output.splitlines()
    assert any(
        line.startswith("module unload") and "-- Unload a module by name" in line for line in lines
    )
    assert host.run("help").output == host.run("core show help").output


def test_help_on_one_command(host: Host) -> None:
    lines = host.run("core show help module unload").output.splitlines()
    assert lines[:3] == [
        "Usage: module unload [-f|-h] <module name> [<module name> ...]",
        "       Unload a module by name",
        "",
    ]
    text = "\n".join(lines)
    assert "-f  Firm: unload even if in use" in text
    assert "-h  Hard: as -f, and remove the module even if its unload() refuses" in text


def test_every_built_in_command_says_more_than_its_usage(host: Host) -> None:
    commands = [c for c in host.run("help").output.splitlines()]
    for line in commands:
        name = line.split("  --")[0].strip()
        lines = host.run(f"help {name}").output.splitlines()
        assert len(lines) > 3, f"help {name} says only {lines}"


def test_console_settings_need_a_console(host: Host) -> None:
    result = host.run("core set verbose 3")
    assert not result.ok
    assert "sets the console it is typed at" in result.output


def test_completion(host: Host) -> None:
    assert host.complete("") == ["core", "help", "logger", "module"]
    assert host.complete("mod") == ["module"]
    assert host.complete("module ") == ["load", "refresh", "reload", "settings", "show", "unload"]
    assert host.complete("module unload res_") == ["res_alpha", "res_beta"]
    assert host.complete("module unload -f app") == ["app_gamma"]
    assert host.complete("module refresh res_alpha ") == ["recursively"]
    host.run("module unload res_beta")
    assert host.complete("module load res_") == ["res_beta"]


def test_empty_line_is_fine(host: Host) -> None:
    assert host.run("   ").ok


def test_command_that_raises_is_a_failure_not_a_crash(host: Host) -> None:
    class Boom:
        def load(self, ctx: object) -> None:
            def handler(args: list[str]) -> str:
                raise RuntimeError("kaput")

            ctx.register_command("boom", handler)  # type: ignore[attr-defined]

    host.discovery = None  # type: ignore[attr-defined]
    discovery = StaticDiscovery("ns2", {"boom": Boom})
    h = Host("ns2", discovery=discovery, config=ModulesConfig())
    h.start()
    result = h.run("boom now")
    assert not result.ok
    assert result.output.splitlines() == ["RuntimeError: kaput", "Command 'boom now' failed."]


def _host_with_command(handler: object) -> Host:
    class Commands:
        def load(self, ctx: object) -> None:
            ctx.register_command("odd", handler)  # type: ignore[attr-defined]

    h = Host("ns3", discovery=StaticDiscovery("ns3", {"odd": Commands}), config=ModulesConfig())
    h.start()
    return h


@pytest.mark.parametrize(
    ("what", "said"),
    [
        (ValueError, "Unsayable: <its str() raised ValueError>"),
        (SystemExit, "Unsayable: <its str() raised SystemExit>"),
    ],
)
def test_a_command_whose_exception_cannot_say_what_it_is_still_fails_as_a_result(
    what: type[BaseException], said: str
) -> None:
    def handler(args: list[str]) -> str:
        raise Unsayable(what())

    h = _host_with_command(handler)
    result = h.run("odd now")  # a result, not a raise
    assert not result.ok
    assert result.output.splitlines() == [said, "Command 'odd now' failed."]
    assert h.run("module show").ok
    h.stop()


def test_a_command_that_returns_something_else_than_text_fails_saying_so() -> None:
    h = _host_with_command(lambda args: {"answer": 42})
    result = h.run("odd")
    assert not result.ok
    assert result.output.splitlines() == [
        "the command returned an object of type dict, not text",
        "Command 'odd' failed.",
    ]
    h.stop()


def test_run_s_structured_form_is_what_the_command_saw(host: Host) -> None:
    shown = host.run("module show")
    lazy = host.execute("module show")
    assert host.run("module unload res_alpha").ok
    assert shown.data is not None and lazy.data is not None
    # run(): made when the command ran; execute(): when first read (after the unload).
    assert {m["name"]: m["state"] for m in shown.data["modules"]}["res_alpha"] == "running"
    assert {m["name"]: m["state"] for m in lazy.data["modules"]}["res_alpha"] == "removed"


def test_module_show_makes_its_structured_form_when_first_read(host: Host) -> None:
    result = host.run("module show")
    assert result.data is not None
    assert (
        result.data["count"] == len(result.data["modules"]) == len(result.output.splitlines()) - 2
    )
    assert result.data is result.data  # made once


@pytest.mark.parametrize(
    "line",
    [
        "",
        "   ",
        "module show",
        "  module   load\tres_a  ",
        "module show like x\r\n",
        "echo a\x0bb",  # not a blank to shlex: one word
        "echo a\u00a0b",
        "echo 'a b' c",
        'echo "a \\" b"',
        "echo a\\ b",
        "echo 'unbalanced",
        "echo # not a comment",
    ],
)
def test_split_line_is_shlex_split(line: str) -> None:
    import shlex

    try:
        expected = shlex.split(line)
    except ValueError:
        expected = line.split()
    assert split_line(line) == expected


class Wide:
    description = "\u65e5\u672c\u8a9e\u306e\u30e2\u30b8\u30e5\u30fc\u30eb\u3067\u3059\u3002" * 4


class Accented:
    description = "Cafe\u0301 cre\u0300me bru\u0302le\u0301e"


class Controls:
    description = "bell\x07 \x1b[31mred\x1b[0m\ttab"


def test_show_aligns_columns_on_the_terminal_not_characters() -> None:
    """CJK text takes two columns a character, a combining accent none, and an escaped
    control character four: each shifted the row's later columns (Asterisk counts
    bytes, which misaligns any non-ASCII text)."""
    from wcwidth import wcswidth  # prompt_toolkit's own measure of terminal columns

    mods = {"res_wide": Wide, "res_accented": Accented, "res_controls": Controls, "res_plain": Mod}
    host = Host("ns", discovery=StaticDiscovery("ns", mods), config=ModulesConfig())
    host.start()
    try:
        lines = host.run("module show").output.splitlines()[:-1]
    finally:
        host.stop()
    assert {wcswidth(line) for line in lines} == {wcswidth(lines[0])}
    # The status column starts at the same terminal column in every row.
    starts = {wcswidth(line[: line.index("Running")]) for line in lines[1:]}
    assert starts == {83}
    rows = dict(line.split(" ", 1) for line in lines[1:])
    assert rows["res_controls"].split()[0:3] == ["bell\\x07", "\\x1b[31mred\\x1b[0m\\x09tab", "0"]
    assert "\t" not in "\n".join(lines) and "\x1b" not in "\n".join(lines)
    assert rows["res_wide"].lstrip().startswith(Wide.description[:20] + " 0")


def test_help_aligns_wide_command_words() -> None:
    class Words:
        def load(self, ctx):
            ctx.register_command("\u8868\u793a \u72b6\u614b", lambda args: "ok", summary="wide")

    host = Host("ns", discovery=StaticDiscovery("ns", {"res_words": Words}), config=ModulesConfig())
    host.start()
    try:
        lines = host.run("core show help").output.splitlines()
    finally:
        host.stop()
    from wcwidth import wcswidth

    assert len({wcswidth(line[: line.index("  -- ")]) for line in lines if "  -- " in line}) == 1


class OwnBase(BaseException):
    """What a careless module raises: neither an Exception nor anything Python raises."""


class StatusBoom:
    """Its ``demo_status`` hook raises what ``THROW`` holds."""

    THROW: BaseException = OwnBase("down")

    @hookimpl
    def demo_status(self) -> str:
        raise StatusBoom.THROW


@pytest.mark.parametrize(
    "error", [OwnBase("down"), GeneratorExit("down"), KeyboardInterrupt("down")]
)
def test_a_base_exception_from_module_code_is_a_failed_command(error: BaseException) -> None:
    """From a module's command, and from a module's hook under the host's own command, in
    the main thread as in any other: only Python's SIGINT handler makes an interrupt."""

    def handler(args: list[str]) -> str:
        raise error

    h = _host_with_command(handler)
    StatusBoom.THROW = error
    hooks = module_host({"res_status": StatusBoom}, hookspecs=[DemoSpecs])
    try:
        for host, line in ((h, "odd now"), (hooks, "demo status")):
            for thread in (False, True):
                results: list[Any] = []
                run = lambda: results.append(host.run(line))  # noqa: B023, E731
                if thread:
                    worker = threading.Thread(target=run)
                    worker.start()
                    worker.join()
                else:
                    run()
                which = ["raised by module 'res_status' (its demo_status hook)"]
                assert results[0].output.splitlines() == [
                    f"internal error while running '{line}': {type(error).__name__}: down",
                    *(which if host is hooks else []),
                    f"Command '{line}' failed.",
                ]
                assert results[0].data["error"] == "command-failed"
            assert host.run("module show").ok
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        h.stop()
        hooks.stop()


@pytest.mark.parametrize("error", [ValueError("bad value"), SystemExit(9)])
def test_an_exception_from_a_command_is_one_line_and_its_traceback_in_the_debug_log(
    error: BaseException, caplog: pytest.LogCaptureFixture
) -> None:
    def handler(args: list[str]) -> str:
        raise error

    h = _host_with_command(handler)
    try:
        with caplog.at_level(logging.DEBUG, logger="modloader"):
            result = h.run("odd now")
    finally:
        h.stop()
    assert result.output.splitlines() == [
        f"{type(error).__name__}: {error}",
        "Command 'odd now' failed.",
    ]
    logged = [r for r in caplog.records if r.getMessage().endswith("command 'odd now' raised")]
    assert [r.levelno for r in logged] == [logging.DEBUG]
    assert logged[0].exc_info is not None and logged[0].exc_info[1] is error


class Quiet:
    """Answers ``demo_status``; a module beside the one that raises."""

    @hookimpl
    def demo_status(self) -> str:
        return "fine"


def test_an_exception_from_a_hook_names_the_module_whose_implementation_raised() -> None:
    """``demo status`` (the application's command) said ``ValueError: hook boom`` and no
    module; the exception is raised as pluggy raised it, with a note naming the module."""
    StatusBoom.THROW = ValueError("hook boom")
    host = module_host({"res_quiet": Quiet, "res_status": StatusBoom}, hookspecs=[DemoSpecs])
    try:
        assert host.run("demo status").output.splitlines() == [
            "ValueError: hook boom",
            "raised by module 'res_status' (its demo_status hook)",
            "Command 'demo status' failed.",
        ]
        with pytest.raises(ValueError, match="hook boom") as raised:
            host.hook.demo_status()
        assert raised.value.__notes__ == ["raised by module 'res_status' (its demo_status hook)"]
    finally:
        host.stop()


def test_a_ctrl_c_in_the_main_thread_interrupts_the_command() -> None:
    def handler(args: list[str]) -> str:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(5)  # the signal's handler raises here
        return "not reached"

    h = _host_with_command(handler)
    try:
        started = time.monotonic()
        with pytest.raises(KeyboardInterrupt):
            h.run("odd now")
        assert time.monotonic() - started < 4
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
        assert h.run("module show").ok
    finally:
        h.stop()


def test_under_a_sigint_handler_of_the_applications_every_keyboard_interrupt_is_a_failure() -> None:
    def handler(args: list[str]) -> str:
        raise KeyboardInterrupt("mine")

    h = _host_with_command(handler)
    mine = signal.signal(signal.SIGINT, lambda signum, frame: None)  # as the modloader command
    try:
        assert not h.run("odd").ok
        assert signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, mine)
        h.stop()


def test_a_sigint_handler_a_command_sets_is_kept() -> None:
    def mine(signum: int, frame: object) -> None:
        return None

    def handler(args: list[str]) -> str:
        signal.signal(signal.SIGINT, mine)
        return "set"

    h = _host_with_command(handler)
    try:
        assert h.run("odd").output == "set"
        assert signal.getsignal(signal.SIGINT) is mine
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        h.stop()
