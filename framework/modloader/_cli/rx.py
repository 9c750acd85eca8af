"""The fast path of ``modloader -rx CMD``: one request, one reply, almost no imports.

``modloader -rx "module show"`` runs in scripts and monitoring loops, so it
must start in about the time Python itself takes. The full client
(:mod:`modloader._control.client`) imports :mod:`socket` (which brings
``enum``, ``selectors`` and ``collections``), :mod:`json` (``re``),
``argparse`` and ``typing``: several times the cost of the interpreter's
own start. This path uses the C modules underneath them, ``_socket`` and
``_json``, and shares with the full client what both must agree on: the
request's framing, the reply's limit and wording
(:mod:`modloader._control.wire`), the folder and peer checks
(:mod:`modloader._control.paths`) and the escaping of what is printed
(:mod:`modloader._text`). It hands every case it does not
parse — ``--json``, ``--help``, unknown options — and every connection it
cannot open for a reason other
than "nobody listens" to the full client, *before* anything is sent, so a
command never runs twice.
"""

from __future__ import annotations

import sys

from modloader._cli.output import write
from modloader._control.wire import CLOSED
from modloader._control.wire import MAX_RESPONSE_BYTES
from modloader._control.wire import REPLY_TIMEOUT
from modloader._control.wire import execute_request
from modloader._control.wire import no_reply
from modloader._control.wire import unable_to_connect

TYPE_CHECKING = False  # not ``typing.TYPE_CHECKING``: typing alone costs ~15 ms here
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

__all__ = ["fast_remote"]

#: The longest reply read.
MAX_REPLY = MAX_RESPONSE_BYTES


class _ScanContext:
    """What ``_json.make_scanner`` reads from a ``json.JSONDecoder``."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    memo: dict[str, str] = {}  # noqa: RUF012 - the scanner reads it as a plain attribute

    @staticmethod
    def parse_constant(name: str) -> float:
        return float(name.lower().replace("infinity", "inf"))


def _parse(argv: Sequence[str]) -> tuple[str, str, str | None] | None:
    """``(namespace, command, socket)`` for a plain ``-rx``; ``None`` for anything else."""
    namespace, command, socket_path, remote = "modloader.modules", None, None, False
    args = list(argv)
    while args:
        arg = args.pop(0)
        if arg in ("-r", "--remote"):
            remote = True
        elif arg in ("-rx", "-xr"):
            if not args:
                return None
            remote, command = True, args.pop(0)
        elif arg in ("-x", "--execute", "-n", "--namespace", "-s", "--socket") and args:
            value = args.pop(0)
            if arg in ("-x", "--execute"):
                command = value
            elif arg in ("-n", "--namespace"):
                namespace = value
            else:
                socket_path = value
        elif arg in ("-q", "--quiet"):
            continue
        else:
            return None  # --json, --help, -c, combined flags...: the full client decides
    # Not a plain -rx; or blank, which the full client refuses with its usage line.
    if not (remote and command and command.strip() and namespace.strip() and socket_path != ""):
        return None
    return namespace, command, socket_path


class _Unsent(Exception):
    """The connection failed before the request left: the full client may retry it."""


class _Refused(Exception):
    """The socket's folder or the process behind it is not to be trusted; nothing was sent."""


class _Closed(Exception):
    """The host closed the connection without a whole reply."""


def _check_peer(sock: Any, path: str) -> None:
    """Refuse a server that is neither this user nor root (``SO_PEERCRED``), before any send."""
    import _socket

    option = getattr(_socket, "SO_PEERCRED", None)
    if option is None or sys.platform != "linux":
        return  # no such call here: the folder's and the socket's permissions decide
    raw = sock.getsockopt(_socket.SOL_SOCKET, option, 12)
    pid = int.from_bytes(raw[0:4], sys.byteorder, signed=True)
    uid = int.from_bytes(raw[4:8], sys.byteorder, signed=True)
    from modloader._control.paths import peer_problem

    problem = peer_problem(uid, pid, path)
    if problem is not None:
        raise _Refused(problem)


