"""One client of the control socket, served by a thread of its own (see :mod:`.unix`).

It reads request lines (each finished within the server's ``request_timeout``),
answers them through the server, and sends the replies (each read by the client
within ``send_timeout``); once the client subscribes to the log (a remote
console), its replies go through the subscriber's queue with the log lines.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import socket
import threading
import time
from typing import TYPE_CHECKING
from typing import Final

from modloader._control.checks import check_peer
from modloader._control.checks import peer_credentials
from modloader._control.logfeed import Subscriber
from modloader._control.logfeed import console_reply
from modloader._control.logfeed import resubscribe
from modloader._control.logfeed import subscribe
from modloader._control.protocol import MAX_REQUEST_BYTES
from modloader._control.protocol import Request
from modloader._control.protocol import Response
from modloader._control.protocol import decode_request
from modloader._control.protocol import encode
from modloader._control.protocol import error_response
from modloader._control.protocol import request_id
from modloader.errors import AccessDeniedError
from modloader.errors import ControlError
from modloader.errors import HostStoppingError
from modloader.errors import ProtocolError

if TYPE_CHECKING:
    from modloader._control.unix import ControlServer

__all__ = ["Connection", "refuse", "stopping_error"]

logger = logging.getLogger("modloader.control")

_RECV_SIZE: Final = 65536
#: How long a closing connection keeps reading what the client still sends, so that
#: the error reply is not lost to a reset.
_DRAIN_SECONDS: Final = 0.2


def _late(limit: float) -> ProtocolError:
    return ProtocolError(
        f"request not completed within {limit:g} s (no newline); closing the connection"
    )


def refuse(sock: socket.socket, message: str) -> None:
    """Tell a client it is not served (an error reply with id 0), and close it."""
    sock.settimeout(0.5)
    with contextlib.suppress(OSError):
        sock.sendall(encode(error_response(0, ControlError(message))))
    sock.close()


def stopping_error() -> HostStoppingError:
    """What a client is told when the host stops before its request is run."""
    return HostStoppingError()


class Connection:
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
            self.server.forget(self)
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
            except ProtocolError as exc:  # its message says the connection is closed
                logger.warning("control socket: %s", exc)
                self._fail(error_response(0, exc))
                return
            if line is None:
                if not server.listening:
                    self._fail(error_response(0, stopping_error()))
                return
            try:
                request = decode_request(line)
            except ProtocolError as exc:
                logger.warning("control socket: %s; closing that connection", exc)
                self._fail(error_response(request_id(line), exc))
                return
            if not server.listening:
                self._fail(error_response(request.id, stopping_error()))
                return
            self.idle.clear()
            try:
                if request.op == "subscribe":
                    self._subscribe(request)
                else:
                    self._send(self._console_answer(request) or server.answer(request))
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
