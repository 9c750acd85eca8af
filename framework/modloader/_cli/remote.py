"""``modloader -r`` and ``modloader -rx CMD``: talk to a running host (SPEC 7).

A thin client: ``-rx`` imports the standard library, the protocol and the
error tree, and nothing else (no pydantic, stevedore, importlib_metadata or
prompt_toolkit); ``-r`` adds prompt_toolkit for the console.
"""

from __future__ import annotations

import json
import socket
import sys

from modloader._cli.args import EXIT_INTERRUPTED
from modloader._cli.args import Options
from modloader._cli.local import print_result
from modloader._cli.output import write
from modloader._control.client import ControlClient
from modloader._control.client import RemoteExecutor
from modloader._control.paths import default_socket_path
from modloader._control.protocol import Event
from modloader._control.wire import REPLY_TIMEOUT
from modloader._control.wire import unable_to_connect
from modloader._control.workers import socket_of
from modloader._text import escape_controls
from modloader.errors import ConnectError
from modloader.errors import ControlError

__all__ = ["console_levels", "run_remote", "socket_path"]


def socket_path(options: Options) -> str:
    """The socket ``-s`` names, else the default one of ``-n NAMESPACE``."""
    return options.socket or default_socket_path(options.namespace)


def _report(exc: ControlError, *, as_json: bool, prog: str) -> int:
    if isinstance(exc, ConnectError):  # Asterisk's sentence, standing alone
        message = shown = unable_to_connect(prog, exc.path)
    else:
        message, shown = exc.message, f"{prog}: {exc.message}"
    print(escape_controls(shown), file=sys.stderr)
    if as_json:
        # A reply not given in time is "timeout", as the namespace's fan-out says it.
        code = "timeout" if isinstance(exc.__cause__, TimeoutError) else exc.code
        error = {"ok": False, "error": {"code": code, "message": message}}
        print(json.dumps(error, indent=2))
    return exc.exit_code


def run_remote(options: Options) -> int:
    """Run ``-rx CMD`` (one command) or ``-r`` (a console) against a running host.

    Without ``-s``, ``-rx`` reaches every live process of the namespace
    (:mod:`modloader._cli.fanout`), and ``-p PID`` one of them.

    :returns: 0 on success; 1 when the command failed or no host answered.
    """
    path = socket_path(options)
    line = options.execute
    # -rx waits REPLY_TIMEOUT by default, whatever the socket; the console (-r) waits as
    # long as each command takes.
    reply_timeout = REPLY_TIMEOUT if options.timeout is None else options.timeout
    timeout = reply_timeout if line is not None else options.timeout
    try:
        if line is not None and options.socket is None:
            return _execute_all(path, line, reply_timeout, options)
        if options.pid is not None:
            path = socket_of(path, options.pid)
        client = ControlClient(path, private_folder=options.socket is None, timeout=timeout)
        if line is not None:
            return _execute(client, line, as_json=options.json)
        return _console(client, options)
    except ControlError as exc:
        return _report(exc, as_json=options.json, prog=options.profile.prog)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


def _execute_all(primary: str, line: str, timeout: float, options: Options) -> int:
    from modloader._cli.fanout import print_replies
    from modloader._cli.fanout import reach

    replies = reach(primary, line, timeout=timeout, pid=options.pid)
    if not replies:
        if options.pid is not None:
            raise ControlError(f"no process {options.pid} answers on the sockets of {primary}")
        raise ConnectError(primary)
    return print_replies(replies, line, as_json=options.json)


def _execute(client: ControlClient, line: str, *, as_json: bool) -> int:
    with client:
        result = client.execute(line, structured=as_json)
    print_result(result, as_json=as_json)
    return result.exit_code


def console_levels(options: Options) -> tuple[int, int]:
    """The console's first ``(verbose, debug)``: INFO and up; ``-q`` warnings only; ``-v`` debug.

    As the foreground host's own log: each ``-v`` shows one level more.
    """
    return (0 if options.quiet else 1), options.verbose


#: How long ``-R`` tries to reach the host again after it went away (Asterisk's 30 s).
RECONNECT_SECONDS = 30.0
#: Between two tries.
RECONNECT_EVERY = 0.5


def _console(client: ControlClient, options: Options) -> int:
    """The remote console (``-r``); with ``-R``, a new one each time the host is back."""
    while _session(client, options) and options.reconnect:
        again = _reconnect(client)
        if again is None:
            return 1
        client = again
    return 0


def _session(client: ControlClient, options: Options) -> bool:
    """One console over ``client``; ``True`` when it ended because the host went away."""
    import threading

    from modloader._cli.console import Console  # prompt_toolkit: only for -r

    gone = threading.Event()
    with client:
        hello = client.hello()
        banner = escape_controls(
            f"Connected to {hello.server or 'modloader'} currently running on "
            f"{socket.gethostname()} (pid = {hello.pid})"
        )
        console = Console(RemoteExecutor(client, structured=options.json), banner=banner)

        def on_event(event: Event | None) -> None:
            if event is None:
                gone.set()
                console.write("Disconnected from the host (it may have stopped).")
                console.stop()
            elif event.event == "dropped":
                console.write_log(
                    f"[{event.count} log lines were dropped: this console read too slowly]"
                )
            elif event.event == "log":
                console.write_remote_log(event.level, event.text)

        verbose, debug = console_levels(options)
        try:
            client.subscribe(on_event, verbose=verbose, debug=debug)
        except ControlError as exc:  # an older host: commands only
            console.banner = f"{banner}\n{escape_controls(str(exc))}; showing command output only"
        console.run()
        return gone.is_set()  # read before the close: closing ends the subscription too


def _reconnect(client: ControlClient) -> ControlClient | None:
    """A client connected to the host at the same socket again, as Asterisk's ``-R``
    does, or ``None`` after :data:`RECONNECT_SECONDS`; each step said on stdout."""
    import time

    write(sys.stdout, f"Attempting to reconnect for {RECONNECT_SECONDS:g} seconds\n")
    began = time.monotonic()
    while True:
        again = ControlClient(
            client.path, private_folder=client.private_folder, timeout=client.timeout
        )
        try:
            again.connect()
        except ConnectError:  # not back yet
            if time.monotonic() - began >= RECONNECT_SECONDS:
                write(
                    sys.stdout,
                    f"Failed to reconnect for {RECONNECT_SECONDS:g} seconds. Quitting.\n",
                )
                return None
            time.sleep(RECONNECT_EVERY)
            continue
        write(sys.stdout, f"Reconnect succeeded after {time.monotonic() - began:.3f} seconds\n")
        return again
