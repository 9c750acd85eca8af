"""The control sockets of a namespace's processes: one per process (pre-fork workers).

Several processes of one application (gunicorn workers, ``uvicorn --workers``,
or simply two ``modloader -n NS``) each run a host over the same namespace.
In the namespace's default folder, the first to start takes the namespace's
socket, ``<namespace>.sock``, as a single process always has; each further
one takes ``<namespace>@<pid>.sock`` (``@`` never occurs in a namespace's
file name, so the two forms cannot be confused). ``modloader -rx`` reaches
every socket of the namespace that a live process answers on.

A socket that nobody answers on any more (its process died) is skipped by
the client and removed by the next host that starts in the folder, under an
advisory lock so that two hosts starting at once cannot remove each other's
fresh socket.

Imported by the remote client: standard library only, and cheap.
"""

from __future__ import annotations

import contextlib
import os

TYPE_CHECKING = False  # not ``typing.TYPE_CHECKING``: the remote client must not import typing
if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = [
    "folder_lock",
    "list_sockets",
    "remove_stale_workers",
    "socket_of",
    "socket_pid",
    "worker_socket_path",
]

_SUFFIX = ".sock"


def _stem(primary: str) -> str:
    name = os.path.basename(primary)
    return name[: -len(_SUFFIX)] if name.endswith(_SUFFIX) else name


def worker_socket_path(primary: str, pid: int) -> str:
    """The socket of process ``pid`` beside the namespace's socket ``primary``."""
    return os.path.join(os.path.dirname(primary), f"{_stem(primary)}@{pid}{_SUFFIX}")


def socket_pid(primary: str, path: str) -> int | None:
    """The pid a worker socket's name carries (``None`` for ``primary`` or a foreign name)."""
    name = os.path.basename(path)
    prefix = _stem(primary) + "@"
    if not (name.startswith(prefix) and name.endswith(_SUFFIX)):
        return None
    digits = name[len(prefix) : -len(_SUFFIX)]
    return int(digits) if digits.isdigit() and digits.isascii() else None


def list_sockets(primary: str) -> list[str]:
    """The namespace's socket (if present), then its workers' sockets by pid."""
    folder = os.path.dirname(primary) or "."
    try:
        names = os.listdir(folder)
    except OSError:
        names = []
    workers = []
    for name in names:
        pid = socket_pid(primary, name)
        if pid is not None:
            workers.append((pid, os.path.join(folder, name)))
    found = [primary] if os.path.basename(primary) in names else []
    return found + [path for _, path in sorted(workers)]


def socket_of(primary: str, pid: int) -> str:
    """The socket of the namespace's process ``pid`` (``-r -p PID``, ``RemoteHost(pid=)``).

    :raises ~modloader.errors.ControlError: no process ``pid`` answers on them.
    """
    from modloader._control.client import ControlClient
    from modloader.errors import ControlError

    for path in list_sockets(primary):
        try:
            with ControlClient(path, connect_timeout=2.0, private_folder=True) as client:
                found = client.peer_pid if client.peer_pid is not None else client.hello().pid
        except ControlError:
            continue
        if found == pid:
            return path
    raise ControlError(f"no process {pid} answers on the sockets of {primary}")


def _answers(path: str) -> bool:
    import _socket

    probe = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    probe.settimeout(1.0)
    try:
        probe.connect(path)
    except (ConnectionRefusedError, FileNotFoundError):
        return False
    except OSError:
        return True  # cannot tell (a full backlog, say): leave it alone
    finally:
        probe.close()
    return True


def remove_stale_workers(primary: str) -> list[str]:
    """Remove the worker sockets no process answers on; the paths removed.

    Call it holding :func:`folder_lock`: a host binds and listens under the same
    lock, so a socket seen here is either listening or abandoned.
    """
    import stat

    removed = []
    for path in list_sockets(primary):
        if path == primary:
            continue  # the server replaces a stale namespace socket itself when it binds
        try:
            if not stat.S_ISSOCK(os.lstat(path).st_mode):
                continue
        except OSError:
            continue
        if not _answers(path):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
            removed.append(path)
    return removed


@contextlib.contextmanager
def folder_lock(primary: str) -> Iterator[None]:
    """Hold the namespace's advisory lock (``.<namespace>.lock`` in the socket folder)."""
    import fcntl

    lock_path = os.path.join(os.path.dirname(primary), f".{_stem(primary)}.lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock
