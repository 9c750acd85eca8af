"""``modloader [-x CMD | -c]``: run a host in this process."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import sys
from collections.abc import Callable
from collections.abc import Iterator
from typing import TYPE_CHECKING
from typing import Any
from typing import TextIO

from modloader._cli.args import DEMO_NAMESPACE
from modloader._cli.args import Options
from modloader._cli.output import write
from modloader._cli.streams import KeptStreams
from modloader._cli.streams import StdoutToStderr
from modloader._cli.streams import TerminalHandler
from modloader._cli.streams import reopened
from modloader._files import open_appending
from modloader._files import xdg_folder
from modloader._text import escape_controls
from modloader._text import escaping_formatter
from modloader.errors import ConfigError
from modloader.errors import ModLoaderError
from modloader.errors import StartupError

if TYPE_CHECKING:
    from pathlib import Path

    from modloader._cli.signals import ProcessSignals
    from modloader._commands.base import CommandResult
    from modloader._host import Host

__all__ = ["configure_logging", "default_config_path", "make_host", "run_local"]


def default_config_path(namespace: str) -> Path:
    """Where the ``modloader`` command looks for modules.conf when ``-C`` is not given.

    ``$XDG_CONFIG_HOME/modloader/<namespace>/modules.conf`` (``~/.config/...``);
    for the demo namespace, the modules.conf shipped in the package when that
    file does not exist.
    """
    from pathlib import Path  # only without -C: a warm start with it does without pathlib

    path = Path(xdg_folder("XDG_CONFIG_HOME", ".config")) / "modloader" / namespace / "modules.conf"
    if namespace == DEMO_NAMESPACE and not path.exists():
        shipped = Path(__file__).resolve().parent.parent / "demo.conf"
        if shipped.exists():
            return shipped
    return path


def configure_logging(options: Options) -> str | None:
    """Messages to stderr, as ``[date] LEVEL: message`` (for the journal, ``<priority>message``),
    and to ``--log-file``.

    Control characters a module logs are shown escaped.

    :returns: why the log file cannot be opened, or ``None``.
    """
    from modloader._systemd import JournalFormatter
    from modloader._systemd import under_journal

    # ``-x`` prints what the command prints; startup's news is for -v (warnings still show).
    level = logging.WARNING if options.quiet or options.execute is not None else logging.INFO
    level = max(logging.DEBUG, level - 10 * options.verbose)  # each -v shows one level more
    formatter = escaping_formatter(
        "[%(asctime)s] %(levelname)s: %(message)s", datefmt="%b %d %H:%M:%S"
    )
    handler = TerminalHandler(sys.stderr)
    handler.setFormatter(formatter)
    from modloader._cli import colour

    if under_journal():  # journald adds the time itself, and reads the priority
        handler.setFormatter(JournalFormatter())
    elif colour.enabled(sys.stderr):  # the level word, as Asterisk colours it
        handler.setFormatter(colour.ColourFormatter(formatter))
    handlers: list[logging.Handler] = [handler]
    if options.log_file is not None:
        # Asterisk's messages file: the whole story, whatever the terminal shows.
        try:
            to_file = _LogFile(
                _open_log_file(options.log_file), options.log_file, options.profile.prog
            )
        except OSError as exc:
            prog = options.profile.prog
            return f"{prog}: error: cannot open the log file {options.log_file}: {exc.strerror}"
        to_file.setLevel(min(level, logging.INFO))
        handler.setLevel(level)
        to_file.setFormatter(formatter)
        handlers.append(to_file)
    root = logging.getLogger()
    replaced, root.handlers[:] = root.handlers[:], handlers
    for old in replaced:  # an earlier main() in this process: its files are closed
        if isinstance(old, TerminalHandler | _LogFile):
            old.close()
    root.setLevel(min(h.level or level for h in handlers))
    return None


class _LogFile(logging.StreamHandler):  # type: ignore[type-arg]
    """``--log-file``'s handler: a write that fails (a full disk, a collector gone) is
    said once on stderr, not as a traceback per line; the lines are lost meanwhile.

    It follows the path, as :class:`logging.handlers.WatchedFileHandler` does: when
    the file there is no longer the one it writes to (``logrotate`` moved it away
    and made a new one, or it was removed), the path is opened again before the
    next line. A rotated log needs no signal and no ``copytruncate``.
    """

    def __init__(self, stream: TextIO, path: str, prog: str) -> None:
        super().__init__(stream)
        self.path, self.prog = path, prog
        self.failed = False

    def emit(self, record: logging.LogRecord) -> None:
        self._follow()
        super().emit(record)

    def _follow(self) -> None:
        try:
            there: os.stat_result | None = os.stat(self.path)
        except FileNotFoundError:
            there = None
        except OSError:
            return  # cannot tell: write where we are
        try:
            mine: os.stat_result | None = os.fstat(self.stream.fileno())
        except (OSError, ValueError):
            mine = None
        if there is not None and mine is not None and os.path.samestat(there, mine):
            return  # still the file it writes to
        try:
            stream = _open_log_file(self.path)
        except OSError:
            return  # its folder is gone, say: the next write says what is wrong, once
        old, self.stream = self.stream, stream
        with contextlib.suppress(OSError, ValueError):
            old.close()

    def close(self) -> None:
        """Close the log file too (a plain stream handler leaves its stream open)."""
        try:
            super().close()
        finally:
            with contextlib.suppress(OSError, ValueError):
                self.stream.close()

    def handleError(self, record: logging.LogRecord) -> None:
        if self.failed:
            return
        self.failed = True
        error = sys.exc_info()[1]
        print(
            f"{self.prog}: cannot write the log file {self.path} ({error}); "
            "its lines are lost while that lasts",
            file=sys.stderr,
        )


def _open_log_file(path: str) -> TextIO:
    """``--log-file``, opened to append as :class:`logging.FileHandler` would, but never
    waiting on a FIFO that no process reads (:func:`~modloader._files.open_appending`)."""
    fd = open_appending(path, 0o666)
    try:
        return open(fd, "a", encoding="utf-8")
    except BaseException:
        os.close(fd)
        raise


def make_host(options: Options) -> Host:
    """The host of the command line: the application's ``host_factory``, else :class:`Host`."""
    from modloader._host import Host

    profile = options.profile
    if options.config:
        default: str | Path | None = None
    elif profile.default_config_path is not None:
        default = profile.default_config_path
    else:
        default = default_config_path(options.namespace)
    factory = Host if profile.host_factory is None else profile.host_factory
    # config_dir only when --config-dir is given: a factory need not know of it otherwise.
    extra: dict[str, Any] = {} if options.config_dir is None else {"config_dir": options.config_dir}
    if factory is Host and options.namespace == DEMO_NAMESPACE:
        from modloader.demo import DemoSpecs  # the demo host's hooks (``demo status``)

        extra["hookspecs"] = [DemoSpecs]
    host = factory(
        options.namespace,
        config_path=options.config,
        default_config_path=default,
        env_prefix=profile.env_prefix,
        **extra,
    )
    if not isinstance(host, Host):
        raise TypeError(f"host_factory must return a modloader.Host, not {type(host).__name__}")
    if options.module_timeout is not None:
        host.module_timeout = options.module_timeout or None  # 0: no limit
    return host


