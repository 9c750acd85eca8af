"""The host's own commands: ``module ...``, ``core ...`` and ``help`` (SPEC 5).

Each command asks the registry's operations for a typed outcome and prints it
with :mod:`modloader._commands.render`.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterable

from modloader._commands.render import load_lines
from modloader._commands.render import refresh_lines
from modloader._commands.render import reload_lines
from modloader._commands.render import render_module_table
from modloader._commands.render import unload_lines
from modloader._commands.table import Command
from modloader._commands.table import CommandTable
from modloader._commands.table import Reply
from modloader._names import name_key
from modloader._registry.lifecycle import describe
from modloader._registry.operations import Operations
from modloader._registry.outcomes import LoadOutcome
from modloader._registry.outcomes import RefreshOutcome
from modloader._registry.outcomes import ReloadOutcome
from modloader._registry.outcomes import UnloadOutcome
from modloader.errors import ModLoaderError
from modloader.errors import UsageError
from modloader.module import UnloadMode

__all__ = ["BuiltinCommands", "install_builtin_commands"]

_FLAGS = {"-f": UnloadMode.FIRM, "-h": UnloadMode.HARD}


def _reply(lines: list[str], ok: bool) -> Reply:
    return Reply(lines=lines, data={"ok": ok, "lines": lines}, ok=ok)


class BuiltinCommands:
    """The handlers and completers of the built-in commands, over one :class:`Operations`."""

    def __init__(
        self, table: CommandTable, operations: Operations, stop: Callable[[bool], None] | None
    ) -> None:
        self.table = table
        self.ops = operations
        self.stop = stop

    # -- completion --------------------------------------------------------------------

    def listed_names(self, _: list[str]) -> Iterable[str]:
        return [r.name for r in self.ops.lifecycle.modules.ordered()]

    def loadable_names(self, _: list[str]) -> Iterable[str]:
        life = self.ops.lifecycle
        life.catalogue.rescan()
        running = {r.key for r in life.modules.records() if r.state.running}
        return [n for n in life.catalogue.installed_names() if name_key(n) not in running]

    def refresh_complete(self, before: list[str]) -> Iterable[str]:
        return ["recursively"] if len(before) == 1 else self.listed_names(before)

    def help_complete(self, before: list[str]) -> Iterable[str]:
        return self.table.complete(" ".join(before) + " ")

    # -- handlers ----------------------------------------------------------------------

    def show(self, args: list[str]) -> Reply:
        if args and (len(args) != 2 or args[0].lower() != "like"):
            raise UsageError("")
        keyword = args[1].lower() if args else ""
        # No lock: a snapshot of the list, so it answers while an operation runs.
        rows = [
            describe(r) for r in self.ops.lifecycle.modules.ordered() if keyword in r.name.lower()
        ]
        data = {"modules": [r.to_dict() for r in rows], "count": len(rows)}
        return Reply(lines=render_module_table(rows), data=data)

    def load(self, args: list[str]) -> Reply:
        if len(args) != 1:
            raise UsageError("")
        result: LoadOutcome | ModLoaderError
        try:
            result = self.ops.load(args[0])
        except ModLoaderError as exc:
            result = exc
        return _reply(load_lines(args[0], result), isinstance(result, LoadOutcome))

    def unload(self, args: list[str]) -> Reply:
        mode = UnloadMode.SOFT
        if args and args[0].startswith("-"):
            mode = _FLAGS.get(args.pop(0)[:2]) or _usage()
        if not args:
            raise UsageError("")
        lines: list[str] = []
        for name in args:  # left to right, stopping at the first failure (SPEC 5.3)
            try:
                result: UnloadOutcome | ModLoaderError = self.ops.unload(name, mode)
            except ModLoaderError as exc:
                result = exc
            lines += unload_lines(name, result)
            if not isinstance(result, UnloadOutcome):
                return _reply(lines, False)
        return _reply(lines, True)

    def reload(self, args: list[str]) -> Reply:
        try:
            result: ReloadOutcome | ModLoaderError = self.ops.reload(args)
        except ModLoaderError as exc:
            result = exc
        ok = (
            isinstance(result, ReloadOutcome)
            and not result.queued
            and not result.refused
            and not result.failed  # silent, but a failure: systemctl reload says so
            and all(swap.ok for swap in result.settings)
        )
        return _reply(reload_lines(args, result), ok)

    def refresh(self, args: list[str]) -> Reply:
        if not args or len(args) > 2:
            raise UsageError("")
        # A second word other than "recursively" is ignored (SPEC 5.5).
        recursive = len(args) == 2 and args[1].lower() == "recursively"
        try:
            result: RefreshOutcome | ModLoaderError = self.ops.refresh(args[0], recursive)
        except ModLoaderError as exc:
            result = exc
        ok = isinstance(result, RefreshOutcome) and result.ok
        return _reply(refresh_lines(args[0], result), ok)

    def help(self, args: list[str]) -> Reply:
        lines = self.table.help_lines(args)
        return Reply(lines=lines, data={"lines": lines})

    def core_stop(self, args: list[str]) -> Reply:
        if len(args) != 1 or args[0].lower() not in ("gracefully", "now"):
            raise UsageError("")
        if self.stop is None:
            return Reply(lines=["This host cannot be stopped from a command."], ok=False)
        word = args[0].lower()
        self.stop(word == "gracefully")
        return Reply(lines=[f"Stopping {word}."], data={"stopping": word})

    # -- the table ---------------------------------------------------------------------

    def commands(self) -> list[Command]:
        help_text = "Display help list, or specific help on a command"
        return [
            Command(
                ("module", "show"),
                self.show,
                "List modules and info",
                "module show [like <keyword>]",
                lambda before: [] if before else ["like"],
            ),
            Command(
                ("module", "load"),
                self.load,
                "Load a module by name",
                "module load <module name>",
                self.loadable_names,
            ),
            Command(
                ("module", "unload"),
                self.unload,
                "Unload a module by name",
                "module unload [-f|-h] <module name> [<module name> ...]",
                self.listed_names,
            ),
            Command(
                ("module", "reload"),
                self.reload,
                "Reload configuration for a module",
                "module reload [<module name> ...]",
                self.listed_names,
            ),
            Command(
                ("module", "refresh"),
                self.refresh,
                "Completely unloads and loads a module by name",
                "module refresh <module name> [recursively]",
                self.refresh_complete,
            ),
            Command(
                ("core", "reload"),
                self.reload,
                "Global reload (every module that supports it)",
                "core reload",
            ),
            Command(
                ("core", "show", "help"),
                self.help,
                help_text,
                "core show help [<command>]",
                self.help_complete,
            ),
            Command(("help",), self.help, help_text, "help [<command>]", self.help_complete),
            Command(
                ("core", "stop"),
                self.core_stop,
                "Shut down the host (gracefully unloads every module)",
                "core stop gracefully|now",
                lambda before: [] if before else ["gracefully", "now"],
            ),
        ]


def _usage() -> UnloadMode:
    raise UsageError("")


def install_builtin_commands(
    table: CommandTable, operations: Operations, stop: Callable[[bool], None] | None = None
) -> None:
    """Add every built-in command to ``table``."""
    for command in BuiltinCommands(table, operations, stop).commands():
        table.add(command)
