"""``modloader -n NS -rx CMD`` on every live process of a namespace (pre-fork workers).

Each process of the namespace has its own control socket in the namespace's
folder (:mod:`modloader._control.workers`). The command goes to all of them
at once, one thread per socket, each bounded by the same time limit; a socket
nobody answers on (its process died) is skipped, not counted as a failure.

Text: with one live process, its output exactly as a single host prints it;
with several, one section per process headed ``== pid N ==``, and after
``module show`` a line saying which modules differ between them. ``--json``:
one object with one live process, else a list of them, each with its ``pid``
(the schema is in docs/fleets.md).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any
from typing import Final
from typing import NamedTuple
from typing import TextIO

from modloader._cli.output import write
from modloader._commands.base import CommandResult
from modloader._control.client import ControlClient
from modloader._control.paths import socket_folder_problem
from modloader._control.protocol import result_as_dict
from modloader._control.wire import REPLY_TIMEOUT
from modloader._control.wire import no_reply
from modloader._control.workers import list_sockets
from modloader._control.workers import socket_pid
from modloader._text import escape_controls
from modloader.errors import AccessDeniedError
from modloader.errors import ConnectError
from modloader.errors import ControlError
from modloader.errors import HostStoppingError
from modloader.errors import ProtocolError

__all__ = ["JSON_SCHEMA", "Reply", "differences", "print_replies", "reach"]

#: The version of the ``--json`` form of a namespace's replies (docs/fleets.md).
JSON_SCHEMA: Final = 1
#: Seconds to open each connection.
_CONNECT_TIMEOUT: Final = 5.0


class Reply(NamedTuple):
    """What one process of the namespace answered, or why it did not."""

    #: The process's pid (``None`` only when neither the kernel nor the socket's name says).
    pid: int | None
    #: Its control socket.
    path: str
    #: The command's result; ``None`` when no answer came.
    result: CommandResult | None = None
    #: Why no answer came (``result`` is ``None``).
    error: str | None = None
    #: The error's code in ``--json``: ``timeout``, or the control error's own.
    error_code: str | None = None

    @property
    def ok(self) -> bool:
        """``True`` when the command ran and succeeded there."""
        return self.result is not None and self.result.ok

    def as_dict(self) -> dict[str, Any]:
        """The ``--json`` object (schema :data:`JSON_SCHEMA`)."""
        if self.result is not None:
            body = result_as_dict(self.result)
        else:
            body = {
                "command": "",
                "ok": False,
                "exit_code": 1,
                "output": "",
                "data": None,
                "notes": [],
                "error": {"code": self.error_code, "message": self.error},
            }
        return {"schema": JSON_SCHEMA, "pid": self.pid, **body}


class _Other(Exception):
    """The process on this socket is not the one ``-p`` asked for."""


def _ask(primary: str, path: str, line: str, timeout: float, want: int | None) -> Reply | None:
    """Run ``line`` on the process at ``path``; ``None`` when nobody answers there (skipped)."""
    client = ControlClient(
        path, connect_timeout=_CONNECT_TIMEOUT, timeout=timeout, private_folder=True
    )
    pid = socket_pid(primary, path)
    try:
        with client:
            if client.peer_pid is not None:
                pid = client.peer_pid
            elif pid is None:
                pid = client.hello().pid
            if want is not None and pid != want:
                raise _Other
            result = client.execute(line, structured=True)
    except ConnectError:
        return None  # its process died: the next host to start removes the socket
    except ControlError as exc:
        if isinstance(exc.__cause__, TimeoutError):
            message = f"pid {pid}: {no_reply(timeout)}"
            return Reply(pid, path, error=message, error_code="timeout")
        if _stops(line) and not isinstance(exc, AccessDeniedError | ProtocolError):
            # Stopping already, or gone before it answered: another process's stop (a
            # worker's core stop stops them all) reached it first. Asked to stop, it does.
            said = "Stopping already." if isinstance(exc, HostStoppingError) else "Stopped."
            return Reply(pid, path, result=CommandResult(line, ok=True, output=said))
        return Reply(pid, path, error=f"pid {pid}: {exc}", error_code=exc.code)
    return Reply(pid, path, result=result)


def _stops(line: str) -> bool:
    """Whether ``line`` is a ``core stop`` (``now``, ``gracefully``, ``when convenient``)."""
    words = line.lower().split()
    return words[:2] == ["core", "stop"] and len(words) > 2


def reach(
    primary: str, line: str, *, timeout: float = REPLY_TIMEOUT, pid: int | None = None
) -> list[Reply]:
    """Run ``line`` on every live process whose socket is ``primary`` or beside it.

    :param primary: the namespace's default socket.
    :param timeout: seconds each process has to answer; one that does not is a
        failed :class:`Reply` naming its pid.
    :param pid: only the process with this pid.
    :returns: the replies, in the order of :func:`list_sockets` (none: nobody answers).
    :raises AccessDeniedError: the namespace's folder is not to be trusted.
    """
    problem = socket_folder_problem(primary, private=True)
    if problem is not None:  # before listing it, let alone connecting to what is in it
        raise AccessDeniedError(problem)
    paths = list_sockets(primary)
    replies: dict[str, Reply | None] = {}

    def run(path: str) -> None:
        try:
            replies[path] = _ask(primary, path, line, timeout, pid)
        except _Other:
            replies[path] = None

    threads = [threading.Thread(target=run, args=(path,), daemon=True) for path in paths]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout + _CONNECT_TIMEOUT + 1.0
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    found: list[Reply] = []
    for path in paths:
        if path not in replies:  # its thread is still stuck (in connect, say)
            owner = socket_pid(primary, path)
            if pid is None or owner == pid:
                message = f"pid {owner}: {no_reply(timeout)}"
                found.append(Reply(owner, path, error=message, error_code="timeout"))
            continue
        reply = replies[path]
        if reply is not None:
            found.append(reply)
    return found


def differences(replies: list[Reply]) -> str | None:
    """After ``module show`` on several processes: which modules differ, and how.

    ``None`` when fewer than two processes showed their modules.
    """
    tables: dict[int | None, dict[str, dict[str, Any]]] = {}
    for reply in replies:
        data = reply.result.data if reply.result is not None else None
        modules = data.get("modules") if isinstance(data, dict) else None
        if isinstance(modules, list):
            tables[reply.pid] = {
                str(row.get("name")): row for row in modules if isinstance(row, dict)
            }
    if len(tables) < 2:
        return None
    names = sorted({name for table in tables.values() for name in table})
    found = []
    for name in names:
        for field in ("status", "version"):
            by_value: dict[str, list[str]] = {}
            for pid, table in tables.items():
                row = table.get(name)
                value = "not shown" if row is None else str(row.get(field))
                by_value.setdefault(value, []).append(str(pid))
            if len(by_value) > 1:
                groups = "; ".join(
                    f"{value}: pid{'s' if len(pids) > 1 else ''} {', '.join(pids)}"
                    for value, pids in by_value.items()
                )
                found.append(f"{name} {field} ({groups})")
                break  # "not shown" shows in both fields: say it once
    if not found:
        return f"All {len(tables)} processes show the same modules."
    return "Processes differ: " + "; ".join(found)


def _write_output(out: TextIO, result: CommandResult) -> None:
    if result.output:
        text = escape_controls(result.output)
        write(out, text if text.endswith("\n") else text + "\n")


def _print_json(replies: list[Reply], line: str, out: TextIO) -> None:
    for reply in replies:
        if reply.result is None:  # a script reads the JSON; a person, standard error
            print(escape_controls(reply.error or "no reply"), file=sys.stderr)
    documents = [reply.as_dict() for reply in replies]
    for document in documents:
        document["command"] = document["command"] or line
    shown: Any = documents[0] if len(documents) == 1 else documents
    write(out, json.dumps(shown, indent=2, default=str) + "\n")


def print_replies(
    replies: list[Reply], line: str, *, as_json: bool, stdout: TextIO | None = None
) -> int:
    """Print the replies of :func:`reach`; the exit status (1 if any process failed)."""
    out = sys.stdout if stdout is None else stdout
    status = 0 if all(reply.ok for reply in replies) else 1
    if as_json:
        _print_json(replies, line, out)
    elif len(replies) == 1:  # exactly as a single host's reply
        reply = replies[0]
        if reply.result is None:  # as modloader says a single host's error
            said = (reply.error or "no reply").removeprefix(f"pid {reply.pid}: ")
            print(f"modloader: {escape_controls(said)}", file=sys.stderr)
        else:
            _write_output(out, reply.result)
            status = reply.result.exit_code
    else:
        for reply in replies:
            if reply.result is None:
                write(out, f"== pid {reply.pid}: failed ==\n{escape_controls(reply.error or '')}\n")
            else:
                write(out, f"== pid {reply.pid} ==\n")
                _write_output(out, reply.result)
        summary = differences(replies)
        if summary is not None:
            write(out, escape_controls(summary) + "\n")
    return status
