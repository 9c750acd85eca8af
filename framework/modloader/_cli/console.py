"""The interactive console (``modloader -c`` and ``modloader -r``), on prompt_toolkit.

This is the only module that imports prompt_toolkit. The console drives any
:class:`~modloader._commands.base.Executor`: the host itself, or a
:class:`~modloader._control.client.RemoteExecutor` talking to one over the
control socket. It behaves like Asterisk's ``*CLI>``: Tab completes commands,
subcommands and module names (asking the executor), Ctrl-C clears the line,
Ctrl-D, ``exit`` or ``quit`` leave, and log messages appear above the prompt
without breaking the line being typed.

A command's output comes first: the log lines emitted while a command typed
here runs (a module's "dropping 1 key" during ``module unload``) are held and
shown right after that command's own output, in the order they happened.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import sys
import threading
from collections.abc import Iterable
from collections.abc import Iterator
from typing import TYPE_CHECKING
from typing import Any
from typing import TextIO

from prompt_toolkit import PromptSession
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.completion import Completer
from prompt_toolkit.completion import Completion
from prompt_toolkit.document import Document
from prompt_toolkit.history import FileHistory
from prompt_toolkit.history import History
from prompt_toolkit.history import InMemoryHistory
from prompt_toolkit.input import Input
from prompt_toolkit.output import Output
from prompt_toolkit.patch_stdout import patch_stdout
from prompt_toolkit.shortcuts import CompleteStyle

from modloader._cli import colour as _colour
from modloader._cli.script import script_lines
from modloader._cli.script import stdin_descriptor
from modloader._cli.streams import KeptStreams
from modloader._commands.base import Executor
from modloader._files import open_appending
from modloader._files import xdg_folder

if TYPE_CHECKING:
    from modloader._control.logfeed import ConsoleFilter

__all__ = [
    "DEFAULT_PROMPT",
    "EXIT_WORDS",
    "HISTORY_ENV",
    "Console",
    "default_history_path",
    "run_console",
]

#: Asterisk's prompt.
DEFAULT_PROMPT = "*CLI> "
#: Words that leave the console (a remote console leaves the host running).
EXIT_WORDS = frozenset({"exit", "quit"})
#: Environment variable naming the history file.
HISTORY_ENV = "MODLOADER_HISTORY_FILE"
#: How log records look in the console (after Asterisk's ``[date] LEVEL[name]: text``).
LOG_FORMAT = "[%(asctime)s] %(levelname)s[%(name)s]: %(message)s"


#: The largest history file read back (a shell keeps far less).
MAX_HISTORY_BYTES = 16 * 2**20


def default_history_path() -> str:
    """``$MODLOADER_HISTORY_FILE``, else ``$XDG_STATE_HOME/modloader/history``,
    else ``~/.local/state/modloader/history``."""
    explicit = os.environ.get(HISTORY_ENV)
    if explicit:
        return os.path.expanduser(explicit)
    state = xdg_folder("XDG_STATE_HOME", ".local", "state")
    return os.path.join(state, "modloader", "history")


def _open_history(path: str | None) -> History:
    """The history kept in ``path`` (``None``: the default file; ``""``: none kept)."""
    if path == "":
        return InMemoryHistory()
    path = default_history_path() if path is None else os.fspath(path)
    problem = None
    try:
        os.makedirs(os.path.dirname(os.path.abspath(path)), mode=0o700, exist_ok=True)
        # Commands may name things an operator would not share: owner-only, like a shell's.
        # Never waiting (a FIFO nobody reads is ENXIO); only a regular file of sane size is
        # read back (a link to /dev/zero, or a file of gigabytes, would be read whole).
        fd = open_appending(path, 0o600)
        try:
            info = os.fstat(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        problem = f"cannot write {path} ({exc})"
    else:
        if not stat.S_ISREG(info.st_mode):
            problem = f"{path} is not a regular file"
        elif info.st_size > MAX_HISTORY_BYTES:
            problem = f"{path} is larger than {MAX_HISTORY_BYTES // 2**20} MiB (shorten it)"
    if problem is not None:
        logging.getLogger("modloader.console").warning("console history not kept: %s", problem)
        return InMemoryHistory()
    return _HistoryFile(path)


class _HistoryFile(FileHistory):
    """prompt_toolkit's history file, where a write that fails loses the line, not the
    command: a full disk made each command end in prompt_toolkit's traceback and
    "Press ENTER to continue...", and the command was not run. The line stays in
    this console's memory; the failure is said once, and again after a write that
    succeeds."""

    def __init__(self, filename: str) -> None:
        super().__init__(filename)
        self.failing = False

    def store_string(self, string: str) -> None:
        try:
            super().store_string(string)
        except OSError as exc:
            if not self.failing:
                logging.getLogger("modloader.console").warning(
                    "console history not written to %s (%s); this session's lines are kept "
                    "in memory",
                    self.filename,
                    exc.strerror or exc,
                )
            self.failing = True
        else:
            self.failing = False


def _last_word(text: str) -> str:
    cut = max(text.rfind(" "), text.rfind("\t"))
    return text[cut + 1 :]


class _ExecutorCompleter(Completer):
    """Tab completion that asks the executor (locally, or over the socket)."""

    def __init__(self, executor: Executor) -> None:
        self.executor = executor

    def get_completions(
        self, document: Document, complete_event: CompleteEvent
    ) -> Iterable[Completion]:
        text = document.text_before_cursor
        word = _last_word(text)
        try:
            candidates = self.executor.complete(text)
        except Exception:  # a completion must never break the line being typed
            logging.getLogger("modloader.console").debug("completion failed", exc_info=True)
            return
        # One candidate: finish the word and step past it, as Asterisk does.
        suffix = " " if len(candidates) == 1 else ""
        for candidate in candidates:
            yield Completion(candidate + suffix, start_position=-len(word), display=candidate)


class _ConsoleHandler(logging.Handler):
    """Writes log records to the console's current output (above the prompt)."""

    def __init__(self, console: Console, level: int) -> None:
        super().__init__(level)
        self.console = console
        self.setFormatter(logging.Formatter(LOG_FORMAT, "%b %d %H:%M:%S"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.console.write_log(self.format(record))
        except Exception:
            self.handleError(record)


class _LogStream:
    """The stream a terminal log handler writes to while the console runs."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def write(self, text: str) -> int:
        if text.strip():
            self.console.write_log(text.rstrip("\n"), escaped=True)
        return len(text)

    def flush(self) -> None:
        pass


@contextlib.contextmanager
def _ctrl_c_interrupts() -> Iterator[None]:
    """While a command runs, Ctrl-C (SIGINT) stops waiting for it, and the prompt comes
    back: the handler is Python's own, as under a remote console. The ``modloader``
    command's own handler (stop the host gracefully) stopped a local console's host
    when an operator gave up on a slow command. Only the main thread hears signals."""
    import signal

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        if signal.getsignal(signal.SIGINT) is signal.default_int_handler:  # not replaced
            signal.signal(signal.SIGINT, previous if previous is not None else signal.SIG_DFL)


class Console:
    """An Asterisk-like command console over ``executor``.

    :param executor: what runs the lines typed.
    :param prompt: the prompt (Asterisk's ``*CLI> ``).
    :param history_path: the history file; ``None`` for :func:`default_history_path`,
        ``""`` to keep none.
    :param banner: printed once before the first prompt.
    :param stdout: where command output and log lines go; default: the terminal,
        through prompt_toolkit so that the prompt is redrawn below them.
    :param input: prompt_toolkit input (tests pass a pipe input).
    :param output: prompt_toolkit output (tests pass ``DummyOutput``).
    :param logger: while the console runs, this logger's records are shown above
        the prompt (``None``: none are). Its handlers that write to the terminal
        are routed through the console for the time being; if the logger has no
        handler at all, one is added at ``log_level``.
    :param log_level: the level of that added handler.
    :param colour: colour the level word of log lines and the Status column of
        ``module show`` (Asterisk's colours); ``None``: when the output is a
        terminal and ``NO_COLOR`` is not set.
    """

    def __init__(
        self,
        executor: Executor,
        *,
        prompt: str = DEFAULT_PROMPT,
        history_path: str | None = None,
        banner: str | None = None,
        stdout: TextIO | None = None,
        input: Input | None = None,
        output: Output | None = None,
        logger: logging.Logger | None = None,
        log_level: int = logging.INFO,
        colour: bool | None = None,
    ) -> None:
        self.executor = executor
        if colour is None:
            colour = _colour.enabled(stdout if stdout is not None else sys.__stdout__)
        self.colour = colour
        self.prompt = prompt
        self.banner = banner
        self.logger = logger
        self.log_level = log_level
        self._stdout = stdout
        self._stop = threading.Event()
        #: The standard streams as :meth:`run` began (put back after each command).
        self._kept: KeptStreams | None = None
        self._write_lock = threading.RLock()
        #: While a command typed here runs, its log lines wait for its output.
        self._busy = False
        self._held: list[tuple[str, bool]] = []
        #: The handlers showing the log here, and this console's verbosity over them.
        self._shown: list[logging.Handler] = []
        self._settings: ConsoleFilter | None = None
        #: ``None`` when the input is no terminal (a file, a pipe): its lines are read
        #: without prompt_toolkit (:mod:`modloader._cli.script`).
        self.session: PromptSession[str] | None = None
        if input is not None or _colour.is_terminal(sys.stdin):
            self.session = PromptSession(
                history=_open_history(history_path),
                completer=_ExecutorCompleter(executor),
                complete_while_typing=False,
                complete_in_thread=True,
                complete_style=CompleteStyle.READLINE_LIKE,
                input=input,
                output=output,
            )

    def write(self, text: str, *, escaped: bool = False) -> None:
        """Print ``text`` (a newline is added) above the prompt. Thread-safe.

        Control characters are shown as escapes (see :mod:`modloader._text`),
        unless ``escaped`` says the caller did that already (and then added colour).
        """
        if not escaped:
            from modloader._text import escape_controls

            text = escape_controls(text)
        from modloader._cli.output import OutputError
        from modloader._cli.output import write

        stream = self._stdout if self._stdout is not None else sys.stdout
        with self._write_lock:
            # A reader that has gone (| head) drops the rest; a full disk is the command's
            # "write error", raised in the console's own thread (a log line's is dropped).
            try:
                write(stream, text if text.endswith("\n") else text + "\n")
            except OutputError:
                if threading.current_thread() is threading.main_thread():
                    raise

    def write_log(self, text: str, *, escaped: bool = False) -> None:
        """Print a log line above the prompt, or hold it while a command typed here runs."""
        with self._write_lock:
            if self._busy:
                self._held.append((text, escaped))
                return
            self.write(text, escaped=escaped)

    def write_remote_log(self, level: int, text: str) -> None:
        """Print a line of a remote host's log (its level word coloured, as Asterisk does)."""
        from modloader._text import escape_controls

        text = escape_controls(text)
        colour = _colour.LEVEL_COLOURS.get(level) if self.colour else None
        if colour is not None:
            word = logging.getLevelName(level)
            text = text.replace(word, f"{colour}{word}{_colour.RESET}", 1)
        self.write_log(text, escaped=True)

    def restore_streams(self, after: str, *, unless_busy: bool = False) -> None:
        """Put back the console's streams and log handlers if module code replaced them
        (``after``: what ran, for the warning); from any thread. The console does it
        after each of its commands; the host's owner, after what else runs module code
        (a command over the socket): ``unless_busy`` then leaves it to the end of the
        console's own command, if one runs, which the warning names."""
        if self._kept is not None and not (unless_busy and self._busy):
            self._kept.restore(after)

    def stop(self) -> None:
        """Make :meth:`run` return, from any thread or a signal handler."""
        self._stop.set()
        if self.session is None:
            return  # the lines' reader looks at the event
        app = self.session.app
        loop = app.loop
        if app.is_running and loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(self._exit_prompt)

    def _exit_prompt(self) -> None:
        if self.session is None:
            return
        app = self.session.app
        if app.is_running and app.future is not None and not app.future.done():
            app.exit(exception=EOFError())

    def _pre_run(self) -> None:
        # stop() may have come between the loop's check and the prompt's start.
        if self._stop.is_set():
            self._exit_prompt()

    def run(self) -> None:
        """Read and run lines until Ctrl-D, ``exit``, ``quit`` or :meth:`stop`."""
        redraw = patch_stdout(raw=True) if self.session is not None else contextlib.nullcontext()
        with redraw, self._logging():
            # The console's own streams and log (its handlers, the terminal's and a log
            # file's; not a remote console's feed, which goes when it leaves), whatever a
            # module's command does to them.
            logger = self.logger or logging.getLogger()
            own = [
                h
                for h in logger.handlers
                if isinstance(h, logging.StreamHandler) or h in self._shown
            ]
            self._kept = KeptStreams(logger, own)
            if self.banner:
                self.write(self.banner)
            for typed in self._lines():
                line = typed.strip()
                if not line:
                    continue
                if self.session is None:  # a script: each command after the prompt, once
                    self.write(f"{self.prompt}{line}")
                if line.lower() in EXIT_WORDS:
                    break
                self._run_line(line)

    def _lines(self) -> Iterator[str]:
        """The lines typed at the prompt, or those of the input that is no terminal."""
        if self.session is None:
            yield from script_lines(stdin_descriptor(), self._stop)
            return
        while not self._stop.is_set():
            try:
                typed = self.session.prompt(self.prompt, pre_run=self._pre_run)
            except KeyboardInterrupt:  # Ctrl-C: drop the line, prompt again
                continue
            except EOFError:  # Ctrl-D, or stop()
                return
            # Lines pasted at once (a terminal's bracketed paste) are run in turn, as a
            # script's are: joined, they were one command ("module unload x module load x").
            yield from typed.splitlines() or [typed]

    def _run_line(self, line: str) -> None:
        with self._write_lock:
            self._busy = True
        try:
            self._execute(line)
        finally:
            with self._write_lock:
                self._busy = False
                held, self._held = self._held, []
                for text, escaped in held:
                    self.write(text, escaped=escaped)

    def _execute(self, line: str) -> None:
        if self._shown:  # a local console: its own verbosity, as a remote one has it
            answered = self._set_verbosity(line)
            if answered is not None:
                if answered:
                    self.write(answered)
                return
        try:
            try:
                with _ctrl_c_interrupts():
                    result = self.executor.execute(line)
            finally:
                self.restore_streams(f"'{line}'")
        except KeyboardInterrupt:
            self.write(f"Interrupted while running '{line}'")
            return
        except Exception as exc:  # an executor should not raise; keep the console alive
            self.write(f"Command '{line}' failed: {type(exc).__name__}: {exc}")
            return
        if result.output:
            from modloader._text import escape_controls

            output = escape_controls(result.output)
            if self.colour and line.split()[:2] == ["module", "show"]:
                output = _colour.colour_status_column(output)
            self.write(output, escaped=True)

    def _set_verbosity(self, line: str) -> str | None:
        """``core set verbose|debug N`` and ``logger mute`` at a local console: its handlers."""
        from modloader._control.logfeed import ConsoleFilter
        from modloader._control.logfeed import console_command

        if self._settings is None:
            level = min(h.level or self._logger_level() for h in self._shown)
            self._settings = ConsoleFilter(
                verbose=int(level <= logging.INFO), debug=int(level <= logging.DEBUG)
            )
        answered = console_command(line, self._settings)
        if answered is None:
            return None
        wanted = logging.CRITICAL + 1 if self._settings.mute else self._settings.level
        for handler in self._shown:
            handler.setLevel(wanted)
        if self.logger is not None and wanted < self.logger.getEffectiveLevel():
            self.logger.setLevel(wanted)
        return answered[1]

    def _logger_level(self) -> int:
        return self.logger.getEffectiveLevel() if self.logger is not None else logging.INFO

    @contextlib.contextmanager
    def _logging(self) -> Iterator[None]:
        logger = self.logger
        if logger is None:
            yield
            return
        rerouted = _reroute_terminal_handlers(logger, _LogStream(self))
        added: _ConsoleHandler | None = None
        if not logger.handlers:
            added = _ConsoleHandler(self, self.log_level)
            logger.addHandler(added)
        shown: list[logging.Handler] = [h for h, _ in rerouted] + ([added] if added else [])
        self._shown = shown
        logger_level = logger.level
        levels = [h.level for h in shown]
        formatters = [h.formatter for h in shown]
        if self.colour:
            for handler, formatter in zip(shown, formatters, strict=True):
                if not isinstance(formatter, _colour.ColourFormatter):
                    handler.setFormatter(_colour.ColourFormatter(formatter))
        try:
            yield
        finally:
            for handler, formatter, level in zip(shown, formatters, levels, strict=True):
                handler.setFormatter(formatter)
                handler.setLevel(level)
            self._shown = []
            logger.setLevel(logger_level)
            if added is not None:
                logger.removeHandler(added)
            for handler, old in rerouted:
                handler.setStream(old)


def _reroute_terminal_handlers(
    logger: logging.Logger, stream: Any
) -> list[tuple[logging.StreamHandler[TextIO], TextIO]]:
    """Point ``logger``'s handlers that write to the terminal at the console's ``stream``.

    :returns: each handler moved, with the stream to give it back.
    """
    terminals = {sys.__stdout__, sys.__stderr__}
    rerouted: list[tuple[logging.StreamHandler[TextIO], TextIO]] = []
    for handler in logger.handlers:
        if isinstance(handler, logging.StreamHandler) and handler.stream in terminals:
            old = handler.setStream(stream)  # above the prompt, held while a command runs
            if old is not None:
                rerouted.append((handler, old))
    return rerouted


def run_console(
    executor: Executor,
    *,
    prompt: str = DEFAULT_PROMPT,
    history_path: str | None = None,
    banner: str | None = None,
    stdout: TextIO | None = None,
    input: Input | None = None,
    output: Output | None = None,
    logger: logging.Logger | None = None,
    log_level: int = logging.INFO,
    colour: bool | None = None,
) -> None:
    """Run a :class:`Console` over ``executor`` until the operator leaves (same parameters)."""
    Console(
        executor,
        prompt=prompt,
        history_path=history_path,
        banner=banner,
        stdout=stdout,
        input=input,
        output=output,
        logger=logger,
        log_level=log_level,
        colour=colour,
    ).run()
