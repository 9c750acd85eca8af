"""A small on-disk store for derived data that is expensive to recompute.

What is stored is always derived from inputs that the caller hashes into the
key, so a stale entry is never used: a changed input is a different key.
Writes are atomic (a temporary file in the same folder, then ``os.replace``),
so any number of processes may read and write at once.

* The folder: ``$MODLOADER_CACHE_DIR``, else ``$XDG_CACHE_HOME/modloader``,
  else ``~/.cache/modloader``.
* Switched off: ``MODLOADER_NO_CACHE=1`` (any non-empty value but ``0``), or a
  file named ``.disable`` in the folder.
* Bounded: each kind keeps its :data:`MAX_ENTRIES` most recently written
  entries; older ones are removed when a new one is written.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path
from typing import Any

__all__ = ["cache_dir", "clear", "entries", "is_enabled", "key_for", "load", "store"]


#: How many entries of one kind are kept (a new input makes a new key, so old
#: keys would otherwise pile up: every edit of modules.conf, every new venv).
MAX_ENTRIES = 64


def cache_dir() -> Path:
    """The folder the cache lives in (it may not exist yet)."""
    explicit = os.environ.get("MODLOADER_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "modloader"


def is_enabled() -> bool:
    """``False`` when switched off by the environment or a ``.disable`` file."""
    flag = os.environ.get("MODLOADER_NO_CACHE", "")
    if flag and flag != "0":
        return False
    return not (cache_dir() / ".disable").exists()


def key_for(*parts: str) -> str:
    """A stable key for the given inputs."""
    digest = hashlib.blake2b(digest_size=16)
    for part in parts:
        digest.update(part.encode("utf-8", "surrogateescape"))
        digest.update(b"\0")
    return digest.hexdigest()


def _path(kind: str, key: str) -> Path:
    return cache_dir() / kind / f"{key}.json"


def load(kind: str, key: str) -> Any | None:
    """The stored value for ``key``, or ``None`` (absent, unreadable, or cache off)."""
    if not is_enabled():
        return None
    try:
        with open(_path(kind, key), encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return None


def store(kind: str, key: str, value: Any) -> None:
    """Store ``value`` atomically; failures (read-only disk, no home) are ignored."""
    if not is_enabled():
        return
    folder = cache_dir() / kind
    tmp_name = None
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        import tempfile  # only when writing: the warm path never pays for it

        text = json.dumps(value, separators=(",", ":"))  # the C encoder; json.dump is pure Python
        fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp_name, folder / f"{key}.json")
        tmp_name = None
        _prune(folder)
    except OSError:
        pass
    finally:
        if tmp_name is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp_name)


def _prune(folder: Path) -> None:
    """Keep the :data:`MAX_ENTRIES` newest entries of ``folder``; a miss costs a rebuild only."""
    with os.scandir(folder) as it:
        found = [(e.stat().st_mtime_ns, e.path) for e in it if e.name.endswith(".json")]
    if len(found) <= MAX_ENTRIES:
        return
    found.sort()
    for _, path in found[: len(found) - MAX_ENTRIES]:
        with contextlib.suppress(OSError):
            os.unlink(path)


def entries(kind: str | None = None) -> list[Path]:
    """The stored files, for inspection (``kind`` narrows to one kind)."""
    root = cache_dir()
    pattern = f"{kind}/*.json" if kind else "*/*.json"
    return sorted(root.glob(pattern)) if root.is_dir() else []


def clear(kind: str | None = None) -> int:
    """Remove stored entries (of one kind, or all); returns how many were removed."""
    removed = 0
    for path in entries(kind):
        with contextlib.suppress(OSError):
            path.unlink()
            removed += 1
    return removed
