"""The thin client of the control socket (``modloader -r`` and ``-rx``).

Standard library only: this module, and everything it imports, must not pull
in pydantic, stevedore, importlib_metadata or prompt_toolkit, so that
``modloader -rx "module show"`` starts in about the time Python itself takes.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING
from typing import Final
from typing import Self

from modloader._commands.base import CommandResult
from modloader._control.checks import peer_credentials
from modloader._control.paths import peer_problem
from modloader._control.paths import socket_folder_problem
from modloader._control.protocol import LOG_VERSION
from modloader._control.protocol import MAX_REQUEST_BYTES
from modloader._control.protocol import MAX_RESPONSE_BYTES
from modloader._control.protocol import SUPPORTED_VERSIONS
from modloader._control.protocol import Event
from modloader._control.protocol import Request
from modloader._control.protocol import Response
from modloader._control.protocol import decode_message
from modloader._control.protocol import decode_response
from modloader._control.protocol import encode
from modloader._control.protocol import result_from_response
from modloader._control.wire import CLOSED
from modloader._control.wire import no_reply
from modloader._version import __version__
from modloader.errors import AccessDeniedError
from modloader.errors import ConnectError
from modloader.errors import ControlError
from modloader.errors import HostStoppingError
from modloader.errors import ProtocolError

if TYPE_CHECKING:  # imported when a console subscribes: -rx never needs them
    import queue
    import threading

__all__ = ["CLOSED", "ControlClient", "RemoteExecutor", "execute_remote", "raise_for_error"]

_RECV_SIZE: Final = 1 << 20


def _check_server(sock: socket.socket, path: str) -> int | None:
    """Refuse a server that is neither this user nor root, before anything is sent.

    :returns: the server's pid, where the system tells it.
    """
    credentials = peer_credentials(sock)
    if credentials is None:
        return None  # the system cannot tell: the folder's and the socket's permissions decide
    problem = peer_problem(credentials.uid, credentials.pid, path)
    if problem is not None:
        raise AccessDeniedError(problem)
    return credentials.pid


#: Error codes that mean the control channel itself failed; the client raises them.
_RAISED: Final[dict[str, type[ControlError]]] = {
    AccessDeniedError.code: AccessDeniedError,
    ProtocolError.code: ProtocolError,
    ControlError.code: ControlError,
    HostStoppingError.code: HostStoppingError,
}


def raise_for_error(response: Response) -> None:
    """Raise the :class:`ControlError` an error reply stands for.

    Nothing happens for a reply without an error, nor for an error that the
    command itself raised on the host (any code outside the control family):
    :func:`~modloader._control.protocol.result_from_response` makes that a
    failed result.
    """
    error = response.error
    if error is not None and error.code in _RAISED:
        raise _RAISED[error.code](error.message)


class ControlClient:
    """One connection to a host's control socket.

    ::

        with ControlClient("/run/user/1000/modloader/myapp.modules.sock") as client:
            print(client.execute("module show").output)

    :param path: the socket's path.
    :param connect_timeout: seconds to wait for the connection.
    :param timeout: seconds to wait for a reply (``None``: as long as the command takes).
    :param private_folder: the socket is in the default per-user folder, held to the
        strict check (see :func:`~modloader._control.paths.folder_problem`).

    Before anything is sent, the socket's folder is checked as the host checks
    it, and the process listening is asked who it is (``SO_PEERCRED``, where
    the system has it): this user or root, or :class:`AccessDeniedError`.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        connect_timeout: float = 5.0,
        timeout: float | None = None,
        private_folder: bool = False,
    ) -> None:
        self.path = os.fspath(path)
        self.connect_timeout = connect_timeout
        self.timeout = timeout
        self.private_folder = private_folder
        self._sock: socket.socket | None = None
        #: The pid of the process listening, as the kernel says (``SO_PEERCRED``);
        #: ``None`` before :meth:`connect`, or where the system cannot tell.
        self.peer_pid: int | None = None
        self._buffer = bytearray()
        self._scanned = 0
        self._next_id = 1
        #: Set while subscribed: a thread reads every line, events and replies.
        self._reader: threading.Thread | None = None
        self._replies: queue.Queue[Response | BaseException | None] | None = None
        self._send_lock: threading.Lock | None = None
        self._closing = False

    def __enter__(self) -> Self:
        self.connect()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def connected(self) -> bool:
        """``True`` between :meth:`connect` and :meth:`close`."""
        return self._sock is not None

    def connect(self) -> None:
        """Open the connection (does nothing if it is open).

        :raises ConnectError: nothing listens on the path.
        :raises AccessDeniedError: this user may not reach the socket, or the socket's
            folder or the process listening on it is not to be trusted.
        """
        if self._sock is not None:
            return
        problem = socket_folder_problem(self.path, private=self.private_folder)
        if problem is not None:
            raise AccessDeniedError(problem)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.connect_timeout)
        deadline = time.monotonic() + self.connect_timeout
        try:
            while True:
                try:
                    sock.connect(self.path)
                    break
                except BlockingIOError:
                    # The host's backlog is full (a burst of clients): wait for a place.
                    if time.monotonic() >= deadline:
                        raise
                    time.sleep(0.01)
        except PermissionError as exc:
            sock.close()
            raise AccessDeniedError(
                f"Permission denied on {self.path}: the host runs as another user"
            ) from exc
        except OSError as exc:
            sock.close()
            raise ConnectError(self.path) from exc
        try:
            self.peer_pid = _check_server(sock, self.path)
        except BaseException:
            sock.close()
            raise
        sock.settimeout(self.timeout)
        self._sock = sock

    def close(self) -> None:
        """Close the connection (and end a subscription). Idempotent."""
        sock, self._sock = self._sock, None
        reader, self._reader = self._reader, None
        if sock is not None:
            if reader is not None:
                import threading

                self._closing = True
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                if reader is not threading.current_thread():
                    reader.join(2.0)
            sock.close()
        self._buffer.clear()
        self._scanned = 0
        self._closing = False

    def request(self, request: Request) -> Response:
        """Send one request and wait for its reply (an error reply is returned, not raised).

        :raises ConnectError: the connection could not be opened.
        :raises ControlError: the connection broke, or the reply did not come in time.
        :raises ProtocolError: the reply is malformed.
        """
        data = _encoded(request)
        self.connect()
        sock = self._sock
        assert sock is not None
        if self._reader is not None:
            return self._request_subscribed(sock, data, request.id)
        try:
            try:
                sock.sendall(data)
            except OSError:
                # The host may have closed after saying why (it is stopping): read that.
                sock.settimeout(0.5)
                line = self._read_line(sock)
                if line is None:
                    raise
            else:
                line = self._read_line(sock)
        except TimeoutError as exc:
            self.close()
            raise ControlError(no_reply(self.timeout)) from exc
        except OSError as exc:
            self.close()
            raise ControlError(f"lost the connection to {self.path}: {exc}") from exc
        if line is None:
            self.close()
            raise ControlError(f"{CLOSED} ({self.path})")
        response = decode_response(line)
        error = response.error
        if error is not None and (response.id == 0 or error.code == ProtocolError.code):
            # The host could not read the request, or is stopping: it has closed the connection.
            self.close()
        return response

    def _request_subscribed(self, sock: socket.socket, data: bytes, request_id: int) -> Response:
        """A request while the reader thread reads: send, and wait for the reply it hands over.

        A reply to an earlier request whose wait was given up (a Ctrl-C at the remote
        console) is thrown away when it comes: each reply answers the request of its id.
        """
        import queue

        assert self._send_lock is not None and self._replies is not None
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        try:
            with self._send_lock:
                sock.sendall(data)
            while True:
                left = None if deadline is None else max(0.0, deadline - time.monotonic())
                reply = self._replies.get(timeout=left)
                if not (isinstance(reply, Response) and 0 < reply.id < request_id):
                    break
        except queue.Empty:
            self.close()
            raise ControlError(no_reply(self.timeout)) from None
        except OSError as exc:
            reply = exc
        if isinstance(reply, Response):
            return reply
        self.close()
        if reply is None:
            raise ControlError(f"{CLOSED} ({self.path})")
        if isinstance(reply, ProtocolError):
            raise reply
        raise ControlError(f"lost the connection to {self.path}: {reply}")

    def subscribe(
        self,
        on_event: Callable[[Event | None], object],
        *,
        verbose: int = 1,
        debug: int = 0,
        mute: bool = False,
    ) -> Response:
        """Ask for the host's log, as a remote console (protocol version 2).

        From the reply on, a thread of this client reads the connection:
        ``on_event`` gets each log line and each ``dropped`` count as an
        :class:`~modloader._control.protocol.Event`, from that thread, and
        ``None`` once if the connection is lost (not after :meth:`close`).
        Requests go on working as before. The reply's ``data`` holds the
        console's settings.

        :raises ControlError: the host is older and does not send its log, or refused.
        """
        hello = self.hello()
        if hello.version < LOG_VERSION:
            raise ControlError(
                f"{hello.server or 'the host'} does not send its log to consoles "
                f"(it speaks protocol version {hello.version})"
            )
        response = self.request(
            Request(
                op="subscribe",
                id=self._id(),
                verbose=verbose,
                debug=debug,
                mute=mute,
                client=f"modloader {__version__} (pid {os.getpid()})",
                v=LOG_VERSION,
            )
        )
        raise_for_error(response)
        if response.error is not None:
            raise ControlError(response.error.message)
        sock = self._sock
        assert sock is not None
        import queue
        import threading

        sock.settimeout(None)  # the reader waits for lines as long as the host runs
        self._replies = queue.Queue()
        self._send_lock = threading.Lock()
        self._reader = threading.Thread(
            target=self._read_all, args=(sock, on_event), name="modloader-console-log", daemon=True
        )
        self._reader.start()
        return response

    def _read_all(self, sock: socket.socket, on_event: Callable[[Event | None], object]) -> None:
        """The reader thread: events to ``on_event``, replies to the waiting request."""
        end: BaseException | None = None
        try:
            while True:
                line = self._read_line(sock)
                if line is None:
                    break
                message = decode_message(line)
                if isinstance(message, Event):
                    with contextlib.suppress(Exception):  # the console's trouble, not ours
                        on_event(message)
                else:
                    assert self._replies is not None
                    self._replies.put(message)
        except (OSError, ProtocolError) as exc:
            end = exc
        assert self._replies is not None
        self._replies.put(end)
        if not self._closing:
            with contextlib.suppress(Exception):
                on_event(None)

    def _read_line(self, sock: socket.socket) -> bytes | None:
        while True:
            # Search only what arrived since the last look: a long reply stays linear.
            end = self._buffer.find(b"\n", self._scanned)
            if end >= 0:
                line = bytes(self._buffer[:end])
                del self._buffer[: end + 1]
                self._scanned = 0
                return line
            self._scanned = len(self._buffer)
            if len(self._buffer) > MAX_RESPONSE_BYTES:
                self.close()
                raise ProtocolError(f"reply line is longer than {MAX_RESPONSE_BYTES} bytes")
            chunk = sock.recv(_RECV_SIZE)
            if not chunk:
                if not self._buffer:
                    return None
                # A reply sent just before the host closed may lack nothing but its newline.
                line = bytes(self._buffer)
                self._buffer.clear()
                self._scanned = 0
                return line
            self._buffer += chunk

    def _id(self) -> int:
        self._next_id += 1
        return self._next_id - 1

    def hello(self) -> Response:
        """Agree on the protocol version; the reply names the host (``server``, ``pid``)."""
        response = self.request(
            Request(
                op="hello",
                id=self._id(),
                versions=SUPPORTED_VERSIONS,
                client=f"modloader {__version__} (pid {os.getpid()})",
            )
        )
        raise_for_error(response)
        return response

    def ping(self) -> None:
        """Check the host answers."""
        response = self.request(Request(op="ping", id=self._id()))
        raise_for_error(response)
        if response.error is not None:
            raise ControlError(response.error.message)

    def execute(self, line: str, *, structured: bool = False) -> CommandResult:
        """Run ``line`` on the host.

        A command that fails is a result with ``ok=False``; a request the host
        refused raises.

        :raises ControlError: the host could not be reached or refused the request.
        """
        response = self.request(
            Request(op="execute", id=self._id(), line=line, structured=structured)
        )
        raise_for_error(response)
        return result_from_response(line, response)

    def complete(self, line: str) -> list[str]:
        """The host's candidates for the last word of ``line`` (none if the host failed)."""
        response = self.request(Request(op="complete", id=self._id(), line=line))
        raise_for_error(response)
        return list(response.completions) if response.error is None else []


