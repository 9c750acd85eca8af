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
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import Protocol

from modloader._commands.base import Executor
from modloader._control.paths import default_socket_path
from modloader._serving import open_control_socket
from modloader.errors import ControlError

__all__ = ["Foreground", "ServedHost", "serve"]

logger = logging.getLogger("modloader.serve")

_SignalHandler = Callable[[int, FrameType | None], object] | int | signal.Handlers | None


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
    ``on_stop_request`` when it has one.

    :param host: a host that has started.
    :param socket_path: the control socket (``None``: :func:`default_socket_path` of
        ``namespace``, in the owner-only default folder).
    :param namespace: the host's namespace, for the default socket path.
    :param console: run an interactive console in the foreground; leaving it
        (Ctrl-D, ``exit``, ``quit``) stops the host gracefully.
    :param history_path: the console's history file (see :class:`~modloader._cli.console.Console`).
    """

    def __init__(
        self,
        host: ServedHost,
        *,
        socket_path: str | None = None,
        namespace: str = "modloader.modules",
        console: bool = False,
        history_path: str | None = None,
    ) -> None:
        self.host = host
        self.private_folder = socket_path is None
        self._namespace = namespace
        self.socket_path = default_socket_path(namespace) if socket_path is None else socket_path
        self.console = console
        self.history_path = history_path
        self._stopping = threading.Event()
        self._graceful = True
        self._console_stop: Callable[[], None] | None = None
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

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        logger.info("received %s: stopping gracefully", signal.Signals(signum).name)
        self.request_stop(graceful=True)

    def run(self) -> int:
        """Serve until asked to stop, then close the socket and stop the host.

        :returns: the exit status: 0, or 1 when the socket could not be opened
            (the reason is printed; the host is stopped gracefully then too).
        """
        try:
            control = open_control_socket(
                self.host.executor,
                None if self.private_folder else self.socket_path,
                self._namespace,
            )
        except ControlError as exc:
            print(exc, file=sys.stderr)
            self.host.stop(graceful=True)
            return exc.exit_code
        previous = self._install_signals()
        try:
            if self.console:
                self._run_console()
            else:
                while not self._stopping.wait(1.0):
                    pass
        finally:
            self._restore_signals(previous)
            # Close the door first, so that no command races the shutdown.
            control.close()
            self.host.stop(graceful=self._graceful)
        return 0

    def _run_console(self) -> None:
        from modloader._cli.console import Console

        console = Console(
            self.host.executor, history_path=self.history_path, logger=logging.getLogger()
        )
        self._console_stop = console.stop
        if self._stopping.is_set():
            return
        try:
            console.run()
        finally:
            self._console_stop = None

    def _install_signals(self) -> dict[int, _SignalHandler]:
        if threading.current_thread() is not threading.main_thread():
            return {}  # signals reach only the main thread; the embedder handles them
        previous: dict[int, _SignalHandler] = {}
        for signum in (signal.SIGTERM, signal.SIGINT):
            previous[signum] = signal.signal(signum, self._on_signal)
        return previous

    @staticmethod
    def _restore_signals(previous: dict[int, _SignalHandler]) -> None:
        for signum, handler in previous.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)


def serve(
    host: ServedHost,
    *,
    socket_path: str | None = None,
    namespace: str = "modloader.modules",
    console: bool = False,
) -> int:
    """Serve ``host`` in the foreground (see :class:`Foreground`); returns the exit status."""
    return Foreground(host, socket_path=socket_path, namespace=namespace, console=console).run()
