"""The host's log, fed to each remote console that asked for it (protocol version 2).

Asterisk's ``-r``: every attached console sees the host's log as it happens,
each through its own filter (``core set verbose N``, ``core set debug N``,
``logger mute``), and a slow console never slows the host. One
:class:`LogFeed` handler on the root logger formats each record once and
offers it to every :class:`Subscriber`; a subscriber keeps a bounded queue
that its own writer thread empties onto the socket. When the queue is full,
lines are counted, not queued, and a ``dropped`` event later stands where
they were lost. Offering never waits for anything but a short lock.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import select
import socket
import threading
from typing import Final

from modloader._control.protocol import LOG_VERSION
from modloader._control.protocol import Event
from modloader._control.protocol import Request
from modloader._control.protocol import Response
from modloader._control.protocol import encode

__all__ = [
    "LOG_FORMAT",
    "ConsoleFilter",
    "LogFeed",
    "Subscriber",
    "console_command",
    "console_reply",
    "resubscribe",
    "subscribe",
    "threshold",
]

logger = logging.getLogger("modloader.control")

#: How a line looks on a console (after Asterisk's ``[date] LEVEL[name]: text``).
LOG_FORMAT: Final = "[%(asctime)s] %(levelname)s[%(name)s]: %(message)s"
#: Log lines a console may have waiting before more are dropped.
QUEUE_LINES: Final = 2000
#: The longest log line sent (a module may log megabytes); the rest is cut.
MAX_LINE_CHARS: Final = 16 * 1024


def threshold(verbose: int, debug: int) -> int:
    """The lowest logging level a console with these settings shows.

    ``debug N`` (N >= 1) shows DEBUG (10) and, for each level above 1, one
    level lower; ``verbose N`` shows INFO (20) and, for each level above 1,
    one level lower (down to 11); with both at 0, WARNING and above.
    """
    if debug > 0:
        return max(1, logging.DEBUG + 1 - debug)
    if verbose > 0:
        return max(logging.DEBUG + 1, logging.INFO + 1 - verbose)
    return logging.WARNING


class ConsoleFilter:
    """One console's settings, as Asterisk keeps them per remote console."""

    __slots__ = ("debug", "mute", "verbose")

    def __init__(self, verbose: int = 1, debug: int = 0, mute: bool = False) -> None:
        self.verbose = verbose
        self.debug = debug
        self.mute = mute

    def __repr__(self) -> str:
        return f"ConsoleFilter(verbose={self.verbose}, debug={self.debug}, mute={self.mute})"

    @property
    def level(self) -> int:
        return threshold(self.verbose, self.debug)

    def as_dict(self) -> dict[str, int | bool]:
        return {"verbose": self.verbose, "debug": self.debug, "mute": self.mute}


def _level_word(word: str) -> int | None:
    if word.lower() == "off":
        return 0
    return int(word) if word.isdigit() else None


#: The console's own commands, as ``help`` shows them.
CONSOLE_USAGE: Final = {
    "core set verbose": "core set verbose {off|<level>}",
    "core set debug": "core set debug {off|<level>}",
    "logger mute": "logger mute [silent]",
}


def console_command(line: str, settings: ConsoleFilter) -> tuple[bool, str] | None:
    """Apply ``line`` to ``settings`` if it is a console command; ``(ok, text)``, else ``None``.

    ``core set verbose {off|N}``, ``core set debug {off|N}`` and ``logger mute
    [silent]`` (a toggle) set the console they are typed at, not the host.
    """
    words = line.lower().split()
    if words[:3] in (["core", "set", "verbose"], ["core", "set", "debug"]):
        which = words[2]
        level = _level_word(words[3]) if len(words) == 4 else None
        if level is None:
            return False, f"Usage: {CONSOLE_USAGE['core set ' + which]}"
        was = getattr(settings, which)
        setattr(settings, which, level)
        name = "Console verbose" if which == "verbose" else "Core debug"
        if level == was:
            return True, f"{name} is at least {level}."
        return True, f"{name} was {was} and is now {level}."
    if words[:2] == ["logger", "mute"]:
        if len(words) > 3 or (len(words) == 3 and words[2] != "silent"):
            return False, f"Usage: {CONSOLE_USAGE['logger mute']}"
        settings.mute = not settings.mute
        if len(words) == 3:
            return True, ""
        return True, "Console is muted." if settings.mute else "Console is not muted anymore."
    return None


