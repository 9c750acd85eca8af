"""A small on-disk store for derived data that is expensive to recompute.

What is stored is always derived from inputs that the caller hashes into the
key, so a stale entry is never used: a changed input is a different key.
Writes are atomic (a temporary file in the same folder, then ``os.replace``),
so any number of processes may read and write at once.

* The folder: the one the host was given (``Host(cache_dir=...)``), else
  ``$<PREFIX>CACHE_DIR`` for the host's environment prefix, else
  ``$MODLOADER_CACHE_DIR``, else ``$XDG_CACHE_HOME/modloader``, else
  ``~/.cache/modloader``.
* Switched off: ``<PREFIX>NO_CACHE=1`` or ``MODLOADER_NO_CACHE=1`` (any
  non-empty value but ``0``), or a file named ``.disable`` in the folder.
* Bounded: each kind keeps its :data:`MAX_ENTRIES` most recently written
  entries; older ones are removed when a new one is written.
* Its own files only: an entry is a file named by its key (32 hexadecimal
  digits) and ``.json``; pruning and :meth:`CacheStore.clear` touch nothing
  else, so a folder that holds the user's files too (``$HOME``) keeps them.
* A write cut short (the process killed) leaves a temporary file; the next
  write in that folder removes it once it is :data:`STALE_TEMPORARY_SECONDS`
  old.
* Damage is a miss: an entry is read only if it is a regular file (not
  through a symbolic link, never a FIFO or a device), at most
  :data:`MAX_ENTRY_BYTES` long, valid JSON and nested no deeper than JSON's
  reader allows. Anything else is not read, and the next store replaces it.
* Another user's entries are a miss: an entry is read only from a kind's
  folder that this user owns and nobody else may write to, and only if this
  user owns it (a cache folder shared with others, ``MODLOADER_CACHE_DIR=/tmp/x``,
  could otherwise hold entries planted to change what a host loads). Such a
  folder is not written to either; it is logged once.

A host reads and writes through its own :class:`CacheStore`; the functions
of this module use the one made active with :func:`using` (the host's, while
it reads its configuration) or else the default one (``MODLOADER_`` prefix).
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import os
import stat
import time
from collections.abc import Iterator
from collections.abc import Mapping
from typing import TYPE_CHECKING
from typing import Any
from typing import Final

from modloader._files import xdg_folder

if TYPE_CHECKING:
    from pathlib import Path

__all__ = [
    "MAX_ENTRIES",
    "MAX_ENTRY_BYTES",
    "CacheStore",
    "cache_dir",
    "clear",
    "current",
    "digest",
    "entries",
    "is_enabled",
    "is_entry_name",
    "key_for",
    "load",
    "store",
    "using",
]


#: How many entries of one kind are kept (a new input makes a new key, so old
#: keys would otherwise pile up: every edit of modules.conf, every new venv).
MAX_ENTRIES = 64

#: The largest entry read; a longer file is a miss (a damaged or planted entry
#: must not cost unbounded memory). Tens of thousands of distributions fit.
MAX_ENTRY_BYTES: Final = 32 * 1024 * 1024

#: A temporary file this old was left by a write that was cut short (see ``_prune``).
STALE_TEMPORARY_SECONDS: Final = 600.0

_DEFAULT_PREFIX: Final = "MODLOADER_"
_READ_FLAGS: Final = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
_DIR_FLAGS: Final = _READ_FLAGS | getattr(os, "O_DIRECTORY", 0)


class CacheStore:
    """Where one host keeps its cache, and the reading and writing of it.

    :param folder: the cache folder; ``None``: from the environment (see the module).
    :param env_prefix: the host's environment prefix: ``<prefix>CACHE_DIR`` moves the
        folder and ``<prefix>NO_CACHE`` switches the cache off, before the
        ``MODLOADER_`` ones.
    :param environ: the environment to read (default: :data:`os.environ`, at each use).
    """

    def __init__(
        self,
        folder: str | os.PathLike[str] | None = None,
        *,
        env_prefix: str = _DEFAULT_PREFIX,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.folder = None if folder is None else os.fspath(folder)
        self.env_prefix = env_prefix
        self._environ = environ

    def __repr__(self) -> str:
        return f"<CacheStore {str(self.path())!r}>"

    def _env(self, name: str) -> str:
        environ = os.environ if self._environ is None else self._environ
        for prefix in dict.fromkeys((self.env_prefix.upper(), _DEFAULT_PREFIX)):
            value = environ.get(prefix + name)
            if value:
                return value
        return ""

    def path(self) -> str:
        """The folder the cache lives in (it may not exist yet).

        A string, not a :class:`~pathlib.Path`: a warm start does without :mod:`pathlib`.
        """
        if self.folder is not None:
            return self.folder
        explicit = self._env("CACHE_DIR")
        if explicit:
            return explicit
        base = xdg_folder("XDG_CACHE_HOME", ".cache", environ=self._environ)
        return os.path.join(base, "modloader")

    def is_enabled(self) -> bool:
        """``False`` when switched off by the environment or a ``.disable`` file."""
        flag = self._env("NO_CACHE")
        if flag and flag != "0":
            return False
        return not os.path.exists(os.path.join(self.path(), ".disable"))

    def load(self, kind: str, key: str) -> Any | None:
        """The stored value for ``key``, or ``None`` (absent, damaged, or cache off)."""
        if not self.is_enabled():
            return None
        data = _read_entry(self.path(), kind, f"{key}.json")
        if data is None:
            return None
        try:
            return json.loads(data.decode("utf-8"))
        except (ValueError, RecursionError):  # RecursionError: nested too deeply
            return None

    def store(self, kind: str, key: str, value: Any) -> None:
        """Store ``value`` atomically; failures (read-only disk, no home) are ignored.

        Whatever was at the entry's name (a damaged file, a link, a FIFO) is replaced.
        """
        if not self.is_enabled():
            return
        folder = os.path.join(self.path(), kind)
        tmp_name = None
        try:
            os.makedirs(folder, mode=0o700, exist_ok=True)
            if not _private(os.lstat(folder), folder):
                return
            import tempfile  # only when writing: the warm path never pays for it

            text = json.dumps(value, separators=(",", ":"))  # the C encoder
            fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".json")
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
            os.replace(tmp_name, os.path.join(folder, f"{key}.json"))
            tmp_name = None
            _prune(folder)
        except (OSError, ValueError, RecursionError):
            pass
        finally:
            if tmp_name is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp_name)

    def entries(self, kind: str | None = None) -> list[Path]:
        """The stored files, for inspection (``kind`` narrows to one kind): only files
        named as entries are (see :func:`is_entry_name`)."""
        return [path for path in self._files(kind) if is_entry_name(path.name)]

    def clear(self, kind: str | None = None) -> int:
        """Remove stored entries (of one kind, or all); returns how many were removed.

        Only files named as entries are removed (and this store's temporary files
        left by a write that was cut short): the folder may be one the user keeps
        other files in (``MODLOADER_CACHE_DIR=$HOME``).
        """
        removed = 0
        for path in self._files(kind):
            if is_entry_name(path.name) or _is_temporary_name(path.name):
                with contextlib.suppress(OSError):
                    path.unlink()
                    removed += 1
        return removed

    def _files(self, kind: str | None) -> list[Path]:
        """Every ``*.json`` in the kinds' folders (``.tmp-*`` too), sorted.

        As a read or a write of an entry does, a kind's folder that is a symbolic
        link, another user's, or writable by others is not looked into (the last
        two said in the log): what is there is not the cache's.
        """
        from pathlib import Path  # for inspection only: a warm start does without it

        root = self.path()
        try:
            kinds = [kind] if kind else os.listdir(root)
        except OSError:
            return []
        found: list[Path] = []
        for name in kinds:
            folder = os.path.join(root, name)
            try:
                info = os.lstat(folder)
                if not stat.S_ISDIR(info.st_mode) or not _private(info, folder):
                    continue
                found += [Path(folder, n) for n in os.listdir(folder) if n.endswith(".json")]
            except OSError:
                continue
        return sorted(found)


def _read_entry(root: str, kind: str, name: str) -> bytes | None:
    """The bytes of ``root/kind/name`` if it is a regular file of a sane size, else ``None``.

    Neither the kind's folder nor the entry is followed through a symbolic
    link (``O_NOFOLLOW``); ``O_NONBLOCK`` keeps a FIFO from hanging the open.
    """
    dir_fd = file_fd = -1
    try:
        folder = os.path.join(root, kind)
        dir_fd = os.open(folder, _DIR_FLAGS)
        if not _private(os.fstat(dir_fd), folder):
            return None
        file_fd = os.open(name, _READ_FLAGS, dir_fd=dir_fd)
        info = os.fstat(file_fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_ENTRY_BYTES:
            return None
        if _EUID is not None and info.st_uid != _EUID:  # planted, if the folder ever was shared
            return None
        chunks: list[bytes] = []
        size = 0
        while True:  # read what is there, never more than the cap (the file may grow)
            chunk = os.read(file_fd, min(1 << 20, MAX_ENTRY_BYTES + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if size > MAX_ENTRY_BYTES:
                return None
        return b"".join(chunks)
    except OSError:
        return None
    finally:
        for fd in (file_fd, dir_fd):
            if fd >= 0:
                os.close(fd)


#: This process's user (``None`` where the system has no such notion).
_EUID: Final = os.geteuid() if hasattr(os, "geteuid") else None
#: The kinds' folders found shared with other users, each logged once.
_SHARED: set[str] = set()


def _private(info: os.stat_result, folder: str) -> bool:
    """Whether ``folder`` (its ``stat``) is a real folder of this user that nobody
    else may write to; if not, it is logged (once) and its cache is not used."""
    if _EUID is None:
        return True
    mine = stat.S_ISDIR(info.st_mode) and info.st_uid == _EUID
    if mine and not info.st_mode & 0o022:
        return True
    if folder not in _SHARED:
        _SHARED.add(folder)
        import logging

        if mine:
            why = f"is writable by other users: not used (chmod go-w {folder})"
        elif stat.S_ISDIR(info.st_mode):
            why = (
                f"belongs to uid {info.st_uid}: not used (give this user a cache folder of its own)"
            )
        else:
            why = "is not a folder: not used"
        logging.getLogger("modloader").warning("cache folder %s %s", folder, why)
    return False


def is_entry_name(name: str) -> bool:
    """Whether ``name`` is what an entry's file is called: its key (32 hexadecimal
    digits, :func:`key_for`) and ``.json``. Nothing else in a kind's folder is the
    cache's to prune or clear."""
    return (
        len(name) == 37
        and name.endswith(".json")
        and all(c in "0123456789abcdef" for c in name[:32])
    )