def run_cache(action: str) -> int:
    """``modloader --cache show|clear``: what the cache holds, or empty it."""
    from modloader import _cachestore

    folder = _cachestore.cache_dir()
    if action == "clear":
        print(f"removed {_cachestore.clear()} entries from {folder}")
        return 0
    state = "on" if _cachestore.is_enabled() else "off (MODLOADER_NO_CACHE or a .disable file)"
    lines = [f"cache folder: {folder}", f"cache: {state}"]
    for path in _cachestore.entries():
        with contextlib.suppress(OSError):  # removed since it was listed
            lines.append(f"  {path.parent.name:<12} {path.stat().st_size:>9} bytes  {path.name}")
    write(sys.stdout, "\n".join(lines) + "\n")
    return 0


def _report_start_error(exc: ModLoaderError, as_json: bool, prog: str = "modloader") -> None:
    """Say why the host did not start: text on stderr, or the structured form on stdout."""
    issues = [str(issue) for issue in exc.issues] if isinstance(exc, ConfigError) else []
    if as_json:
        error = {"code": exc.code, "message": exc.message, "exit_code": exc.exit_code}
        if issues:
            error["issues"] = issues
        print(json.dumps({"ok": False, "error": error}, indent=2))
    elif isinstance(exc, ConfigError):
        print(f"{prog}: configuration error, nothing was started:", file=sys.stderr)
        for issue in issues:  # a file's text may hold control characters: shown escaped
            print(escape_controls(f"  {issue}"), file=sys.stderr)
    elif isinstance(exc, StartupError):
        # The lines before were logged as they happened; this one is the verdict.
        print(escape_controls(f"{prog}: startup failed: {exc}"), file=sys.stderr)
    else:
        print(escape_controls(f"{prog}: {exc}"), file=sys.stderr)


