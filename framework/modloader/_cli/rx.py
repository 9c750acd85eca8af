"""The fast path of ``modloader -rx CMD``: one request, one reply, almost no imports.

``modloader -rx "module show"`` runs in scripts and monitoring loops, so it
must start in about the time Python itself takes. The full client
(:mod:`modloader._control.client`) imports :mod:`socket` (which brings
``enum``, ``selectors`` and ``collections``), :mod:`json` (``re``),
``argparse`` and ``dataclasses``: several times the cost of the interpreter's
own start. This path uses the C modules underneath them, ``_socket`` and
``_json``, speaks the same protocol (:mod:`modloader._control.protocol`,
version 1), and hands every case it does not parse — ``--json``, ``--help``,
unknown options — and every connection it cannot open for a reason other
than "nobody listens" to the full client, *before* anything is sent, so a
command never runs twice.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # not ``typing.TYPE_CHECKING``: typing alone costs ~15 ms here
if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["fast_remote"]

#: Give up waiting for the host after this many seconds (a hung host must not hang scripts).
TIMEOUT = 60.0
_MAX_REPLY = 16 * 1024 * 1024


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
    if not remote or command is None:
        return None
    return namespace, command, socket_path


class _Unsent(Exception):
    """The connection failed before the request left: the full client may retry it."""


def _exchange(path: str, command: str) -> bytes:
    import _json
    import _socket

    request = (
        '{"v":1,"id":1,"op":"execute","line":'
        + _json.encode_basestring_ascii(command)
        + ',"structured":false}\n'
    )
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        sock.settimeout(TIMEOUT)
        try:
            sock.connect(path)
        except (FileNotFoundError, ConnectionRefusedError):
            raise
        except OSError as exc:
            raise _Unsent from exc
        sock.sendall(request.encode("ascii"))
        chunks: list[bytes] = []
        size = 0
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if b"\n" in chunk or size > _MAX_REPLY:
                break
        return b"".join(chunks)
    finally:
        sock.close()


def fast_remote(argv: Sequence[str]) -> int | None:
    """Run a plain ``-rx CMD`` and return the exit status, or ``None`` to use the full client."""
    parsed = _parse(argv)
    if parsed is None:
        return None
    namespace, command, socket_path = parsed
    if socket_path is None:
        from modloader._control.paths import default_socket_path

        socket_path = default_socket_path(namespace)
    try:
        raw = _exchange(socket_path, command)
    except (FileNotFoundError, ConnectionRefusedError):
        sys.stderr.write(f"Unable to connect to remote modloader (does {socket_path} exist?)\n")
        return 1
    except _Unsent:
        return None  # e.g. permissions: nothing was sent, the full client says it properly
    except OSError as exc:
        sys.stderr.write(f"modloader: the host did not answer: {exc}\n")
        return 1
    import _json

    line = raw.partition(b"\n")[0].decode("utf-8", "replace")
    try:
        reply, _ = _json.make_scanner(_ScanContext)(line, 0)  # type: ignore[arg-type]
    except (StopIteration, ValueError):
        reply = None
    if not isinstance(reply, dict):
        sys.stderr.write("modloader: the host sent a malformed reply\n")
        return 1
    error = reply.get("error")
    if isinstance(error, dict):
        sys.stderr.write(f"modloader: {error.get('message', 'the host refused the request')}\n")
        return 1
    output = reply.get("output") or ""
    if output:
        sys.stdout.write(output if output.endswith("\n") else output + "\n")
    sys.stdout.flush()
    code = reply.get("exit_code", 0 if reply.get("ok") else 1)
    return code if isinstance(code, int) else 1


if __name__ == "__main__":  # pragma: no cover - for timing by hand
    status = fast_remote(sys.argv[1:])
    raise SystemExit(1 if status is None else status)