def _encoded(request: Request) -> bytes:
    """``request`` as sent; one longer than the host reads is refused here, the connection
    kept (the host would refuse it and close it)."""
    data = encode(request)
    if len(data) > MAX_REQUEST_BYTES + 1:  # the newline is not counted
        raise ProtocolError(
            f"the request is {len(data) - 1} bytes, more than the {MAX_REQUEST_BYTES} "
            f"a host reads; not sent"
        )
    return data


class RemoteExecutor:
    """An :class:`~modloader._commands.base.Executor` that runs commands on a remote host.

    It never raises from :meth:`execute` (a lost connection is a failed result,
    and the next command reconnects) nor from :meth:`complete` (no candidates),
    as an executor should not.
    """

    def __init__(self, client: ControlClient, *, structured: bool = False) -> None:
        self.client = client
        self.structured = structured

    def execute(self, line: str) -> CommandResult:
        try:
            return self.client.execute(line, structured=self.structured)
        except ControlError as exc:
            return CommandResult(line=line, ok=False, output=str(exc))

    def complete(self, line: str) -> list[str]:
        try:
            return self.client.complete(line)
        except ControlError:
            return []


def execute_remote(
    path: str | os.PathLike[str],
    line: str,
    *,
    structured: bool = False,
    timeout: float | None = None,
) -> CommandResult:
    """Run one command on the host listening at ``path`` (one connection, then closed).

    :raises ConnectError: nothing listens at ``path``.
    :raises ControlError: the host refused the request or the connection broke.
    """
    with ControlClient(path, timeout=timeout) as client:
        return client.execute(line, structured=structured)
