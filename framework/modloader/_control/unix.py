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
import stat
import threading
import time
from types import TracebackType
from typing import Final
from typing import Self

from modloader._commands.base import Executor
from modloader._control.checks import PeerCredentials
from modloader._control.checks import check_peer
from modloader._control.checks import check_socket_path
from modloader._control.checks import is_listening
from modloader._control.checks import peer_credentials
from modloader._control.logfeed import LogFeed
from modloader._control.logfeed import Subscriber
from modloader._control.logfeed import console_reply
from modloader._control.logfeed import resubscribe
from modloader._control.logfeed import subscribe
from modloader._control.paths import prepare_socket_folder
from modloader._control.protocol import MAX_REQUEST_BYTES
from modloader._control.protocol import Request
from modloader._control.protocol import Response
from modloader._control.protocol import decode_request
from modloader._control.protocol import encode
from modloader._control.protocol import error_response
from modloader._control.protocol import negotiate
from modloader._control.protocol import request_id
from modloader._control.protocol import response_from_result
from modloader._control.workers import folder_lock
from modloader._control.workers import remove_stale_workers
from modloader._control.workers import worker_socket_path
from modloader._forking import track_server
from modloader._version import __version__
from modloader.errors import AccessDeniedError
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

_RECV_SIZE: Final = 65536
#: How long a closing connection keeps reading what the client still sends, so that
#: the error reply is not lost to a reset.
_DRAIN_SECONDS: Final = 0.2


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


def _late(limit: float) -> ProtocolError:
    return ProtocolError(
        f"request not completed within {limit:g} s (no newline); closing the connection"
    )


def _stopping() -> ControlError:
    return ControlError("the host is stopping; the command was not run")


