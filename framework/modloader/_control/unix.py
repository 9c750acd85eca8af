"""The control socket's server: a Unix socket that feeds an executor (SPEC 7).

Threads, not an event loop: one thread accepts (woken by a self-pipe when the
server closes), and each connection gets a thread of its own for as long as it
stays open. The executor is blocking and a command may take seconds (``module
load`` imports code), so each request needs a thread of its own anyway; a
thread per connection keeps a slow command from delaying every other client
without a second worker pool, and it lets a console stay connected, idle, for
hours at the cost of one parked thread. ``max_clients`` bounds the threads.
Every wait has a timeout except a console waiting for its next line: a line
that is started must be finished within ``request_timeout``, and a reply that
the client does not read within ``send_timeout`` closes that connection.
"""

from __future__ import annotations

import contextlib
import enum
import errno
import logging
import os
import selectors
import socket
import threading
import time
from types import TracebackType
from typing import Self

from modloader._commands.base import Executor
from modloader._control.checks import PeerCredentials
from modloader._control.checks import check_peer
from modloader._control.checks import check_replaceable
from modloader._control.checks import check_socket_path
from modloader._control.checks import is_listening
from modloader._control.checks import is_stale
from modloader._control.checks import peer_credentials
from modloader._control.checks import socket_place
from modloader._control.checks import unlink_if
from modloader._control.connection import Connection
from modloader._control.connection import refuse
from modloader._control.connection import stopping_error
from modloader._control.logfeed import LogFeed
from modloader._control.paths import prepare_socket_folder
from modloader._control.protocol import Request
from modloader._control.protocol import Response
from modloader._control.protocol import encode
from modloader._control.protocol import error_response
from modloader._control.protocol import negotiate
from modloader._control.protocol import response_from_result
from modloader._control.workers import folder_lock
from modloader._control.workers import remove_stale_workers
from modloader._control.workers import worker_socket_path
from modloader._forking import track_server
from modloader._version import __version__
from modloader.errors import ControlError
from modloader.errors import ModLoaderError
from modloader.errors import ProtocolError
from modloader.errors import SocketInUseError

__all__ = [
    "ControlServer",
    "PeerCredentials",
    "ServerState",
    "check_peer",
    "check_socket_path",
    "is_listening",
    "peer_credentials",
]

logger = logging.getLogger("modloader.control")

#: Seconds accepting pauses after it failed for want of resources (doubled each
#: time it fails again, up to :data:`ACCEPT_PAUSE_MAX`).
ACCEPT_PAUSE = 0.05
ACCEPT_PAUSE_MAX = 1.0
#: Seconds between two checks that the socket's path is still there (see ``_bound_again``).
CHECK_SOCKET_EVERY = 5.0
#: What accept() raises when the one client it took has already gone: no pause.
_ONE_CLIENT_GONE = frozenset({errno.ECONNABORTED, errno.EPROTO, errno.EINTR, errno.EAGAIN})


class ServerState(enum.Enum):
    """Where a :class:`ControlServer` is in its life."""

    #: Built; nothing bound yet.
    NEW = "new"
    #: Bound and accepting connections.
    LISTENING = "listening"
    #: Refusing new connections and ending the open ones.
    CLOSING = "closing"
    #: Closed, socket removed. A closed server cannot be started again.
    CLOSED = "closed"


