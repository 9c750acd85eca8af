"""The host's own commands: ``module ...``, ``core ...`` and ``help`` (SPEC 5)."""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterable

from modloader._commands.render import render_module_table
from modloader._commands.table import Command
from modloader._commands.table import CommandTable
from modloader._commands.table import Reply
from modloader._registry.loader import Loader
from modloader._registry.loader import Outcome
from modloader._registry.operations import Operations
from modloader._registry.states import ModuleState
from modloader.errors import UsageError
from modloader.module import UnloadMode

__all__ = ["install_builtin_commands"]


def _reply(outcome: Outcome) -> Reply:
    return Reply(
        lines=outcome.lines, data={"ok": outcome.ok, "lines": outcome.lines}, ok=outcome.ok
    )


def install_builtin_commands(
    table: CommandTable,
    loader: Loader,
    operations: Operations,
    stop: Callable[[bool], None] | None = None,
) -> None:
    """Add every built-in command to ``table``."""

    def loaded_names(_: list[str]) -> Iterable[str]:
        return [r.name for r in loader.ordered()]

    def loadable_names(_: list[str]) -> Iterable[str]:
        loader.rescan()
        running = {r.key for r in list(loader.records.values()) if r.state is ModuleState.RUNNING}
        return [n for n in loader.installed_names() if n.lower().removesuffix(".so") not in running]

    def show(args: list[str]) -> Reply:
        keyword = None
        if args:
            if len(args) != 2 or args[0].lower() != "like":
                raise UsageError("")
            keyword = args[1].lower()
        with loader.lock:
            records = [r for r in loader.ordered() if keyword is None or keyword in r.name.lower()]
            rows = [loader.describe(r) for r in records]
        return Reply(lines=render_module_table(rows), data={"modules": rows, "count": len(rows)})

    def load(args: list[str]) -> Reply:
        if len(args) != 1:
            raise UsageError("")
        return _reply(operations.load(args[0]))

    def unload(args: list[str]) -> Reply:
        mode = UnloadMode.SOFT
        if args and args[0].startswith("-"):
            flag = args.pop(0)
            if flag.startswith("-f"):
                mode = UnloadMode.FIRM
            elif flag.startswith("-h"):
                mode = UnloadMode.HARD
            else:
                raise UsageError("")
        if not args:
            raise UsageError("")
        return _reply(operations.unload(args, mode))

    def unload_complete(before: list[str]) -> Iterable[str]:
        return loaded_names(before)

    def reload(args: list[str]) -> Reply:
        return _reply(operations.reload(args))

    def refresh(args: list[str]) -> Reply:
        if not args or len(args) > 2:
            raise UsageError("")
        # A second word other than "recursively" is ignored (SPEC 5.5).
        recursively = len(args) == 2 and args[1].lower() == "recursively"
        return _reply(operations.refresh(args[0], recursively))

    def refresh_complete(before: list[str]) -> Iterable[str]:
        return ["recursively"] if len(before) == 1 else loaded_names(before)

    def help_(args: list[str]) -> Reply:
        lines = table.help_lines(args)
        return Reply(lines=lines, data={"lines": lines})

    def help_complete(before: list[str]) -> Iterable[str]:
        return table.complete(" ".join(before) + " ")

    def core_stop(args: list[str]) -> Reply:
        if len(args) != 1 or args[0].lower() not in ("gracefully", "now"):
            raise UsageError("")
        if stop is None:
            return Reply(lines=["This host cannot be stopped from a command."], ok=False)
        graceful = args[0].lower() == "gracefully"
        stop(graceful)
        word = "gracefully" if graceful else "now"
        return Reply(lines=[f"Stopping {word}."], data={"stopping": word})

    for command in (
        Command(
            ("module", "show"),
            show,
            "List modules and info",
            "module show [like <keyword>]",
            lambda b: ["like"] if not b else [],
        ),
        Command(
            ("module", "load"),
            load,
            "Load a module by name",
            "module load <module name>",
            loadable_names,
        ),
        Command(
            ("module", "unload"),
            unload,
            "Unload a module by name",
            "module unload [-f|-h] <module name> [<module name> ...]",
            unload_complete,
        ),
        Command(
            ("module", "reload"),
            reload,
            "Reload configuration for a module",
            "module reload [<module name> ...]",
            loaded_names,
        ),
        Command(
            ("module", "refresh"),
            refresh,
            "Completely unloads and loads a module by name",
            "module refresh <module name> [recursively]",
            refresh_complete,
        ),
        Command(
            ("core", "reload"),
            reload,
            "Global reload (every module that supports it)",
            "core reload",
            None,
        ),
        Command(
            ("core", "show", "help"),
            help_,
            "Display help list, or specific help on a command",
            "core show help [<command>]",
            help_complete,
        ),
        Command(
            ("help",),
            help_,
            "Display help list, or specific help on a command",
            "help [<command>]",
            help_complete,
        ),
        Command(
            ("core", "stop"),
            core_stop,
            "Shut down the host (gracefully unloads every module)",
            "core stop gracefully|now",
            lambda b: ["gracefully", "now"] if not b else [],
        ),
    ):
        table.add(command)

    def module_commands() -> Iterable[Command]:
        for registered in list(loader.commands.values()):
            handler = registered.handler

            def run(args: list[str], handler: Callable[..., str | None] = handler) -> Reply:
                text = handler(args)
                return Reply(lines=[text] if text else [], data={"output": text})

            yield Command(
                tuple(registered.words.split()),
                run,
                registered.summary or f"(from module {registered.owner})",
                registered.usage or registered.words,
                None,
                owner=registered.owner,
            )

    table.add_source(module_commands)
