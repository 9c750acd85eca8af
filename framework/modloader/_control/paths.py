"""Where the control socket lives, and the checks on its folder (SPEC 7).

Imported by the remote client: standard library only, and cheap (plain
:mod:`os.path` strings: no :mod:`pathlib`, no :mod:`tempfile`).
"""

from __future__ import annotations

import os
import stat

TYPE_CHECKING = False  # not ``typing.TYPE_CHECKING``: the remote client must not import typing
if TYPE_CHECKING:
    from typing import Final

__all__ = [
    "MAX_SOCKET_PATH_BYTES",
    "default_socket_path",
    "folder_problem",
    "peer_problem",
    "prepare_socket_folder",
    "socket_folder_problem",
]

#: ``sun_path`` holds 108 bytes on Linux (104 on the BSDs), its final NUL included.
MAX_SOCKET_PATH_BYTES: Final = 103

_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")


def _file_name(namespace: str) -> str:
    """``namespace`` made safe as one file name (``myapp.modules`` stays as it is)."""
    name = "".join(c if c in _SAFE else "_" for c in namespace).lstrip(".")
    return (name or "modloader") + ".sock"


def _temp_root() -> str:
    for var in ("TMPDIR", "TEMP", "TMP"):
        value = os.environ.get(var)
        if value and os.path.isdir(value):
            return value
    return "/tmp"  # noqa: S108 - the per-user folder under it is checked before use


def default_socket_path(namespace: str) -> str:
    """The control socket of the host that reads ``namespace``.

    ``$XDG_RUNTIME_DIR/modloader/<namespace>.sock`` when that variable names a
    folder, else ``<temp>/modloader-<uid>/<namespace>.sock`` with ``<temp>``
    taken from ``$TMPDIR`` (then ``$TEMP``, ``$TMP``, ``/tmp``).
    """
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isabs(runtime) and os.path.isdir(runtime):
        folder = os.path.join(runtime, "modloader")
    else:
        folder = os.path.join(_temp_root(), f"modloader-{os.geteuid()}")
    return os.path.join(folder, _file_name(namespace))


def _describe_mode(mode: int) -> str:
    return oct(stat.S_IMODE(mode))[2:].rjust(4, "0")


def prepare_socket_folder(path: str, *, private: bool) -> None:
    """Create or check the folder that will hold the socket ``path``.

    A missing folder is created owner-only (0700), its parents as needed.
    ``private`` (the default socket folder): an existing folder must be a real
    folder owned by this user and writable by nobody else. Otherwise (a folder
    the operator chose with ``-s``): it must be owned by this user or root, and
    if others may write to it, it must be sticky (as ``/tmp`` is), so nobody
    else can remove or replace the socket.

    :raises ControlError: with the reason, when the folder is unsafe or the path too long.
    """
    from modloader.errors import ControlError

    encoded = os.fsencode(path)
    if len(encoded) > MAX_SOCKET_PATH_BYTES:
        raise ControlError(
            f"control socket path {path} is {len(encoded)} bytes long; "
            f"the limit is {MAX_SOCKET_PATH_BYTES} (choose a shorter one with -s)"
        )
    folder = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(folder, mode=0o700, exist_ok=False)
    except FileExistsError:
        pass
    except OSError as exc:
        raise ControlError(f"cannot create the control socket folder {folder}: {exc}") from exc
    else:
        # mkdir's mode is filtered by the umask; 0700 is never more than asked.
        os.chmod(folder, 0o700)
        return
    problem = folder_problem(folder, private=private)
    if problem is not None:
        raise ControlError(problem)


def socket_folder_problem(path: str, *, private: bool) -> str | None:
    """:func:`folder_problem` of the folder of the socket ``path``, for a client: ``None``
    when that folder is not there either (then nothing listens in it)."""
    folder = os.path.dirname(os.path.abspath(path))
    return folder_problem(folder, private=private) if os.path.lexists(folder) else None


def folder_problem(folder: str, *, private: bool) -> str | None:
    """Why ``folder`` must not hold a control socket, or ``None`` when it may.

    The host checks the folder before it binds, and the remote client before
    it connects (a socket in a folder another user controls may be an
    impostor's). ``private`` (the default socket folder): a real folder, not a
    symbolic link, owned by this user and writable by nobody else. Otherwise
    (a folder chosen with ``-s``): owned by this user or root, and if others
    may write to it, sticky (as ``/tmp`` is); it may be reached through a
    symbolic link only if that link belongs to this user or root.
    """
    try:
        info = os.lstat(folder)
    except OSError as exc:
        return f"cannot check the control socket folder {folder}: {exc.strerror or exc}"
    uid = os.geteuid()
    if private:
        if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
            return f"refusing {folder} for the control socket: it is not a folder"
        if info.st_uid != uid:
            return (
                f"refusing {folder} for the control socket: it belongs to uid {info.st_uid}, "
                f"not to this user (uid {uid})"
            )
        if info.st_mode & 0o022:
            return (
                f"refusing {folder} for the control socket: others may write to it "
                f"(mode {_describe_mode(info.st_mode)}; run 'chmod 700 {folder}')"
            )
        return None
    if stat.S_ISLNK(info.st_mode):
        if info.st_uid not in (uid, 0):
            # Whoever owns the link can point it elsewhere at any time.
            return (
                f"refusing {folder} for the control socket: it is a symbolic link that "
                f"belongs to uid {info.st_uid}, neither this user nor root"
            )
        try:
            info = os.stat(folder)
        except OSError as exc:
            return f"cannot check the control socket folder {folder}: {exc.strerror or exc}"
    if not stat.S_ISDIR(info.st_mode):
        return f"refusing {folder} for the control socket: it is not a folder"
    if info.st_uid not in (uid, 0):
        return (
            f"refusing {folder} for the control socket: it belongs to uid {info.st_uid}, "
            "neither this user nor root"
        )
    if info.st_mode & 0o022 and not info.st_mode & stat.S_ISVTX:
        return (
            f"refusing {folder} for the control socket: others may write to it and it is "
            f"not sticky (mode {_describe_mode(info.st_mode)})"
        )
    return None


def peer_problem(peer_uid: int, peer_pid: int, path: str) -> str | None:
    """Why the process listening on ``path`` must not be sent a command, or ``None``.

    The remote client asks the kernel who the server is (``SO_PEERCRED``)
    before it sends anything: this user, or root; anyone else may be an
    impostor waiting for commands.
    """
    uid = os.geteuid()
    if peer_uid in (uid, 0):
        return None
    return (
        f"refusing to talk to {path}: the process listening there (pid {peer_pid}) "
        f"runs as uid {peer_uid}, neither this user (uid {uid}) nor root"
    )