class ControlServer:
    """A Unix-socket server that runs command lines on ``executor``.

    ::

        with ControlServer(host.executor, default_socket_path("myapp.modules")) as server:
            ...  # serving in background threads until the block ends

    :param executor: what runs the commands; called from several threads at once.
    :param path: the socket's path.
    :param private_folder: the socket's folder is the default per-user one and is
        held to the strict check (see :func:`prepare_socket_folder`).
    :param max_clients: connections served at once; more are refused with an error.
    :param request_timeout: seconds a started request line may take to arrive.
    :param send_timeout: seconds a client may take to read a reply.
    :param server_name: what ``hello`` answers.
    :param workers: ``path`` is the namespace's default socket, shared by the
        processes of one application: when a live host already holds it, this
        one takes ``<namespace>@<pid>.sock`` beside it (see
        :mod:`modloader._control.workers`), and :attr:`path` says which.
    :param console_queue: log lines a subscribed console may have waiting; more are
        dropped (and counted) rather than slow the host.
    """

    def __init__(
        self,
        executor: Executor,
        path: str | os.PathLike[str],
        *,
        private_folder: bool = False,
        max_clients: int = 64,
        request_timeout: float = 10.0,
        send_timeout: float = 10.0,
        server_name: str = f"modloader {__version__}",
        workers: bool = False,
        console_queue: int = 2000,
    ) -> None:
        self.executor = executor
        self.path = os.fspath(path)
        #: The path asked for; :attr:`path` is a worker socket's when another host held it.
        self.requested_path = self.path
        self.workers = workers
        self.private_folder = private_folder
        self.max_clients = max_clients
        self.request_timeout = request_timeout
        self.send_timeout = send_timeout
        self.server_name = server_name
        self.console_queue = console_queue
        #: The root logger's handler that feeds the subscribed consoles.
        self.log_feed = LogFeed()
        self.host_uid = os.geteuid()
        self._state = ServerState.NEW
        self._lock = threading.Lock()
        self._connections: dict[Connection, threading.Thread] = {}
        self._listener: socket.socket | None = None
        self._identity: tuple[int, int] | None = None
        self._wake_r, self._wake_w = -1, -1
        self._acceptor: threading.Thread | None = None
        self._rebind_failed = False

    @property
    def state(self) -> ServerState:
        """The current :class:`ServerState`."""
        return self._state

    @property
    def listening(self) -> bool:
        """``True`` while requests are taken (not yet closing)."""
        return self._state is ServerState.LISTENING

    @property
    def accepting(self) -> bool:
        """Listening, and the thread that accepts clients is alive."""
        acceptor = self._acceptor
        return self._state is ServerState.LISTENING and acceptor is not None and acceptor.is_alive()

    @property
    def client_count(self) -> int:
        """How many connections are being served now."""
        with self._lock:
            return len(self._connections)

    def __repr__(self) -> str:
        return f"<ControlServer {self.path!r} {self._state.value}>"

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- life -----------------------------------------------------------------

    def start(self) -> None:
        """Bind the socket (0600) and serve in background threads.

        :raises SocketInUseError: a live host already listens on the path.
        :raises ControlError: the folder is unsafe, or the path is not a socket.
        """
        with self._lock:
            if self._state is not ServerState.NEW:
                raise ControlError(f"control server {self.path} is {self._state.value}")
            prepare_socket_folder(self.path, private=self.private_folder)
            self._listener = self._bind_worker() if self.workers else self._bind()
            self._wake_r, self._wake_w = os.pipe()
            self._state = ServerState.LISTENING
            self._acceptor = threading.Thread(
                target=self._accept_loop, name="modloader-control", daemon=True
            )
            self._acceptor.start()
        track_server(self)  # a forked child reopens it as its own (modloader._forking)
        logger.info("control socket listening on %s", self.path)

    def close(self, timeout: float = 2.0) -> None:
        """Stop accepting, end the open connections, and remove the socket. Idempotent.

        A connection in the middle of a command is given up to ``timeout`` seconds
        to finish it; after that its thread is left to end on its own. Called while
        another call waits so, it removes the socket at once and returns.
        """
        with self._lock:
            closing = self._state is ServerState.CLOSING
            if self._state is ServerState.CLOSED:
                return
            if self._state is ServerState.NEW:
                self._state = ServerState.CLOSED
                return
            if not closing:
                self._state = ServerState.CLOSING
                connections = dict(self._connections)
        if closing:
            # Another close waits for a command (a stop's); this one does not wait: the
            # process may end next (a second signal), so the socket's file goes now (the
            # listener itself is the other close's to close).
            unlink_if(self.path, self._identity)
            return
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"x")
        if self._acceptor is not None:
            self._acceptor.join(timeout)
        self._end_connections(connections, time.monotonic() + timeout)
        self.log_feed.close_feed()
        self._remove_socket()
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)
        with self._lock:
            self._state = ServerState.CLOSED
        logger.info("control socket %s closed", self.path)

    def _end_connections(
        self, connections: dict[Connection, threading.Thread], deadline: float
    ) -> None:
        """Let each connection finish its command until ``deadline``, then end it."""
        for conn in connections:
            # A command still running (``core stop`` itself, say) finishes and its
            # reply goes out first; then the shutdown wakes a thread blocked in recv().
            # Only the reading side: a request already sent is still read, and
            # answered "the host is stopping" rather than by silence.
            conn.idle.wait(max(0.0, deadline - time.monotonic()))
            with contextlib.suppress(OSError):
                conn.sock.shutdown(socket.SHUT_RD)
        for conn, thread in connections.items():
            if thread.ident is None:  # being started by the acceptor as the server closed
                continue
            thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                with contextlib.suppress(OSError):
                    conn.sock.shutdown(socket.SHUT_RDWR)
                thread.join(0.5)

    def _bind(self) -> socket.socket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            try:
                sock.bind(self.path)
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE:
                    raise ControlError(
                        f"cannot bind the control socket {self.path}: {exc}"
                    ) from exc
                self._replace_stale()
                sock.bind(self.path)
            os.chmod(self.path, 0o600)
            info = os.stat(self.path)
            self._identity = (info.st_dev, info.st_ino)
            sock.listen(128)
        except BaseException:
            sock.close()
            raise
        return sock

    def _bind_worker(self) -> socket.socket:
        """Take the namespace's socket, or this process's own beside it when it is held."""
        with folder_lock(self.requested_path):
            for stale in remove_stale_workers(self.requested_path):
                logger.info("removed the stale control socket %s", stale)
            self.path = self.requested_path
            try:
                return self._bind()
            except SocketInUseError:
                self.path = worker_socket_path(self.requested_path, os.getpid())
                prepare_socket_folder(self.path, private=self.private_folder)  # its length
                logger.info(
                    "%s is another process's; this one (pid %d) serves beside it",
                    self.requested_path,
                    os.getpid(),
                )
                return self._bind()

    def _replace_stale(self) -> None:
        """Remove the socket a dead host left behind; refuse if a host still answers."""
        if not os.path.lexists(self.path):
            return
        check_replaceable(self.path)
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        probe.settimeout(1.0)
        try:
            probe.connect(self.path)
        except (ConnectionRefusedError, FileNotFoundError):
            logger.info("removing the stale control socket %s", self.path)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)
            return
        except OSError as exc:
            raise ControlError(f"cannot check the existing socket {self.path}: {exc}") from exc
        finally:
            probe.close()
        raise SocketInUseError(self.path)

    def _remove_socket(self) -> None:
        if self._listener is not None:
            self._listener.close()
        unlink_if(self.path, self._identity)

    # -- serving --------------------------------------------------------------

    def _accept_loop(self) -> None:
        listener = self._listener
        assert listener is not None
        pause = 0.0
        with selectors.DefaultSelector() as selector:
            selector.register(listener, selectors.EVENT_READ)
            selector.register(self._wake_r, selectors.EVENT_READ)
            checked = time.monotonic()
            while self._state is ServerState.LISTENING:
                ready = selector.select(CHECK_SOCKET_EVERY)
                if time.monotonic() - checked >= CHECK_SOCKET_EVERY:
                    checked = time.monotonic()
                    again = self._bound_again()
                    if again is not None:
                        selector.unregister(listener)
                        listener.close()
                        listener = again
                        selector.register(listener, selectors.EVENT_READ)
                        continue
                for key, _ in ready:
                    if key.fileobj is listener and self._state is ServerState.LISTENING:
                        try:
                            pause = self._accept(listener, pause)
                        except Exception as exc:  # MemoryError, say: never a deaf socket
                            problem = f"taking a client failed ({type(exc).__name__}: {exc})"
                            pause = _pause_after(pause, problem)
                if pause and self._state is ServerState.LISTENING:
                    # The listener stays readable while its clients wait: without it, only
                    # close() (the wake pipe) ends the pause early.
                    selector.unregister(listener)
                    selector.select(pause)
                    selector.register(listener, selectors.EVENT_READ)
        self._turn_away(listener)

    def _bound_again(self) -> socket.socket | None:
        """A new listener when this host can no longer be reached where it listens, else
        ``None`` (checked every :data:`CHECK_SOCKET_EVERY` seconds):

        * the socket's path was removed (a cleaner of the temporary folder, a careless
          ``rm``): it is made again. Without it, every client was told ``Unable to
          connect`` for as long as the host ran;
        * a worker of the namespace (``workers``) whose socket was replaced by another
          host's serves beside it (``<namespace>@<pid>.sock``), as one that found it
          held at its start; and one serving beside the namespace's socket takes that
          socket's place when its process has gone (the first worker retired), so that
          ``-r`` and ``RemoteHost(namespace)`` still reach the application.

        Anything else at a socket path given by name (``-s``: a file, another host's
        socket) is left as it is, and said once.
        """
        place = socket_place(self.path, self._identity)
        if not self._wants_listener(place):
            return None
        before, identity = self.path, self._identity
        try:
            prepare_socket_folder(self.requested_path, private=self.private_folder)
            with self._lock:
                if self._state is not ServerState.LISTENING:
                    return None
                listener = self._bind_worker() if self.workers else self._bind()
                self._listener = listener
        except (ControlError, OSError) as exc:
            self._say_once(f"control socket {before} cannot be served, nor made again: {exc}")
            return None
        self._rebind_failed = False
        if place == "ours":  # moved to the namespace's socket: the one beside it goes
            unlink_if(before, identity)
            logger.info("%s had no host left; this one (pid %d) serves it", self.path, os.getpid())
        elif self.path == before:
            logger.warning("control socket %s was removed; it is there again", self.path)
        else:
            logger.warning("control socket %s is another's; this host serves %s", before, self.path)
        return listener

    def _wants_listener(self, place: str | None) -> bool:
        """Whether :meth:`_bound_again` should bind anew, this host standing at ``place``."""
        if place is None:  # cannot be told
            return False
        if place == "ours":  # beside the namespace's socket, and nobody serves that any more?
            if not self.workers or self.path == self.requested_path:
                return False
            namespace = self.requested_path
            return socket_place(namespace, None) == "gone" or is_stale(namespace)
        if place == "taken" and not self.workers:
            self._say_once(
                f"control socket {self.path} was replaced by another's (a file, or another "
                "host's socket): this host cannot be reached there until it is removed"
            )
            return False
        return True

    def _say_once(self, message: str) -> None:
        """Warn of a socket this host cannot serve: once, until it is served again."""
        if not self._rebind_failed:
            logger.warning("%s", message)
        self._rebind_failed = True

    def _turn_away(self, listener: socket.socket) -> None:
        """Tell the clients still waiting to be accepted that the host is stopping."""
        listener.setblocking(False)
        reply = encode(error_response(0, stopping_error()))
        for _ in range(self.max_clients):
            try:
                sock, _ = listener.accept()
            except OSError:
                return
            with contextlib.suppress(OSError):
                sock.settimeout(0.2)
                sock.sendall(reply)
                sock.shutdown(socket.SHUT_WR)
            sock.close()

    def _accept(self, listener: socket.socket, pause: float) -> float:
        """Accept one client; :returns: how long to pause accepting (``0``: not at all).

        Out of descriptors (``EMFILE``), memory or threads, accepting fails again at
        once while that lasts (retried straight away: a busy loop, a warning each
        time). It pauses instead, up to :data:`ACCEPT_PAUSE_MAX`, said once; the
        clients connected are served, new ones wait in the listen queue.
        """
        try:
            sock, _ = listener.accept()
        except OSError as exc:
            if exc.errno in _ONE_CLIENT_GONE:
                return pause
            return _pause_after(pause, f"cannot accept connections: {exc.strerror or exc}")
        try:
            conn = Connection(self, sock)
        except BaseException:
            sock.close()
            raise
        with self._lock:
            full = len(self._connections) >= self.max_clients
            if not full:
                thread = threading.Thread(
                    target=conn.run, name="modloader-control-conn", daemon=True
                )
                self._connections[conn] = thread
        if full:
            logger.warning("control socket: more than %d clients; refusing one", self.max_clients)
            refuse(sock, f"too many clients (at most {self.max_clients}); try again")
            return 0.0
        try:
            thread.start()
        except RuntimeError as exc:  # "can't start new thread": memory, a limit on threads
            with self._lock:
                self._connections.pop(conn, None)
            refuse(sock, f"the host cannot serve another connection now ({exc}); try again")
            return _pause_after(pause, f"cannot start a thread for a connection: {exc}")
        if pause:
            logger.info("control socket: accepting connections again")
        return 0.0

    def forget(self, conn: Connection) -> None:
        with self._lock:
            self._connections.pop(conn, None)

    def answer(self, request: Request) -> Response:
        """Carry out one request; every failure becomes an error reply."""
        try:
            if request.op == "execute":
                result = self.executor.execute(request.line)
                return response_from_result(request.id, result, request.structured)
            if request.op == "complete":
                return Response(
                    id=request.id, ok=True, completions=tuple(self.executor.complete(request.line))
                )
            if request.op == "hello":
                version = negotiate(request.versions or (request.v,))
                if version is None:
                    offered = ", ".join(str(v) for v in request.versions)
                    raise ProtocolError(f"no common protocol version (client speaks {offered})")
                if request.client:
                    logger.debug("control socket: hello from %s", request.client)
                return Response(
                    id=request.id,
                    ok=True,
                    version=version,
                    server=self.server_name,
                    pid=os.getpid(),
                )
            return Response(id=request.id, ok=True)  # ping
        except ModLoaderError as exc:
            return error_response(request.id, exc)
        except Exception as exc:  # an executor must not take the connection down
            logger.exception("control socket: %s %r failed", request.op, request.line)
            return error_response(
                request.id,
                ModLoaderError(
                    f"internal error while running '{request.line}': {type(exc).__name__}: {exc}"
                ),
            )


def _pause_after(pause: float, problem: str) -> float:
    """The next pause of accepting after ``problem``; said when a pause begins."""
    if not pause:
        logger.warning(
            "control socket: %s; new clients wait, and accepting is tried again every "
            "%g s at most until it works",
            problem,
            ACCEPT_PAUSE_MAX,
        )
    return min(max(pause * 2, ACCEPT_PAUSE), ACCEPT_PAUSE_MAX)
