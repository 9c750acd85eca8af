"""Who may use a control socket: peer credentials, and the checks before a host serves.

Used by the server (:mod:`modloader._control.unix`) and by a host's startup,
which calls :func:`check_socket_path` before it starts any module.
"""

from __future__ import annotations

import contextlib
import os
import socket
import stat
import struct
import sys
from typing import NamedTuple

from modloader._control.paths import prepare_socket_folder
from modloader.errors import AccessDeniedError
from modloader.errors import ControlError
from modloader.errors import SocketInUseError

__all__ = [
    "PeerCredentials",
    "check_peer",
    "check_replaceable",
    "check_socket_path",
    "is_listening",
    "is_stale",
    "peer_credentials",
    "socket_place",
    "unlink_if",
]


class PeerCredentials(NamedTuple):
    """Who is at the other end of a Unix socket, as the kernel says."""

    pid: int
    uid: int
    gid: int


def peer_credentials(sock: socket.socket) -> PeerCredentials | None:
    """The peer's credentials (``SO_PEERCRED``), or ``None`` where the system has no such call."""
    option = getattr(socket, "SO_PEERCRED", None)
    if option is None or sys.platform != "linux":
        return None
    raw = sock.getsockopt(socket.SOL_SOCKET, option, struct.calcsize("3i"))
    pid, uid, gid = struct.unpack("3i", raw)
    return PeerCredentials(pid=pid, uid=uid, gid=gid)


def check_peer(credentials: PeerCredentials | None, host_uid: int) -> None:
    """Let in the host's own user and root; refuse anyone else.

    Where the system cannot tell (``credentials`` is ``None``), the folder's
    and the socket's permissions are the only check.

    :raises AccessDeniedError: naming the refused user.
    """
    if credentials is None or credentials.uid in (host_uid, 0):
        return
    raise AccessDeniedError(
        f"access denied: uid {credentials.uid} (pid {credentials.pid}) is neither "
        f"the host's user (uid {host_uid}) nor root"
    )


def check_socket_path(
    path: str | os.PathLike[str], *, private: bool, workers: bool = False
) -> None:
    """Refuse, before a host starts any module, a socket path it could not serve on.

    The folder is created or checked as :meth:`ControlServer.start` does it
    (:func:`~modloader._control.paths.prepare_socket_folder`), and a live host
    already listening there is refused, unless ``workers`` (the namespace's
    default socket: a further process serves beside it). ``start`` checks both again.

    :raises SocketInUseError: a live host listens on ``path``.
    :raises ControlError: the folder is unsafe, the path too long, or something other
        than a socket is there.
    """
    path = os.fspath(path)
    prepare_socket_folder(path, private=private)
    check_replaceable(path)
    if not workers and is_listening(path):
        raise SocketInUseError(path)


def check_replaceable(path: str) -> None:
    """Nothing is at ``path``, or a socket (a live host's, or one a dead host left).

    :raises ControlError: something else is there (a file, a folder): not replaced.
    """
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(info.st_mode):
        raise ControlError(f"{path} exists and is not a socket; not replacing it")


def is_listening(path: str | os.PathLike[str]) -> bool:
    """``True`` when a live host accepts connections on ``path``.

    A host may call this before its startup, to refuse early rather than after
    starting every module (:meth:`ControlServer.start` checks again).
    """
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(1.0)
    try:
        probe.connect(os.fspath(path))
    except OSError:
        return False
    finally:
        probe.close()
    return True


def socket_place(path: str, identity: tuple[int, int] | None) -> str | None:
    """Where a host whose socket is ``identity`` (device, inode) stands at ``path``:
    ``ours``, ``gone`` (nothing there), ``taken`` (something else), or ``None`` (cannot
    be told)."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return "gone"
    except OSError:
        return None
    return "ours" if (info.st_dev, info.st_ino) == identity else "taken"


def unlink_if(path: str, identity: tuple[int, int] | None) -> None:
    """Remove the socket at ``path`` if it is the one of ``identity`` (this host's): a later
    host may have put its own there in the meantime."""
    if socket_place(path, identity) == "ours":
        with contextlib.suppress(OSError):
            os.unlink(path)


def is_stale(path: str) -> bool:
    """``True`` when ``path`` is a socket nobody listens on (its host has gone)."""
    try:
        info = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISSOCK(info.st_mode) and not is_listening(path)
