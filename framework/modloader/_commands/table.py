"""The command table: lookup by words, dispatch, help, "did you mean", completion."""

# Annotations evaluated, not strings: typing.NamedTuple compiles string ones (docs/design.md).

import logging
import re
import signal
import threading
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Sequence
from typing import Any
from typing import NamedTuple

from modloader._commands.base import CommandResult
from modloader._registry.context import CommandHandlerT
from modloader._registry.words import headline
from modloader._registry.words import said
from modloader._registry.words import shown
from modloader._text import cell
from modloader._text import fit
from modloader._text import width
from modloader.errors import CommandError
from modloader.errors import NoSuchCommandError
from modloader.errors import UsageError

__all__ = ["Command", "CommandTable", "HandlerT", "Reply", "split_line"]

_log = logging.getLogger("modloader")


class Reply(NamedTuple):
    """What a handler returns: lines, structured data (or what makes it), success."""

    lines: Sequence[str] = ()
    data: dict[str, Any] | Callable[[], dict[str, Any]] | None = None
    ok: bool = True


#: A command's handler: gets the argument words after the command's own words.
HandlerT = Callable[[list[str]], Reply]
#: Completes the argument being typed: gets the words before it, returns candidates.
CompleterT = Callable[[list[str]], Iterable[str]]


class Command(NamedTuple):
    """One command of the language."""

    words: tuple[str, ...]
    handler: HandlerT
    summary: str
    usage: str
    complete: CompleterT | None = None
    #: Who added it: ``None`` for the host's own commands, else the module's name.
    owner: str | None = None
    #: What ``help <command>`` says after the summary: the arguments and options.
    detail: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        return " ".join(self.words)


def split_line(line: str) -> list[str]:
    """Words of a command line; quotes group words as in a shell, a stray quote is literal."""
    if _PLAIN.fullmatch(line):  # no quote or escape: shlex would split at its blanks alone
        return [word for word in _BLANKS.split(line) if word]
    import shlex  # a line with quotes pays for it, not startup

    try:
        return shlex.split(line)
    except ValueError:
        return line.split()


#: A line :func:`shlex.split` has nothing to interpret in, and the blanks it splits at.
_PLAIN = re.compile(r"[^'\"\\]*")
_BLANKS = re.compile(r"[ \t\r\n]+")


class _CtrlC(KeyboardInterrupt):
    """The operator's Ctrl-C while a command runs in the main thread (see :func:`_run`)."""


def _ctrl_c(signum: int, frame: object) -> None:
    raise _CtrlC


def _run(command: Command, args: list[str], line: str) -> Reply:
    """``command``'s handler, whose ``BaseException`` that is not ``Exception`` (and not a
    Ctrl-C) becomes a failed command: ``KeyboardInterrupt``, ``GeneratorExit`` or a class
    of its own, from a module's command or from the hooks an application's command calls."""
    try:
        return command.handler(args)
    except (Exception, SystemExit, _CtrlC):
        raise  # Exception and SystemExit are reported by the table; a Ctrl-C interrupts
    except BaseException as exc:
        _log.warning("%s: command '%s' raised", command.owner or "host", line, exc_info=True)
        reason = "\n".join([headline(exc, said(exc)), *_notes(exc)])
        raise CommandError(f"internal error while running '{line}': {reason}") from exc


def _notes(exc: BaseException) -> list[str]:
    """An exception's notes, shown under it as Python shows them: which module's hook
    raised it (:mod:`modloader._hooks.manager`), or what its own code added."""
    try:
        return [note for note in getattr(exc, "__notes__", ()) if isinstance(note, str)]
    except Exception:  # notes that cannot be read: the exception is said without them
        return []


class CommandTable:
    """Commands by their words. Extra sources (a module's commands) are consulted live."""

    def __init__(self) -> None:
        self._commands: dict[tuple[str, ...], Command] = {}

    def add(self, command: Command) -> Callable[[], None]:
        """Add ``command``; returns what takes it away again.

        :raises ValueError: another owner has these words, or a command whose words
            begin with these or that these begin with: the longest match would take
            the other's lines (``core stop now`` over the host's ``core stop``; ``module``
            would answer every mistyped ``module ...`` line).
        """
        words = command.words
        for other in self._commands.values():
            if other.owner == command.owner:
                continue
            shared = min(len(words), len(other.words))
            if other.words[:shared] != words[:shared]:
                continue
            who = f"'{other.owner}'" if other.owner else "the host"
            if other.words == words:
                raise ValueError(f"command '{command.text}' is already registered by {who}")
            raise ValueError(
                f"command '{command.text}' would take lines of '{other.text}', registered by {who}"
            )
        self._commands[words] = command

        def remove() -> None:
            if self._commands.get(command.words) is command:
                del self._commands[command.words]

        return remove

    def add_module_command(
        self, owner: str, words: str, handler: CommandHandlerT, summary: str, usage: str | None
    ) -> Callable[[], None]:
        """Add a running module's command (its handler returns text or ``None``)."""

        def run(args: list[str]) -> Reply:
            text = handler(args)
            if text is not None and not isinstance(text, str):
                raise CommandError(f"the command returned {shown(text)}, not text")
            return Reply(lines=[text] if text else [], data={"output": text})

        key = tuple(words.lower().split())
        text = " ".join(key)
        return self.add(
            Command(key, run, summary or f"(from module {owner})", usage or text, None, owner)
        )

    def all(self) -> list[Command]:
        return sorted(list(self._commands.values()), key=lambda c: c.words)

    def resolve(self, words: Sequence[str]) -> tuple[Command, list[str]]:
        """The longest command matching the first words (case-insensitive), and the rest."""
        lowered = [w.lower() for w in words]
        best: Command | None = None
        for command in self.all():
            n = len(command.words)
            if tuple(lowered[:n]) == command.words and (best is None or n > len(best.words)):
                best = command
        if best is None:
            import difflib

            line = " ".join(words)
            texts = [c.text for c in self.all()]
            close = difflib.get_close_matches(line.lower(), texts, n=3, cutoff=0.5)
            if not close:
                close = [t for t in texts if t.startswith(lowered[0])] if lowered else []
            raise NoSuchCommandError(line, close[:3])
        return best, list(words[len(best.words) :])

    def execute(self, line: str) -> CommandResult:
        """Run one line. Failures are results, whatever the command (a module's, or the
        application's calling modules' hooks) raises: only a Ctrl-C escapes, a
        :class:`KeyboardInterrupt` that Python's own SIGINT handler raised."""
        words = split_line(line)
        if not words:
            return CommandResult(line, ok=True)
        try:
            command, args = self.resolve(words)
        except NoSuchCommandError as exc:
            return CommandResult(line, ok=False, output=exc.message, data=exc.to_dict())
        marking = (
            threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGINT) is signal.default_int_handler
        )
        if marking:
            signal.signal(signal.SIGINT, _ctrl_c)
        try:
            reply = _run(command, args, line)
        except UsageError as exc:
            text = f"Usage: {command.usage}"
            if exc.message and exc.message != command.usage:
                text = f"{exc.message}\n{text}"
            return CommandResult(line, ok=False, output=text, data=exc.to_dict())
        except CommandError as exc:
            lines = [exc.output, exc.message] if exc.output else [exc.message]
            lines.append(f"Command '{line}' failed.")
            return CommandResult(line, ok=False, output="\n".join(lines), data=exc.to_dict())
        except (Exception, SystemExit) as exc:  # a module's command must not take the host down
            _log.debug("%s: command '%s' raised", command.owner or "host", line, exc_info=True)
            reason = headline(exc, said(exc))
            data = {"error": "exception", "message": reason, "facts": {}}
            output = "\n".join([reason, *_notes(exc), f"Command '{line}' failed."])
            return CommandResult(line, ok=False, output=output, data=data)
        finally:  # Python's handler back, unless the command set one of its own meanwhile
            if marking and signal.getsignal(signal.SIGINT) is _ctrl_c:
                signal.signal(signal.SIGINT, signal.default_int_handler)
        lines = list(reply.lines)
        if not reply.ok:
            lines.append(f"Command '{line}' failed.")
        return CommandResult(line, ok=reply.ok, output="\n".join(lines), data=reply.data)

    def complete(self, line: str) -> list[str]:
        """Candidates for the word being typed at the end of ``line``."""
        words = line.split()
        if line and not line[-1].isspace() and words:
            current = words.pop()
        else:
            current = ""
        lowered = [w.lower() for w in words]
        found: set[str] = set()
        for command in self.all():
            n = len(command.words)
            if len(lowered) < n:
                if tuple(lowered) == command.words[: len(lowered)]:
                    found.add(command.words[len(lowered)])
            elif tuple(lowered[:n]) == command.words and command.complete is not None:
                found.update(command.complete(words[n:]))
        return sorted(w for w in found if w.lower().startswith(current.lower()))

    def help_lines(self, topic: Sequence[str] = ()) -> list[str]:
        """``core show help [command]``: one line per command, or one command's usage."""
        if topic:
            lowered = tuple(w.lower() for w in topic)
            matches = [c for c in self.all() if c.words[: len(lowered)] == lowered]
            if not matches:
                raise CommandError(f"No such command '{' '.join(topic)}'.")
            if len(matches) == 1 or matches[0].words == lowered:
                command = matches[0]
                lines = [f"Usage: {command.usage}", f"       {command.summary}"]
                if command.detail:
                    lines += ["", *(f"       {d}" if d else "" for d in command.detail)]
                return lines
            commands = matches
        else:
            commands = self.all()
        texts = [cell(c.text) for c in commands]
        columns = max(map(width, texts), default=0)
        return [
            f"{fit(t, columns)}  -- {cell(c.summary)}" for t, c in zip(texts, commands, strict=True)
        ]