def _is_temporary_name(name: str) -> bool:
    """A file :meth:`CacheStore.store` was writing (``tempfile``: 8 random characters)."""
    middle = name[5:-5]
    return (
        name.startswith(".tmp-")
        and name.endswith(".json")
        and len(middle) == 8
        and all(c in "abcdefghijklmnopqrstuvwxyz0123456789_" for c in middle)
    )


def _prune(folder: str) -> None:
    """Keep the :data:`MAX_ENTRIES` newest entries of ``folder``; a miss costs a rebuild only.

    A temporary file older than :data:`STALE_TEMPORARY_SECONDS` goes too: a write
    cut short (the process killed) left it, and it may be as large as an entry.
    """
    found = []
    stale_before = time.time_ns() - int(STALE_TEMPORARY_SECONDS * 1e9)
    with os.scandir(folder) as it:
        for e in it:
            if is_entry_name(e.name):
                found.append((e.stat(follow_symlinks=False).st_mtime_ns, e.path))
            elif _is_temporary_name(e.name):
                with contextlib.suppress(OSError):
                    if e.stat(follow_symlinks=False).st_mtime_ns < stale_before:
                        os.unlink(e.path)
    if len(found) <= MAX_ENTRIES:
        return
    found.sort()
    for _, path in found[: len(found) - MAX_ENTRIES]:
        with contextlib.suppress(OSError):
            os.unlink(path)