class _Connection:
    """One client, served by its own thread."""

    def __init__(self, server: ControlServer, sock: socket.socket) -> None:
        self.server = server
        self.sock = sock
        self.buffer = bytearray()
        #: Clear while a request is being answered: close() lets its reply go out first.
        self.idle = threading.Event()
        self.idle.set()
        #: Set once the client subscribed to the log (a remote console).
        self.subscriber: Subscriber | None = None

    def run(self) -> None:
        try:
            self._serve()
        except OSError as exc:
            # The client went away, or the server is closing; nothing to answer.
            logger.debug("control connection ended: %s", exc)
        except Exception:  # the host must outlive any one connection
            logger.exception("control connection failed")
        finally:
            self.server._forget(self)
            subscriber = self.subscriber
            if subscriber is not None:
                self.server.log_feed.remove(subscriber)
                subscriber.close()
            with contextlib.suppress(OSError):
                self.sock.close()

    def _serve(self) -> None:
        server = self.server
        try:
            check_peer(peer_credentials(self.sock), server.host_uid)
        except AccessDeniedError as exc:
            logger.warning("control socket: %s", exc)
            self._fail(error_response(0, exc))
            return
        while True:
            try:
                line = self._read_line()
            except ProtocolError as exc:
                logger.warning("control socket: %s; closing that connection", exc)
                self._fail(error_response(0, exc))
                return
            if line is None:
                if server.state is not ServerState.LISTENING:
                    self._fail(error_response(0, _stopping()))
                return
            try:
                request = decode_request(line)
            except ProtocolError as exc:
                logger.warning("control socket: %s; closing that connection", exc)
                self._fail(error_response(request_id(line), exc))
                return
            if server.state is not ServerState.LISTENING:
                self._fail(error_response(request.id, _stopping()))
                return
            self.idle.clear()
            try:
                if request.op == "subscribe":
                    self._subscribe(request)
                else:
                    self._send(self._console_answer(request) or server._answer(request))
            finally:
                self.idle.set()

    def _console_answer(self, request: Request) -> Response | None:
        """A subscribed console's own commands (``core set verbose``) answered, else ``None``."""
        if request.op != "execute" or self.subscriber is None:
            return None
        return console_reply(request, self.subscriber, self.server.log_feed)

    def _subscribe(self, request: Request) -> None:
        """Start (or re-set) this connection's log feed; its reply is the last one sent directly."""
        if self.subscriber is not None:
            self._send(resubscribe(request, self.subscriber, self.server.log_feed))
            return
        server = self.server
        self.subscriber = subscribe(self.sock, request, server.log_feed, server.console_queue)
        self.subscriber.wait_started(server.send_timeout)  # TimeoutError ends the connection

    def _read_line(self) -> bytes | None:
        """The next request line, or ``None`` when the client hung up between lines.

        Waiting for a line to start has no limit (a console may sit idle for
        hours); once its first byte is in, the whole line must arrive within
        ``request_timeout``, however the client spaces its bytes.
        """
        server = self.server
        deadline: float | None = None
        while True:
            end = self.buffer.find(b"\n")
            if end > MAX_REQUEST_BYTES or (end < 0 and len(self.buffer) > MAX_REQUEST_BYTES):
                raise ProtocolError(
                    f"request line is longer than {MAX_REQUEST_BYTES} bytes; closing the connection"
                )
            if end >= 0:
                line = bytes(self.buffer[:end])
                del self.buffer[: end + 1]
                return line
            if self.buffer and deadline is None:
                deadline = time.monotonic() + server.request_timeout
            if deadline is None:
                self.sock.settimeout(None)
            else:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise _late(server.request_timeout)
                self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(_RECV_SIZE)
            except TimeoutError:
                raise _late(server.request_timeout) from None
            if not chunk:
                if self.buffer:
                    logger.debug("control socket: client hung up in the middle of a request")
                return None
            self.buffer += chunk

    def _send(self, response: Response) -> None:
        if self.subscriber is not None:  # the console's writer sends, after its log lines
            self.subscriber.send_reply(encode(response), self.server.send_timeout)
            return
        self.sock.settimeout(self.server.send_timeout)
        try:
            self.sock.sendall(encode(response))
        except TimeoutError:
            raise OSError(
                errno.ETIMEDOUT,
                f"client did not read its reply within {self.server.send_timeout:g} s",
            ) from None

    def _fail(self, response: Response) -> None:
        """Send an error reply, then close without resetting it away."""
        with contextlib.suppress(OSError):
            self._send(response)
            self.sock.shutdown(socket.SHUT_WR)
            # Unread input would make close() reset the connection, and the client
            # could lose the reply: read what is still coming, briefly.
            self.sock.settimeout(_DRAIN_SECONDS)
            for _ in range(64):
                if not self.sock.recv(_RECV_SIZE):
                    break


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
        self._connections: dict[_Connection, threading.Thread] = {}
        self._listener: socket.socket | None = None
        self._identity: tuple[int, int] | None = None
        self._wake_r, self._wake_w = -1, -1
        self._acceptor: threading.Thread | None = None

    @property
    def state(self) -> ServerState:
        """The current :class:`ServerState`."""
        return self._state

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
        to finish it; after that its thread is left to end on its own.
        """
        with self._lock:
            if self._state in (ServerState.CLOSING, ServerState.CLOSED):
                return
            if self._state is ServerState.NEW:
                self._state = ServerState.CLOSED
                return
            self._state = ServerState.CLOSING
            connections = dict(self._connections)
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"x")
        if self._acceptor is not None:
            self._acceptor.join(timeout)
        deadline = time.monotonic() + timeout
        for conn in connections:
            # A command still running (``core stop`` itself, say) finishes and its
            # reply goes out first; then the shutdown wakes a thread blocked in recv().
            # Only the reading side: a request already sent is still read, and
            # answered "the host is stopping" rather than by silence.
            conn.idle.wait(max(0.0, deadline - time.monotonic()))
            with contextlib.suppress(OSError):
                conn.sock.shutdown(socket.SHUT_RD)
        for conn, thread in connections.items():
            thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                with contextlib.suppress(OSError):
                    conn.sock.shutdown(socket.SHUT_RDWR)
                thread.join(0.5)
        self.log_feed.close_feed()
        self._remove_socket()
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)
        with self._lock:
            self._state = ServerState.CLOSED
        logger.info("control socket %s closed", self.path)

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
        try:
            info = os.lstat(self.path)
        except FileNotFoundError:
            return
        if not stat.S_ISSOCK(info.st_mode):
            raise ControlError(f"{self.path} exists and is not a socket; not replacing it")
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
        try:
            info = os.lstat(self.path)
        except OSError:
            return
        # Only our own socket: a later host may have replaced it in the meantime.
        if (info.st_dev, info.st_ino) == self._identity:
            with contextlib.suppress(OSError):
                os.unlink(self.path)

    # -- serving --------------------------------------------------------------

    def _accept_loop(self) -> None:
        listener = self._listener
        assert listener is not None
        with selectors.DefaultSelector() as selector:
            selector.register(listener, selectors.EVENT_READ)
            selector.register(self._wake_r, selectors.EVENT_READ)
            while self._state is ServerState.LISTENING:
                for key, _ in selector.select():
                    if key.fileobj is listener and self._state is ServerState.LISTENING:
                        self._accept(listener)
        self._turn_away(listener)

    def _turn_away(self, listener: socket.socket) -> None:
        """Tell the clients still waiting to be accepted that the host is stopping."""
        listener.setblocking(False)
        reply = encode(error_response(0, _stopping()))
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

    def _accept(self, listener: socket.socket) -> None:
        try:
            sock, _ = listener.accept()
        except OSError as exc:  # e.g. EMFILE: keep serving the clients already here
            logger.warning("control socket: accept failed: %s", exc)
            return
        conn = _Connection(self, sock)
        with self._lock:
            full = len(self._connections) >= self.max_clients
            if not full:
                thread = threading.Thread(
                    target=conn.run, name="modloader-control-conn", daemon=True
                )
                self._connections[conn] = thread
        if full:
            logger.warning("control socket: more than %d clients; refusing one", self.max_clients)
            sock.settimeout(0.5)
            with contextlib.suppress(OSError):
                error = ControlError(f"too many clients (at most {self.max_clients}); try again")
                sock.sendall(encode(error_response(0, error)))
            sock.close()
            return
        thread.start()

    def _forget(self, conn: _Connection) -> None:
        with self._lock:
            self._connections.pop(conn, None)

    def _answer(self, request: Request) -> Response:
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