def print_result(result: CommandResult, *, as_json: bool, stdout: TextIO | None = None) -> None:
    """Print a command's result: its text, or with ``as_json`` its structured form."""
    out = sys.stdout if stdout is None else stdout
    if as_json:
        from modloader._control.protocol import result_as_dict

        write(out, json.dumps(result_as_dict(result), indent=2, default=str) + "\n")
    elif result.output:
        text = escape_controls(result.output)
        write(out, text if text.endswith("\n") else text + "\n")


def run_local(options: Options, before_start: Callable[[], None]) -> int:
    """Start a host; run ``-x`` and stop, or serve it in the foreground (``-c``: with a console).

    The signal handlers are installed before startup (see
    :mod:`modloader._cli.signals`); after the host has stopped, threads that
    modules left running get ``--exit-timeout`` seconds to end. ``before_start``
    is called just before the host starts (see :mod:`modloader._collector`).
    """
    import threading

    from modloader._cli.signals import ProcessSignals
    from modloader._cli.signals import finish
    from modloader._cli.signals import log_reload_failures

    problem = configure_logging(options)
    if problem is not None:
        print(problem, file=sys.stderr)
        return 1
    # Before anything slow: a signal from here on stops what has started, and no more.
    signals = ProcessSignals(None)
    signals.install()
    try:
        if options.execute is None:
            from modloader._cli.remote import socket_path  # the control client: serving only
            from modloader._control.checks import check_socket_path

            try:  # an unsafe folder or a live host on -s: refuse before starting any module
                default = options.socket is None  # shared by the namespace's processes
                check_socket_path(socket_path(options), private=default, workers=default)
            except ModLoaderError as exc:
                print(exc, file=sys.stderr)
                return exc.exit_code
        before = threading.enumerate()
        host = make_host(options)
        # Before any module code runs; after the application's host_factory, which may
        # set up its own log (so may its core_init: see _core_init).
        kept = KeptStreams()
        host.subscribe(log_reload_failures)
        signals.set_target(host)
        # -x --json: what modules write to standard output goes to standard error.
        json_only = StdoutToStderr() if options.json and options.execute is not None else None
        before_start()
        try:
            status = _run_host(host, options, signals, kept, json_only)
        finally:
            if json_only is not None:
                json_only.release()
        kept.restore("the stop")
        return finish(status, options.exit_timeout, before)
    finally:
        signals.restore()