_DEFAULT: Final = CacheStore()
_ACTIVE: contextvars.ContextVar[CacheStore | None] = contextvars.ContextVar(
    "modloader_cache_store", default=None
)


def current() -> CacheStore:
    """The store in use here: the one made active with :func:`using`, else the default."""
    return _ACTIVE.get() or _DEFAULT


@contextlib.contextmanager
def using(store: CacheStore | None) -> Iterator[CacheStore]:
    """Make ``store`` the one the module's functions use, for this block (``None``: no change)."""
    if store is None:
        yield current()
        return
    token = _ACTIVE.set(store)
    try:
        yield store
    finally:
        _ACTIVE.reset(token)


def cache_dir() -> str:
    """The folder the current store lives in (it may not exist yet)."""
    return current().path()


def is_enabled() -> bool:
    """``False`` when the current store is switched off."""
    return current().is_enabled()


try:  # hashlib would also load OpenSSL's bindings (a few ms of every startup) for nothing
    from _blake2 import blake2b as _blake2b
except ImportError:  # pragma: no cover - an interpreter without the C module
    from hashlib import blake2b as _blake2b


def digest(data: bytes) -> str:
    """A short stable digest of ``data`` (hex), for keys made of file contents."""
    return _blake2b(data, digest_size=16).hexdigest()


def key_for(*parts: str) -> str:
    """A stable key for the given inputs."""
    digest = _blake2b(digest_size=16)
    for part in parts:
        digest.update(part.encode("utf-8", "surrogateescape"))
        digest.update(b"\0")
    return digest.hexdigest()


def load(kind: str, key: str) -> Any | None:
    """The current store's value for ``key``, or ``None`` (see :meth:`CacheStore.load`)."""
    return current().load(kind, key)


def store(kind: str, key: str, value: Any) -> None:
    """Store ``value`` in the current store (see :meth:`CacheStore.store`)."""
    current().store(kind, key, value)


def entries(kind: str | None = None) -> list[Path]:
    """The current store's files, for inspection (``kind`` narrows to one kind)."""
    return current().entries(kind)


def clear(kind: str | None = None) -> int:
    """Remove the current store's entries (of one kind, or all); returns how many."""
    return current().clear(kind)