def _exchange(path: str, command: str) -> bytes:
    import _socket

    request = execute_request(command, 1)
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        sock.settimeout(REPLY_TIMEOUT)
        try:
            sock.connect(path)
        except (FileNotFoundError, ConnectionRefusedError):
            raise
        except OSError as exc:
            raise _Unsent from exc
        _check_peer(sock, path)
        try:
            sock.sendall(request)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the host refused the connection ("too many clients"): its reply is read
        chunks: list[bytes] = []
        size = 0
        while True:
            chunk = sock.recv(1 << 20)
            if not chunk:
                if not chunks:
                    raise _Closed
                break  # a reply sent just before the host closed may lack only its newline
            chunks.append(chunk)
            size += len(chunk)
            if b"\n" in chunk:
                break
            if size > MAX_REPLY:
                raise _Closed(f"the reply is longer than {MAX_REPLY} bytes; not reading further")
        return b"".join(chunks)
    finally:
        sock.close()


def _say(prog: str, text: str) -> None:
    from modloader._text import escape_controls

    sys.stderr.write(f"{prog}: {escape_controls(text)}\n")


def _has_workers(primary: str) -> bool:
    """``True`` when a worker socket (``<namespace>@<pid>.sock``) lies beside ``primary``."""
    import os

    prefix = os.path.basename(primary)[: -len(".sock")] + "@"
    try:
        names = os.listdir(os.path.dirname(primary))
    except OSError:
        return False
    return any(name.startswith(prefix) for name in names)


def fast_remote(argv: Sequence[str], prog: str = "modloader") -> int | None:
    """Run a plain ``-rx CMD`` and return the exit status, or ``None`` to use the full client.

    ``prog``: the command's name, which its messages begin with.
    """
    parsed = _parse(argv)
    if parsed is None:
        return None
    namespace, command, socket_path = parsed

    from modloader._control.paths import socket_folder_problem

    private = socket_path is None
    if socket_path is None:
        from modloader._control.paths import default_socket_path

        socket_path = default_socket_path(namespace)
        if _has_workers(socket_path):
            return None  # several processes (pre-fork workers): the full client reaches each
    problem = socket_folder_problem(socket_path, private=private)
    if problem is not None:
        _say(prog, problem)
        return 1
    try:
        raw = _exchange(socket_path, command)
    except (FileNotFoundError, ConnectionRefusedError):
        sys.stderr.write(unable_to_connect(prog, socket_path) + "\n")
        return 1
    except _Unsent:
        return None  # e.g. permissions: nothing was sent, the full client says it properly
    except _Refused as exc:
        _say(prog, str(exc))
        return 1
    except _Closed as exc:
        _say(prog, str(exc) or f"{CLOSED} ({socket_path})")
        return 1
    except OSError as exc:
        timed_out = isinstance(exc, TimeoutError)
        _say(prog, no_reply(REPLY_TIMEOUT) if timed_out else f"the host did not answer: {exc}")
        return 1
    return _show(raw, prog)


def _show(raw: bytes, prog: str) -> int:
    import _json

    from modloader._text import escape_controls

    line = raw.partition(b"\n")[0].decode("utf-8", "replace")
    try:
        reply, _ = _json.make_scanner(_ScanContext)(line, 0)  # type: ignore[arg-type]
    except (StopIteration, ValueError, RecursionError, SystemError):  # SystemError: a cut line
        reply = None
    if not isinstance(reply, dict):
        _say(prog, "the host sent a malformed reply")
        return 1
    error = reply.get("error")
    if isinstance(error, dict):
        _say(prog, str(error.get("message", "the host refused the request")))
        return 1
    output = reply.get("output") or ""
    if output and isinstance(output, str):
        output = escape_controls(output)
        write(sys.stdout, output if output.endswith("\n") else output + "\n")  # and flushed
    code = reply.get("exit_code", 0 if reply.get("ok") else 1)
    return code if isinstance(code, int) and not isinstance(code, bool) else 1


if __name__ == "__main__":  # pragma: no cover - for timing by hand
    status = fast_remote(sys.argv[1:])
    raise SystemExit(1 if status is None else status)
