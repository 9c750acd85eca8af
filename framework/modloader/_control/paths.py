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

__all__ = ["MAX_SOCKET_PATH_BYTES", "default_socket_path", "prepare_socket_folder"]

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
    try:
        info = os.lstat(folder)
    except OSError as exc:
        raise ControlError(f"cannot check the control socket folder {folder}: {exc}") from exc
    uid = os.geteuid()
    if private:
        if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
            raise ControlError(f"refusing {folder} for the control socket: it is not a folder")
        if info.st_uid != uid:
            raise ControlError(
                f"refusing {folder} for the control socket: it belongs to uid {info.st_uid}, "
                f"not to this user (uid {uid})"
            )
        if info.st_mode & 0o022:
            raise ControlError(
                f"refusing {folder} for the control socket: others may write to it "
                f"(mode {_describe_mode(info.st_mode)}; run 'chmod 700 {folder}')"
            )
        return
    info = os.stat(folder)  # a chosen folder may be reached through a symbolic link
    if not stat.S_ISDIR(info.st_mode):
        raise ControlError(f"refusing {folder} for the control socket: it is not a folder")
    if info.st_uid not in (uid, 0):
        raise ControlError(
            f"refusing {folder} for the control socket: it belongs to uid {info.st_uid}, "
            "neither this user nor root"
        )
    if info.st_mode & 0o022 and not info.st_mode & stat.S_ISVTX:
        raise ControlError(
            f"refusing {folder} for the control socket: others may write to it and it is "
            f"not sticky (mode {_describe_mode(info.st_mode)})"
        )
