"""Running a host in the foreground: control socket on, stop on SIGTERM/SIGINT (SPEC 7).

What ``modloader`` (and an application's command made with ``modloader.main``)
does after startup. Written against :class:`ServedHost`, anything with an
``executor`` and a ``stop(graceful)``; a host that has ``on_stop_request``
(:class:`~modloader.Host`) has its ``core stop gracefully|now`` wired to
:meth:`Foreground.request_stop`. The socket itself is the one
``Host.serve()`` opens (:mod:`modloader._serving`).
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Callable
from typing import Protocol

from modloader._cli.signals import Phase
from modloader._cli.signals import ProcessSignals
from modloader._cli.signals import reload_counts
from modloader._cli.signals import reload_everything
from modloader._cli.signals import reload_summary
from modloader._commands.base import CommandResult
from modloader._commands.base import Executor
from modloader._control.paths import default_socket_path
from modloader._serving import command_wait
from modloader._serving import open_control_socket
from modloader._systemd import Watchdog
from modloader._systemd import notify
from modloader._systemd import watchdog_interval
from modloader.errors import ControlError

__all__ = ["Foreground", "ServedHost", "serve"]

logger = logging.getLogger("modloader.serve")


class ServedHost(Protocol):
    """What :class:`Foreground` needs from a host that has started."""

    @property
    def executor(self) -> Executor:
        """Runs the commands that arrive on the socket and at the console."""
        ...

    def stop(self, graceful: bool) -> object:
        """Stop: ``graceful`` unloads every module in reverse start order; else just end."""
        ...


class Foreground:
    """Serve ``host`` until a signal, the console's end, or :meth:`request_stop`.

    ::

        foreground = Foreground(host, namespace="myapp.modules", console=True)
        sys.exit(foreground.run())  # until SIGTERM/SIGINT, core stop, or the console's end

    ``core stop gracefully|now`` reaches :meth:`request_stop` through the host's
    ``on_stop_request`` when it has one. Signals are those of
    :class:`~modloader._cli.signals.ProcessSignals`: SIGTERM and SIGINT stop
    gracefully (a second one stops now), SIGHUP reloads every module. Under
    systemd (``NOTIFY_SOCKET``) the service manager is told ``READY=1`` once
    the socket is open, ``RELOADING=1``/``READY=1`` around a reload of every
    module, and ``STOPPING=1`` when the stop begins.

    :param host: a host that has started.
    :param socket_path: the control socket (``None``: :func:`default_socket_path` of
        ``namespace``, in the owner-only default folder).
    :param namespace: the host's namespace, for the default socket path.
    :param console: run an interactive console in the foreground; leaving it
        (Ctrl-D, ``exit``, ``quit``) stops the host gracefully.
    :param history_path: the console's history file (see :class:`~modloader._cli.console.Console`).
    :param signals: the process's signal handling, installed before startup by the
        ``modloader`` command; ``None``: :meth:`run` installs its own and restores
        the previous handlers when it returns.
    :param after_command: called with each line run over the socket once it has run
        (the ``modloader`` command puts back the streams module code replaced).
    """

    def __init__(
        self,
        host: ServedHost,
        *,
        socket_path: str | None = None,
        namespace: str = "modloader.modules",
        console: bool = False,
        history_path: str | None = None,
        signals: ProcessSignals | None = None,
        after_command: Callable[[str], object] | None = None,
    ) -> None:
        self.host = host
        self._after_command = after_command
        self.private_folder = socket_path is None
        self._namespace = namespace
        self.socket_path = default_socket_path(namespace) if socket_path is None else socket_path
        self.console = console
        self.history_path = history_path
        self._stopping = threading.Event()
        self._graceful = True
        self._console_stop: Callable[[], None] | None = None
        self._signals = signals
        on_stop_request = getattr(host, "on_stop_request", None)
        if callable(on_stop_request):
            on_stop_request(self.request_stop)

    def request_stop(self, graceful: bool = True) -> None:
        """Ask :meth:`run` to stop the host and return. Thread-safe; safe in a signal handler."""
        if not self._stopping.is_set():
            self._graceful = graceful
        self._stopping.set()
        stop_console = self._console_stop
        if stop_console is not None:
            stop_console()

    def run(self) -> int:
        """Serve until asked to stop, then close the socket and stop the host.

        :returns: the exit status: 0, or 1 when the socket could not be opened
            (the reason is printed; the host is stopped gracefully then too).
        """
        signals = self._signals
        if signals is not None:
            return self._run(signals)
        # Run on its own (not by the modloader command): the signals are ours until we return.
        signals = ProcessSignals(self)
        signals.phase = Phase.RUNNING  # the host has started
        signals.install()
        try:
            return self._run(signals)
        finally:
            signals.restore()

    def _run(self, signals: ProcessSignals) -> int:
        subscribe = getattr(self.host, "subscribe", None)
        signals.reloader = lambda: reload_everything(self.host.executor, "SIGHUP", subscribe)
        executor = self.host.executor
        if self._after_command is not None:
            executor = _AfterEach(executor, self._after_command)
        if os.environ.get("NOTIFY_SOCKET"):
            executor = _ReloadNotifier(executor)
        try:
            control = open_control_socket(
                executor,
                None if self.private_folder else self.socket_path,
                self._namespace,
                command_wait(self.host),
            )
        except ControlError as exc:
            print(exc, file=sys.stderr)
            signals.reloader = None
            signals.phase = Phase.STOPPING
            self.host.stop(graceful=True)
            return exc.exit_code
        signals.on_force(lambda: control.close(0.5))  # a forced stop waits for no command
        notify("READY=1", f"STATUS={self._status(control.path)}")
        watchdog = None
        interval = watchdog_interval()
        if interval is not None:  # WatchdogSec=: alive while serving, and while stopping
            watchdog = Watchdog(
                interval,
                lambda: self._stopping.is_set() or control.accepting,
                "the control socket is not served",
            )
            watchdog.start()
        if signals.received is not None:  # a signal between startup's end and now
            self.request_stop(graceful=True)
        if signals.reload_pending and not self._stopping.is_set():  # a SIGHUP during startup
            signals.reload_pending = False
            reload_everything(self.host.executor, "SIGHUP during startup", subscribe)
        try:
            if self.console:
                self._run_console(executor)
            else:
                while not self._stopping.wait(1.0):
                    pass
        finally:
            self._stopping.set()  # the console's end too: the watchdog goes on while stopping
            signals.reloader = None
            signals.phase = Phase.STOPPING
            notify("STOPPING=1")
            # Close the door first, so that no command races the shutdown.
            control.close()
            self.host.stop(graceful=self._graceful)
            if watchdog is not None:
                watchdog.stop()
        return 0

    def _status(self, path: str) -> str:
        """systemd's STATUS= line: the startup summary and where the socket is."""
        report = getattr(self.host, "report", None)
        running = getattr(report, "running", None)
        declined = getattr(report, "declined", None)
        summary = "Running"
        if isinstance(running, int) and isinstance(declined, int):
            summary = f"{running} modules running, {declined} not running"
        return f"{summary}; control socket {path}"

    def _run_console(self, executor: Executor) -> None:
        from modloader._cli.console import Console

        console = Console(executor, history_path=self.history_path, logger=logging.getLogger())
        self._console_stop = console.stop
        if self._stopping.is_set():
            return
        # Module code run by a command over the socket: its streams are put back then too,
        # not at the console's next command (which the warning would then blame).
        subscribe = getattr(self.host, "subscribe", None)
        unsubscribe = (
            subscribe(
                lambda event: console.restore_streams(
                    f"{event.name} ({event.kind.value})", unless_busy=True
                )
            )
            if subscribe is not None
            else None
        )
        try:
            console.run()
        finally:
            self._console_stop = None
            if unsubscribe is not None:
                unsubscribe()


