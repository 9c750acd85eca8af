"""The remote console's log: subscribe, per-console filters, a slow console (protocol 2)."""

from __future__ import annotations

import json
import logging
import queue
import socket
import time

import pytest

from modloader._control.client import ControlClient
from modloader._control.logfeed import ConsoleFilter
from modloader._control.logfeed import LogFeed
from modloader._control.logfeed import Subscriber
from modloader._control.logfeed import console_command
from modloader._control.logfeed import subscribe
from modloader._control.logfeed import threshold
from modloader._control.protocol import Event
from modloader._control.protocol import Request
from modloader._control.protocol import decode_request
from modloader._control.protocol import encode
from modloader._control.unix import ControlServer
from modloader.errors import ControlError
from modloader.errors import ProtocolError

log = logging.getLogger("feed.test")


@pytest.fixture(autouse=True)
def root_at_info():
    """The root logger as a served host has it: INFO, one handler of its own."""
    root = logging.getLogger()
    saved = root.level, list(root.handlers)
    keep = logging.StreamHandler(open("/dev/null", "w"))
    root.handlers[:] = [keep]
    root.setLevel(logging.INFO)
    yield keep
    root.setLevel(saved[0])
    root.handlers[:] = saved[1]
    keep.stream.close()


@pytest.fixture
def served(executor, sock_path):
    with ControlServer(executor, sock_path, send_timeout=2.0, console_queue=50) as server:
        yield server


def subscribed(server, **levels):
    """A client subscribed to the log, and the queue its events arrive in."""
    events: queue.Queue[Event | None] = queue.Queue()
    client = ControlClient(server.path, timeout=5)
    client.subscribe(events.put, **levels)
    return client, events


def texts(events, until, timeout=5.0):
    """The log texts received until one contains ``until``."""
    seen = []
    deadline = time.monotonic() + timeout
    while True:
        event = events.get(timeout=max(0.01, deadline - time.monotonic()))
        assert event is not None, "connection lost"
        if "[modloader.control]" in event.text:  # the server's own debug lines
            continue
        seen.append(event.text if event.event == "log" else f"dropped {event.count}")
        if until in seen[-1]:
            return seen


def test_threshold_follows_asterisks_levels():
    assert threshold(0, 0) == logging.WARNING
    assert threshold(1, 0) == logging.INFO
    assert threshold(3, 0) == logging.INFO - 2
    assert threshold(99, 0) == logging.DEBUG + 1
    assert threshold(0, 1) == threshold(5, 1) == logging.DEBUG
    assert threshold(0, 99) == 1


def test_console_commands_set_only_the_settings_given():
    settings = ConsoleFilter()
    assert console_command("core set verbose 3", settings) == (
        True,
        "Console verbose was 1 and is now 3.",
    )
    assert console_command("core set debug off", settings) == (True, "Core debug is at least 0.")
    assert console_command("core set verbose lots", settings) == (
        False,
        "Usage: core set verbose {off|<level>}",
    )
    assert console_command("logger mute", settings) == (True, "Console is muted.")
    assert console_command("logger mute silent", settings) == (True, "")
    assert settings.as_dict() == {"verbose": 3, "debug": 0, "mute": False}
    assert console_command("module show", settings) is None


def test_subscribe_needs_version_2():
    line = json.dumps({"v": 1, "id": 1, "op": "subscribe"}).encode()
    with pytest.raises(ProtocolError, match="'subscribe' needs protocol version 2"):
        decode_request(line)
    request = decode_request(encode(Request(op="subscribe", v=2, verbose=2, debug=1))[:-1])
    assert (request.verbose, request.debug, request.mute) == (2, 1, False)


def test_a_console_gets_the_log_as_it_happens_and_its_replies_in_order(served):
    client, events = subscribed(served, verbose=1)
    with client:
        log.info("before the command")
        assert texts(events, "before the command")[-1].endswith(
            "INFO[feed.test]: before the command"
        )
        result = client.execute("log from a command")
        assert result.output == "logged"
        assert "WARNING[fake.host]: from a command" in texts(events, "from a command")[-1]


def test_rx_style_connections_never_get_a_log_line(served):
    subscriber, events = subscribed(served)
    with subscriber, ControlClient(served.path, timeout=5) as plain:
        for n in range(20):
            result = plain.execute(f"log line {n}")
            assert result.output == "logged"  # a reply, never an event, on this connection
        texts(events, "line 19")


def test_each_console_has_its_own_filter(served, root_at_info):
    quiet, quiet_events = subscribed(served, verbose=0)
    chatty, chatty_events = subscribed(served, verbose=1, debug=1)
    with quiet, chatty:
        log.debug("a debug line")
        log.info("an info line")
        log.warning("a warning")
        got = texts(chatty_events, "a warning")
        assert [t.rsplit(": ", 1)[1] for t in got] == ["a debug line", "an info line", "a warning"]
        assert [t.rsplit(": ", 1)[1] for t in texts(quiet_events, "a warning")] == ["a warning"]
        # The host's own handler still shows INFO and up, not the console's debug.
        assert root_at_info.level == logging.INFO
        assert chatty.execute("logger mute").output == "Console is muted."
        assert quiet.execute("core set verbose 1").output == "Console verbose was 0 and is now 1."
        assert quiet.execute("core set verbose x").exit_code == 1
        log.info("second info")
        assert texts(quiet_events, "second info")[-1].endswith("second info")
        assert chatty_events.empty()
        assert chatty.execute("core set debug off").data == {
            "verbose": 1,
            "debug": 0,
            "mute": True,
        }
    # Given back when the server has seen both consoles leave.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and (
        logging.getLogger().level != logging.INFO or root_at_info.level != logging.NOTSET
    ):
        time.sleep(0.02)
    assert logging.getLogger().level == logging.INFO
    assert root_at_info.level == logging.NOTSET