class Subscriber:
    """One console's queue and the thread that writes it to the socket.

    Once a connection subscribes, this thread is the only one that writes
    to it: the replies go through the same queue (never dropped, never
    counted), so that a log line and a reply are never interleaved.
    """

    def __init__(
        self, sock: socket.socket, settings: ConsoleFilter, limit: int = QUEUE_LINES
    ) -> None:
        self.sock = sock
        self.settings = settings
        self.limit = limit
        #: Log lines lost so far (in all), for tests and the host's own log.
        self.dropped_total = 0
        self._dropped = 0
        self._lines = 0
        self._queue: collections.deque[tuple[bytes, threading.Event | None]] = collections.deque()
        self._cond = threading.Condition()
        self._closed = False
        self._broken = False
        self._thread = threading.Thread(
            target=self._pump, name="modloader-control-log", daemon=True
        )
        #: Set once the reply to ``subscribe`` is written (see :func:`subscribe`).
        self._started: threading.Event | None = None

    def wait_started(self, timeout: float) -> None:
        """Wait until the reply to ``subscribe`` is written; :class:`TimeoutError` if not."""
        if self._started is not None:
            self.wait_reply(self._started, timeout)

    def start(self) -> None:
        self._thread.start()

    @property
    def level(self) -> int:
        """The lowest level wanted now (above CRITICAL when muted)."""
        return logging.CRITICAL + 1 if self.settings.mute else self.settings.level

    def offer(self, level: int, text: str) -> None:
        """Queue one log line, or count it as dropped. Never blocks on the console."""
        with self._cond:
            if self._closed:
                return
            if self._lines >= self.limit:
                self._dropped += 1
                self.dropped_total += 1
                return
            if self._dropped:
                self._queue.append((encode(Event("dropped", count=self._dropped)), None))
                self._dropped = 0
            self._queue.append((encode(Event("log", level=level, text=text)), None))
            self._lines += 1
            self._cond.notify()

    def send_reply(self, data: bytes, timeout: float) -> None:
        """Send a reply after the lines queued before it.

        :raises OSError: not written within ``timeout`` (the console does not read),
            or the connection broke.
        """
        self.wait_reply(self.queue_reply(data), timeout)

    def queue_reply(self, data: bytes) -> threading.Event:
        """Queue a reply; the event is set once it is written (or the connection broke)."""
        done = threading.Event()
        with self._cond:
            if self._broken or self._closed:
                raise OSError("the console's connection is closed")
            self._queue.append((data, done))
            self._cond.notify()
        return done

    def wait_reply(self, done: threading.Event, timeout: float) -> None:
        if not done.wait(timeout) or self._broken:
            raise TimeoutError(f"client did not read its reply within {timeout:g} s")

    def close(self, timeout: float = 1.0) -> None:
        """Stop writing (what is still queued is let go) and wait for the thread."""
        with self._cond:
            self._closed = True
            self._cond.notify()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def _next(self) -> tuple[bytes, list[threading.Event]] | None:
        """Everything queued, as one chunk, with the replies it carries; ``None``: closed."""
        with self._cond:
            while not self._queue and not self._closed:
                if self._dropped:  # nothing more came: say it now, not at the next line
                    self._queue.append((encode(Event("dropped", count=self._dropped)), None))
                    self._dropped = 0
                    break
                self._cond.wait()
            if self._closed:
                return None
            items = list(self._queue)
            self._queue.clear()
            self._lines = 0
        return b"".join(data for data, _ in items), [done for _, done in items if done]

    def _pump(self) -> None:
        poller = select.poll()
        poller.register(self.sock.fileno(), select.POLLOUT)
        try:
            while True:
                taken = self._next()
                if taken is None:
                    return
                chunk, replies = taken
                view = memoryview(chunk)
                while view:
                    if self._closed:
                        return
                    if not poller.poll(200):
                        continue
                    try:
                        sent = self.sock.send(view, socket.MSG_DONTWAIT)
                    except (BlockingIOError, InterruptedError):
                        continue
                    view = view[sent:]
                for done in replies:
                    done.set()
        except OSError as exc:
            logger.debug("console log writer ended: %s", exc)
        finally:
            with self._cond:
                self._broken = True
                pending = [done for _, done in self._queue if done]
            for done in pending:
                done.set()


