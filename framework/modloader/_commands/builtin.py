"""The host's own commands: ``module ...``, ``core ...`` and ``help`` (SPEC 5).

Each command asks the registry's operations for a typed outcome and prints it
with :mod:`modloader._commands.render`.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterable
from typing import Any

from modloader._commands.render import load_lines
from modloader._commands.render import refresh_lines
from modloader._commands.render import reload_lines
from modloader._commands.render import render_module_table
from modloader._commands.render import unload_lines
from modloader._commands.table import Command
from modloader._commands.table import CommandTable
from modloader._commands.table import Reply
from modloader._jsonable import jsonable
from modloader._names import name_key
from modloader._registry.operations import Operations
from modloader._registry.outcomes import LoadOutcome
from modloader._registry.outcomes import RefreshOutcome
from modloader._registry.outcomes import ReloadOutcome
from modloader._registry.outcomes import UnloadOutcome
from modloader._registry.outcomes import describe
from modloader._registry.states import ModuleState
from modloader.errors import ModLoaderError
from modloader.errors import UsageError
from modloader.module import UnloadMode

__all__ = ["BuiltinCommands", "install_builtin_commands"]

_FLAGS = {"-f": UnloadMode.FIRM, "-h": UnloadMode.HARD}
_REMOVED = ModuleState.REMOVED


def _reply(lines: list[str], ok: bool, result: object = None, **done: object) -> Reply:
    """A module operation's reply. Its data: ``ok`` and the ``lines``, the typed
    outcome(s) in ``done`` as JSON values, and, when ``result`` is an error, the
    error's code, message and facts (:meth:`ModLoaderError.to_dict`)."""
    data: dict[str, Any] = {"ok": ok, "lines": lines}
    data.update((key, jsonable(value)) for key, value in done.items())
    if isinstance(result, ModLoaderError):
        data.update(result.to_dict())
    return Reply(lines=lines, data=data, ok=ok)