def test_a_console_that_never_reads_does_not_slow_the_host(served):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(served.path)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    hello = {"v": 1, "id": 1, "op": "hello", "versions": [1, 2]}
    sock.sendall(json.dumps(hello).encode() + b"\n")
    sock.sendall(encode(Request(op="subscribe", id=2, v=2, verbose=1)))
    reader = sock.makefile("rb")
    assert json.loads(reader.readline())["version"] == 2
    assert json.loads(reader.readline())["ok"] is True
    # The console now reads nothing while the host logs far more than it can hold.
    started = time.monotonic()
    for n in range(20000):
        log.info("line %d %s", n, "x" * 100)
    elapsed = time.monotonic() - started
    assert elapsed < 10, f"logging 20000 lines took {elapsed:.1f} s"
    with ControlClient(served.path, timeout=5) as other:  # the host still answers
        assert other.execute("echo still here").output == "still here"
    sock.settimeout(10)
    lines, dropped = 0, 0
    while lines + dropped < 20000:  # the console reads at last: what was kept, then the count
        try:
            message = json.loads(reader.readline())
        except TimeoutError:
            sub = served.log_feed._subscribers[0]
            raise AssertionError(
                f"{lines} {dropped} {sub.dropped_total} {sub._dropped} {len(sub._queue)} "
                f"{sub._broken} {sub._closed} {sub._thread.is_alive()}"
            ) from None
        if message["event"] == "dropped":
            dropped += message["count"]
        elif "[feed.test]" in message["text"]:
            lines += 1
    log.warning("the last line")  # and the host's log goes on
    assert "the last line" in json.loads(reader.readline())["text"]
    assert dropped > 0
    assert lines + dropped == 20000
    sock.close()


def test_a_host_that_speaks_only_version_1_is_said_to_send_no_log(served, monkeypatch):
    import modloader._control.protocol as protocol

    monkeypatch.setattr(protocol, "SUPPORTED_VERSIONS", (1,))  # what an older host negotiates
    with ControlClient(served.path, timeout=5) as client:
        with pytest.raises(ControlError, match="does not send its log to consoles"):
            client.subscribe(lambda event: None)
        assert client.execute("echo still works").output == "still works"


def test_a_console_is_told_when_the_host_goes_away(executor, sock_path):
    server = ControlServer(executor, sock_path, send_timeout=2.0)
    server.start()
    client, events = subscribed(server)
    try:
        server.close()
        deadline = time.monotonic() + 10
        while True:
            event = events.get(timeout=max(0.01, deadline - time.monotonic()))
            if event is None:
                break
        with pytest.raises(ControlError):
            client.execute("echo gone")
    finally:
        client.close()


def test_a_console_reads_its_own_subscribed_line_before_anything_logged_after(monkeypatch):
    # The line that says a console subscribed is queued behind the reply before the
    # writer starts: logged later, it could reach the console after lines logged once
    # the console's subscribe() had returned, out of order.
    queued_at_start: list[bytes] = []
    start = Subscriber.start

    def recording_start(self: Subscriber) -> None:
        queued_at_start.extend(frame for frame, _ in self._queue)
        start(self)

    monkeypatch.setattr(Subscriber, "start", recording_start)
    feed = LogFeed()
    here, there = socket.socketpair()
    request = Request(op="subscribe", id=1, client="pid 42 (test)", verbose=1, debug=1)
    subscriber = subscribe(here, request, feed, limit=10)
    try:
        assert [json.loads(frame).get("event") for frame in queued_at_start] == [None, "log"]
        assert "pid 42 (test) subscribed to the log" in json.loads(queued_at_start[1])["text"]
        subscriber.wait_started(5)
        with there.makefile("rb") as replies:
            assert json.loads(replies.readline())["ok"] is True
            assert "subscribed to the log" in json.loads(replies.readline())["text"]
    finally:
        feed.remove(subscriber)
        subscriber.close()
        here.close()
        there.close()


def test_a_reply_to_a_request_given_up_is_not_taken_for_the_next(served):
    """Ctrl-C at the remote console stops waiting for a slow command; its reply came later
    and was taken for the next command's, and every reply after was one behind."""
    import signal
    import threading

    client, _ = subscribed(served)
    try:
        interrupt = threading.Timer(
            0.2, signal.pthread_kill, (threading.main_thread().ident, signal.SIGINT)
        )
        interrupt.start()
        with pytest.raises(KeyboardInterrupt):
            client.execute("slow 0.6")
        time.sleep(0.8)  # its reply has come, and waits to be read
        assert client.execute("echo one").output == "one"
        assert client.execute("echo two").output == "two"
    finally:
        client.close()