class _AfterEach:
    """The host's executor, calling ``after(line)`` once each command has run."""

    def __init__(self, executor: Executor, after: Callable[[str], object]) -> None:
        self._executor = executor
        self._after = after

    def execute(self, line: str) -> CommandResult:
        try:
            return self._executor.execute(line)
        finally:
            self._after(line)

    def complete(self, line: str) -> list[str]:
        return self._executor.complete(line)


class _ReloadNotifier:
    """The host's executor, telling systemd about a reload of every module.

    ``module reload`` (or ``core reload``) with no module name, from the socket
    or the console, is surrounded by ``RELOADING=1`` and ``READY=1``, as SIGHUP is.
    """

    def __init__(self, executor: Executor) -> None:
        self._executor = executor

    def execute(self, line: str) -> CommandResult:
        words = [word.lower() for word in line.split()]
        if words not in (["module", "reload"], ["core", "reload"]):
            return self._executor.execute(line)
        notify("RELOADING=1", "STATUS=Reloading every module")
        outcome = "a module reported a reload failure"
        try:
            result = self._executor.execute(line)
            counts = reload_counts(result)
            if counts is not None:  # as SIGHUP says it
                outcome = reload_summary(*counts)
            elif result.ok:
                outcome = "every module reloaded"
        finally:
            notify("READY=1", f"STATUS=Running; last reload: {outcome}")
        return result

    def complete(self, line: str) -> list[str]:
        return self._executor.complete(line)


def serve(
    host: ServedHost,
    *,
    socket_path: str | None = None,
    namespace: str = "modloader.modules",
    console: bool = False,
) -> int:
    """Serve ``host`` in the foreground (see :class:`Foreground`); returns the exit status."""
    return Foreground(host, socket_path=socket_path, namespace=namespace, console=console).run()