class BuiltinCommands:
    """The handlers and completers of the built-in commands, over one :class:`Operations`."""

    def __init__(
        self, table: CommandTable, operations: Operations, stop: Callable[[bool], object] | None
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
        records = [r for r in self.ops.lifecycle.modules.ordered() if r.state is not _REMOVED]
        if keyword:
            records = [r for r in records if keyword in r.name.lower()]
        lines = render_module_table(records)

        def data() -> dict[str, Any]:
            modules = [describe(r).to_dict() for r in records]  # as they are when read
            return {"modules": modules, "count": len(modules)}

        return Reply(lines=lines, data=data)

    def load(self, args: list[str]) -> Reply:
        if len(args) != 1:
            raise UsageError("")
        result: LoadOutcome | ModLoaderError
        try:
            result = self.ops.load(args[0])
        except ModLoaderError as exc:
            result = exc
        done = isinstance(result, LoadOutcome)
        return _reply(load_lines(args[0], result), done, result, outcome=result if done else None)

    def unload(self, args: list[str]) -> Reply:
        mode = UnloadMode.SOFT
        if args and args[0].startswith("-"):
            mode = _FLAGS.get(args.pop(0)[:2]) or _usage()
        if not args:
            raise UsageError("")
        lines: list[str] = []
        unloaded: list[UnloadOutcome] = []
        for name in args:  # left to right, stopping at the first failure (SPEC 5.3)
            try:
                result: UnloadOutcome | ModLoaderError = self.ops.unload(name, mode)
            except ModLoaderError as exc:
                result = exc
            lines += unload_lines(name, result)
            if not isinstance(result, UnloadOutcome):
                return _reply(lines, False, result, outcomes=unloaded)
            unloaded.append(result)
        return _reply(lines, True, outcomes=unloaded)

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
        outcome = result if isinstance(result, ReloadOutcome) else None
        return _reply(reload_lines(args, result), ok, result, outcome=outcome)

    def refresh(self, args: list[str]) -> Reply:
        if not args or len(args) > 2:
            raise UsageError("")
        # A second word other than "recursively" is ignored (SPEC 5.5).
        recursive = len(args) == 2 and args[1].lower() == "recursively"
        try:
            result: RefreshOutcome | ModLoaderError = self.ops.refresh(args[0], recursive)
        except ModLoaderError as exc:
            result = exc
        outcome = result if isinstance(result, RefreshOutcome) else None
        ok = outcome is not None and outcome.ok
        return _reply(refresh_lines(args[0], result), ok, result, outcome=outcome)

    def help(self, args: list[str]) -> Reply:
        lines = self.table.help_lines(args)
        return Reply(lines=lines, data={"lines": lines})

    def core_stop(self, args: list[str]) -> Reply:
        if len(args) != 1 or args[0].lower() not in ("gracefully", "now"):
            raise UsageError("")
        if self.stop is None:
            return Reply(lines=["This host cannot be stopped from a command."], ok=False)
        word = args[0].lower()
        if self.stop(word == "gracefully") is False:  # nobody stops this host on request
            return Reply(
                lines=[
                    "Nothing stops this host on request: its application neither waits for "
                    "one (host.wait_for_stop) nor listens for one (host.on_stop_request). "
                    "Stop its process instead (SIGTERM)."
                ],
                data={"stopping": None},
                ok=False,
            )
        return Reply(lines=[f"Stopping {word}."], data={"stopping": word})

    # -- the table ---------------------------------------------------------------------

    def console_only(self, args: list[str]) -> Reply:
        return Reply(
            lines=[
                "This sets the console it is typed at (modloader -r, or -c): "
                "there is none here, nothing was changed."
            ],
            ok=False,
        )

    def commands(self) -> list[Command]:
        help_text = "Display help list, or specific help on a command"
        help_detail = (
            "Without a command: every command with its summary.",
            "With one (or its first words): its usage and what it does.",
        )
        return [
            Command(
                ("module", "show"),
                self.show,
                "List modules and info",
                "module show [like <keyword>]",
                lambda before: [] if before else ["like"],
                detail=(
                    "Every module of the module list, running or not, sorted by name,",
                    "with its description, use count, status and support level.",
                    "like <keyword>: only the names that contain <keyword> (any case).",
                ),
            ),
            Command(
                ("module", "load"),
                self.load,
                "Load a module by name",
                "module load <module name>",
                self.loadable_names,
                detail=(
                    "Imports and starts an installed module that is not running, also one",
                    "installed since startup or kept out by noload. Its dependencies must",
                    "be running already: they are not started for it.",
                ),
            ),
            Command(
                ("module", "unload"),
                self.unload,
                "Unload a module by name",
                "module unload [-f|-h] <module name> [<module name> ...]",
                self.listed_names,
                detail=(
                    "Names are unloaded left to right; the command stops at the first failure.",
                    "Without a flag, a module in use (use count above 0) is not unloaded.",
                    "-f  Firm: unload even if in use. The running modules that depend on it",
                    "    are unloaded first, deepest first; references still held go stale.",
                    "-h  Hard: as -f, and remove the module even if its unload() refuses",
                    "    or raises (dangerous: what it holds may not be released).",
                ),
            ),
            Command(
                ("module", "reload"),
                self.reload,
                "Reload configuration for a module",
                "module reload [<module name> ...]",
                self.listed_names,
                detail=(
                    "Calls reload() of each module named, or of every running module that",
                    "has one (in start order) when none is named. The code is not re-imported:",
                    "see 'module refresh'.",
                ),
            ),
            Command(
                ("module", "refresh"),
                self.refresh,
                "Completely unloads and loads a module by name",
                "module refresh <module name> [recursively]",
                self.refresh_complete,
                detail=(
                    "Unloads the module, drops its code, and loads it again fresh (an upgraded",
                    "distribution is picked up). recursively: the running modules that depend",
                    "on it are unloaded first and loaded back after it.",
                ),
            ),
            Command(
                ("core", "reload"),
                self.reload,
                "Global reload (every module that supports it)",
                "core reload",
                detail=("The same as 'module reload' without a name.",),
            ),
            Command(
                ("core", "show", "help"),
                self.help,
                help_text,
                "core show help [<command>]",
                self.help_complete,
                detail=help_detail,
            ),
            Command(
                ("help",),
                self.help,
                help_text,
                "help [<command>]",
                self.help_complete,
                detail=help_detail,
            ),
            Command(
                ("core", "stop"),
                self.core_stop,
                "Shut down the host (gracefully unloads every module)",
                "core stop gracefully|now",
                lambda before: [] if before else ["gracefully", "now"],
                detail=(
                    "gracefully: unload every module, in reverse start order, then stop.",
                    "now: stop without unloading anything.",
                ),
            ),
            Command(
                ("core", "set", "verbose"),
                self.console_only,
                "Set the verbosity of this console's log",
                "core set verbose {off|<level>}",
                lambda before: [] if before else ["off", "1", "2", "3"],
                detail=(
                    "Per console, as Asterisk has it: other consoles and the host's own",
                    "log are not changed. off (0): warnings and errors only; 1: INFO too;",
                    "each level above 1 one logging level lower.",
                ),
            ),
            Command(
                ("core", "set", "debug"),
                self.console_only,
                "Set the debug level of this console's log",
                "core set debug {off|<level>}",
                lambda before: [] if before else ["off", "1", "2"],
                detail=(
                    "Per console: 1 shows DEBUG lines here (the host lowers its log level",
                    "for as long as a console asks); off stops them.",
                ),
            ),
            Command(
                ("logger", "mute"),
                self.console_only,
                "Mute or unmute this console's log",
                "logger mute [silent]",
                lambda before: [] if before else ["silent"],
                detail=(
                    "A toggle: no log line at all on this console until typed again;",
                    "command output still shows. silent: without saying so.",
                ),
            ),
        ]


def _usage() -> UnloadMode:
    raise UsageError("")


def install_builtin_commands(
    table: CommandTable, operations: Operations, stop: Callable[[bool], object] | None = None
) -> None:
    """Add every built-in command to ``table``."""
    for command in BuiltinCommands(table, operations, stop).commands():
        table.add(command)