def _run_host(
    host: Host,
    options: Options,
    signals: ProcessSignals,
    kept: KeptStreams,
    json_only: StdoutToStderr | None = None,
) -> int:
    from modloader._cli.signals import Phase
    from modloader._systemd import notify

    try:
        host.start(core_init=_core_init(options, kept))
    except ModLoaderError as exc:
        kept.restore("startup")
        if signals.received is not None and isinstance(exc, StartupError):
            # A stop asked for during startup: what started was unloaded.
            return signals.exit_status if options.execute is not None else 0
        if json_only is not None:
            json_only.release()
        _report_start_error(exc, options.json, options.profile.prog)
        return exc.exit_code
    kept.restore("startup")
    if options.execute is None and not options.console:
        # Serving: after each module's load, unload or reload too, whoever asked for it
        # over the socket, so a host serving for days is not left mute. (-x checks after
        # its command and the stop; the console after each command, as it keeps its own.)
        host.subscribe(lambda event: kept.restore(f"{event.name} ({event.kind.value})"))
    signals.phase = Phase.RUNNING
    if options.execute is None:
        from modloader._cli.serve import Foreground

        if signals.received is not None:  # a signal as startup ended: no socket, no READY=1
            signals.phase = Phase.STOPPING
            notify("STOPPING=1")
            host.stop(graceful=True)
            return 0

        foreground = Foreground(
            host,
            socket_path=options.socket,
            namespace=options.namespace,
            console=options.console,
            signals=signals,
            # A module's command run over the socket: its doing is put back then, not
            # blamed on the next module operation (the console keeps its own).
            after_command=None if options.console else lambda line: kept.restore(f"'{line}'"),
        )
        return foreground.run()
    return _run_command(host, options, signals, kept, json_only)


def _run_command(
    host: Host,
    options: Options,
    signals: ProcessSignals,
    kept: KeptStreams,
    json_only: StdoutToStderr | None,
) -> int:
    """``-x``: run the command on the started host, stop it, print the result."""
    from modloader._cli.signals import Phase
    from modloader._cli.signals import reload_everything

    line = options.execute
    assert line is not None
    signals.reloader = lambda: reload_everything(host, "SIGHUP", host.subscribe)
    if signals.received is not None:  # stopped right after startup: CMD is not run
        signals.phase = Phase.STOPPING
        host.stop(graceful=True)
        return signals.exit_status
    if signals.reload_pending:
        signals.reload_pending = False
        reload_everything(host, "SIGHUP during startup", host.subscribe)
    host.on_stop_request(lambda graceful: None)  # -x hears it after its command (below)
    with _log_after_output() as release:
        signals.on_force(release)  # a second signal ends the process: the log goes out first
        try:
            result = host.execute(line)
            if options.json:
                _ = result.data  # made while the modules still run
        finally:
            kept.restore(f"'{line}'")
            signals.reloader = None
            signals.phase = Phase.STOPPING
            # ``-x "core stop now"`` asks for a stop without unloading; honour it.
            host.stop(graceful=host.wait_for_stop(0) is not False)
            kept.restore("the stop")
        if json_only is not None:
            json_only.release()
        print_result(result, as_json=options.json, stdout=kept.stdout)
        release()
    return signals.exit_status or result.exit_code


def _core_init(options: Options, kept: KeptStreams) -> Callable[[Host], None] | None:
    """The application's ``core_init``; what it sets up (its own streams or log
    handlers) is then what ``kept`` keeps, not module code's doing."""
    app_init = options.profile.core_init
    if app_init is None:
        return None

    def init(host: Host) -> None:
        app_init(host)
        kept.rebase()

    return init


@contextlib.contextmanager
def _log_after_output() -> Iterator[Callable[[], None]]:
    """Hold what the command logs to the terminal until its own output is printed.

    As at the console: "Unloaded res_kv", then the module's "dropping 1 key".
    ``release()`` writes the held lines; they are written anyway if the block fails.
    """
    held: list[tuple[logging.StreamHandler[TextIO], TextIO, io.StringIO]] = []
    for handler in logging.getLogger().handlers:
        if isinstance(handler, TerminalHandler) and handler.stream is sys.stderr:
            buffer = io.StringIO()
            held.append((handler, handler.setStream(buffer) or sys.stderr, buffer))

    def release() -> None:
        for handler, stream, buffer in held:
            if stream.closed:  # by module code, meanwhile
                stream = reopened(stream)
            handler.setStream(stream)
            stream.write(buffer.getvalue())
            stream.flush()
        held.clear()

    try:
        yield release
    finally:
        release()