class LogFeed(logging.Handler):
    """The root logger's handler that offers each record to every subscribed console.

    While a console wants more than the root logger lets through (``core set
    debug 1`` on a host logging at INFO), the root logger's level is lowered
    and its other handlers are held at the old level, so that only the
    consoles that asked see more.
    """

    def __init__(self) -> None:
        super().__init__(logging.NOTSET)
        self.setFormatter(logging.Formatter(LOG_FORMAT, "%b %d %H:%M:%S"))
        self._subscribers: list[Subscriber] = []
        self._guard = threading.Lock()
        self._saved_root: int | None = None
        self._saved_handlers: list[tuple[logging.Handler, int]] = []

    def add(self, subscriber: Subscriber) -> None:
        with self._guard:
            self._subscribers = [*self._subscribers, subscriber]
            root = logging.getLogger()
            if self not in root.handlers:
                root.addHandler(self)
        self.update_levels()

    def remove(self, subscriber: Subscriber) -> None:
        with self._guard:
            self._subscribers = [s for s in self._subscribers if s is not subscriber]
            empty = not self._subscribers
        if empty:
            self.close_feed()
        else:
            self.update_levels()

    def close_feed(self) -> None:
        """Take the handler off the root logger and give back the levels it changed."""
        with self._guard:
            self._subscribers = []
            logging.getLogger().removeHandler(self)
            self._restore()

    def update_levels(self) -> None:
        """Lower the root logger's level as far as the most talkative console wants."""
        with self._guard:
            wanted = min((s.level for s in self._subscribers), default=logging.CRITICAL + 1)
            root = logging.getLogger()
            self._restore()
            if wanted >= root.level:
                return
            self._saved_root = root.level
            for handler in root.handlers:
                if handler is not self and handler.level < root.level:
                    self._saved_handlers.append((handler, handler.level))
                    handler.setLevel(root.level)
            root.setLevel(wanted)

    def _restore(self) -> None:
        if self._saved_root is not None:
            logging.getLogger().setLevel(self._saved_root)
            self._saved_root = None
        for handler, level in self._saved_handlers:
            handler.setLevel(level)
        self._saved_handlers = []

    def emit(self, record: logging.LogRecord) -> None:
        subscribers = self._subscribers  # replaced, never changed in place: no lock needed
        wanting = [s for s in subscribers if record.levelno >= s.level]
        if not wanting:
            return
        try:
            text = self.format(record)
        except Exception:
            self.handleError(record)
            return
        if len(text) > MAX_LINE_CHARS:
            text = text[:MAX_LINE_CHARS] + f"... ({len(text) - MAX_LINE_CHARS} characters cut)"
        for subscriber in wanting:
            with contextlib.suppress(Exception):
                subscriber.offer(record.levelno, text)


def subscribe(sock: socket.socket, request: Request, feed: LogFeed, limit: int) -> Subscriber:
    """Start feeding the connection ``sock`` the log, as ``request`` asks.

    The reply goes first in the new queue, then the log lines: the client
    reads its reply before any event. Call :meth:`Subscriber.wait_started`.
    """
    settings = ConsoleFilter(verbose=request.verbose, debug=request.debug, mute=request.mute)
    subscriber = Subscriber(sock, settings, limit)
    reply = Response(id=request.id, ok=True, data=settings.as_dict(), v=LOG_VERSION)
    subscriber._started = subscriber.queue_reply(encode(reply))
    feed.add(subscriber)  # before the reply can go out: no line logged after it is missed
    if request.client:
        # Before the writer starts: queued right after the reply, so the console reads it
        # before any line logged once its subscribe() has returned, never after one.
        logger.debug("control socket: %s subscribed to the log", request.client)
    subscriber.start()
    return subscriber


def resubscribe(request: Request, subscriber: Subscriber, feed: LogFeed) -> Response:
    """A second ``subscribe`` on a connection: its settings replace the first's."""
    subscriber.settings = ConsoleFilter(
        verbose=request.verbose, debug=request.debug, mute=request.mute
    )
    feed.update_levels()
    return Response(id=request.id, ok=True, data=subscriber.settings.as_dict(), v=LOG_VERSION)


def console_reply(request: Request, subscriber: Subscriber, feed: LogFeed) -> Response | None:
    """The reply to a console's own command (``core set verbose 3``), else ``None``."""
    answered = console_command(request.line, subscriber.settings)
    if answered is None:
        return None
    ok, text = answered
    feed.update_levels()
    data = subscriber.settings.as_dict()
    return Response(id=request.id, ok=ok, output=text, exit_code=0 if ok else 1, data=data)
