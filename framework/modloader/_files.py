"""Reading files that others put in place: regular files only, never waiting on one.

The configuration files an operator names and the metadata folders of the
installed distributions are read by path. A FIFO under such a name would make
an ordinary ``open()`` wait for a writer, and a device (``/dev/zero``, linked
there) would be read for ever. :func:`open_regular` opens without blocking and
refuses whatever is not a regular file.
"""

from __future__ import annotations

import errno
import os
import stat
from typing import IO
from typing import TYPE_CHECKING
from typing import Any
from typing import overload

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["NotRegularFileError", "open_appending", "open_regular", "xdg_folder"]

#: Non-blocking (a FIFO is not waited on; a regular file ignores the flag), no
#: controlling terminal taken, not inherited by child processes.
_OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_NOCTTY", 0)
    | getattr(os, "O_CLOEXEC", 0)
)


#: Append, create if missing, and never wait (a FIFO nobody reads is ``ENXIO`` at once).
_APPEND_FLAGS = (
    os.O_WRONLY
    | os.O_APPEND
    | os.O_CREAT
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_NOCTTY", 0)
    | getattr(os, "O_CLOEXEC", 0)
)


class NotRegularFileError(OSError):
    """The path is a folder, a device, a FIFO or a socket."""


@overload
def open_regular(path: str) -> IO[bytes]: ...
@overload
def open_regular(path: str, encoding: str, errors: str | None = None) -> IO[str]: ...


def open_regular(path: str, encoding: str | None = None, errors: str | None = None) -> IO[Any]:
    """Open ``path`` for reading if it is a regular file: as text in ``encoding``, or binary.

    :raises NotRegularFileError: it is not a regular file (checked on the open file).
    :raises OSError: it cannot be opened.
    """
    fd = os.open(path, _OPEN_FLAGS)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise NotRegularFileError(f"not a regular file: {path}")
        if encoding is None:
            return open(fd, "rb")
        return open(fd, encoding=encoding, errors=errors)
    except BaseException:
        os.close(fd)
        raise


def there(path: str) -> bool:
    """Whether ``path`` is there to be read, or to fail saying why: it exists, or it is a
    symbolic link in a loop (reading it says so). A link to nothing is not there."""
    try:
        os.stat(path)
    except OSError as exc:
        return exc.errno == errno.ELOOP
    except ValueError:  # a NUL in the path
        return False
    return True


def open_appending(path: str, mode: int) -> int:
    """A descriptor of ``path`` to append to (created with ``mode`` if missing), for
    blocking writes, opened without waiting: a FIFO that no process reads is an
    :class:`OSError` saying so, where an ordinary ``open()`` would wait for a reader
    for good. One that a process reads (a log collector's) is opened as usual."""
    import errno

    try:
        fd = os.open(path, _APPEND_FLAGS, mode)
    except OSError as exc:
        if exc.errno == errno.ENXIO:  # a FIFO, and nobody reading it
            exc.strerror = "it is a FIFO that no process reads"
        raise
    try:
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def xdg_folder(variable: str, *default: str, environ: Mapping[str, str] | None = None) -> str:
    """``$variable`` (``XDG_CACHE_HOME`` ...) when it is an absolute path, else
    ``~/<default>``: the XDG specification has a relative one ignored (it would name
    a folder under whatever the current directory is)."""
    value = (os.environ if environ is None else environ).get(variable)
    if value and os.path.isabs(value):
        return value
    return os.path.join(os.path.expanduser("~"), *default)
