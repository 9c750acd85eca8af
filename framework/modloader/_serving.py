"""A running host's control socket, served in background threads (``Host.serve``).

The same server and the same security rules as the ``modloader`` command
(SPEC 7): the socket is created 0600, in the owner-only default folder for the
namespace unless a path is given; a folder that others could write to is
refused, a live socket on the path is refused, a stale one is replaced, and a
client whose user is neither the host's nor root is turned away.

``core stop gracefully|now`` arriving on the socket calls the host's
``request_stop``: whoever waits in ``host.wait_for_stop()`` (or listens with
``host.on_stop_request``) is woken; the command never stops the host under
its own feet.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING
from typing import Self

from modloader._control.paths import default_socket_path
from modloader._control.unix import ControlServer
from modloader._control.unix import ServerState
from modloader._registry.calls import DEFAULT_TIMEOUT
from modloader.errors import HostStateError

if TYPE_CHECKING:
    from modloader._commands.base import Executor
    from modloader._host import Host

__all__ = ["COMMAND_GRACE", "ControlSocket", "command_wait", "open_control_socket", "serve_host"]


class ControlSocket:
    """A host's control socket, open until :meth:`close` (or the end of a ``with`` block).

    What :meth:`Host.serve <modloader.Host.serve>` returns::

        with host.serve() as control:  # modloader -n NAMESPACE -rx "module show"
            graceful = host.wait_for_stop()  # until core stop gracefully|now
        host.stop(graceful=graceful is not False)

    Operators reach it with ``modloader -n NAMESPACE -r`` (or ``-rx CMD``), or
    ``-s PATH`` when it was opened on a path of your choice.
    """

    __slots__ = ("_server", "_wait")

    def __init__(self, server: ControlServer, wait: Callable[[], float] | None = None) -> None:
        self._server = server
        #: How long :meth:`close` lets a command in progress finish (the host's time limit).
        self._wait = wait

    @property
    def path(self) -> str:
        """The socket's path."""
        return self._server.path

    @property
    def closed(self) -> bool:
        """``True`` once :meth:`close` has run."""
        return self._server.state is ServerState.CLOSED

    @property
    def accepting(self) -> bool:
        """``True`` while clients are accepted: open, and its accepting thread alive (a
        health check for a supervisor)."""
        return self._server.accepting

    def close(self, timeout: float | None = None) -> None:
        """Stop accepting, end the open connections and remove the socket. Idempotent.

        A command still running (``core stop`` itself, a ``module load`` whose
        ``load()`` takes its time) finishes, and its reply goes out first: it is
        given ``timeout`` seconds, by default the host's ``module_timeout`` and
        5 more (a module's call is given up at its limit).
        """
        if timeout is None:
            timeout = self._wait() if self._wait is not None else COMMAND_GRACE
        self._server.close(timeout)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<ControlSocket {self.path!r} {'closed' if self.closed else 'open'}>"


#: Seconds a command in progress is given at a close, beyond the host's time limit.
COMMAND_GRACE = 5.0


def command_wait(host: object) -> Callable[[], float]:
    """How long a close lets a command of ``host`` finish: its ``module_timeout`` (as it is
    then: it may be changed) and :data:`COMMAND_GRACE` more (no limit, or a host without
    one: the default's)."""

    def wait() -> float:
        limit = getattr(host, "module_timeout", None)
        seconds = limit if isinstance(limit, int | float) else DEFAULT_TIMEOUT
        return float(seconds) + COMMAND_GRACE

    return wait


def open_control_socket(
    executor: Executor,
    path: str | os.PathLike[str] | None,
    namespace: str,
    wait: Callable[[], float] | None = None,
) -> ControlSocket:
    """Serve ``executor`` on ``path`` (``None``: the namespace's default socket).

    With ``path=None``, a live host on the namespace's socket is no error:
    this process serves on ``<namespace>@<pid>.sock`` beside it (docs/workers.md).

    :raises ~modloader.errors.SocketInUseError: a live host already listens there.
    :raises ~modloader.errors.ControlError: the folder is unsafe, the path too long
        or not a socket.
    """
    private = path is None
    where = default_socket_path(namespace) if path is None else os.fspath(path)
    # The default socket is the namespace's, shared by its processes (pre-fork
    # workers): a second one serves beside the first. A path of the caller's
    # choice stays this host's alone, and a live one is refused.
    server = ControlServer(executor, where, private_folder=private, workers=private)
    server.start()
    return ControlSocket(server, wait)


def serve_host(host: Host, path: str | os.PathLike[str] | None = None) -> ControlSocket:
    """What :meth:`Host.serve` does: check the host is up, then open its socket."""
    from modloader._registry.states import HostState

    if path is not None:
        given: object = path  # what the caller passed, whatever its annotation says
        text = os.fspath(given) if isinstance(given, (str, os.PathLike)) else None
        if not isinstance(text, str):
            raise TypeError(
                f"serve(path=...) must be a str or os.PathLike, not {type(path).__name__}"
            )
        if not text or "\0" in text:
            raise ValueError(
                f"serve(path=...) must be a socket path (None: the namespace's), not {path!r}"
            )
    if host.state is not HostState.RUNNING and host.state is not HostState.STARTING:
        raise HostStateError(f"cannot serve a host that is {host.state.value}; start it first")
    return open_control_socket(host.executor, path, host.namespace, command_wait(host))
