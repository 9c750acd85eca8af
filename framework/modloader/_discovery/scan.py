"""List a namespace's entry points from installed metadata, with a cache that is never stale.

:func:`scan_group` reads the ``*.dist-info`` / ``*.egg-info`` folders on the
search path itself (no plugin code is imported, and :mod:`importlib.metadata`
is not needed) and returns one :class:`Candidate` per entry point of the group,
with the publishing distribution's name, version and summary.

The cache (kind ``"entrypoints"`` of :mod:`modloader._cachestore`) holds one
file per ``(group, search path)``. It keeps, for each path entry, the entry's
stat signature and its list of metadata folders, and for each metadata folder
the stat signature of the files its answer depends on plus that answer. A
warm call reads that one file and stats; whatever changed is read again, and
only that. A signature is ``(st_ino, st_size, st_mtime_ns, st_ctime_ns)``,
at full nanosecond precision, stored as its 64-bit ``hash()`` to keep the file small:

* a path entry: its directory listing is reused while the directory's own
  signature is unchanged (adding, removing or renaming a folder inside it
  changes the directory's mtime and ctime);
* a distribution without ``entry_points.txt``: the folder's signature (creating
  the file inside changes it);
* a distribution with ``entry_points.txt``: that file's signature (an edit in
  place changes mtime, ctime and usually size; a reinstall makes a new inode
  and ctime; removal makes the stat fail);
* a distribution that publishes in the group: also ``METADATA`` (``PKG-INFO``
  for eggs), whose Name, Version and Summary the candidates carry.

Time stamps are only as fine as the file system's clock tick, so a file that
changed within :data:`RACY_NS` of the scan could change again with an equal
signature. Such an answer is stored as *racy* and read afresh on every call
until it is old enough to trust (git calls this the "racily clean" problem).

Distributions are taken in search-path order, and within one directory in
name order; when two share a (normalized) name, the first wins, as in
:mod:`importlib.metadata`. A zip file on the path is read through
:mod:`importlib.metadata`, keyed by the zip's own signature.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import time
from collections.abc import Sequence
from typing import Any

from modloader import _cachestore
from modloader._discovery.base import Candidate
from modloader._files import open_regular
from modloader._names import name_key

__all__ = ["scan_group"]

_log = logging.getLogger("modloader")

#: The cache kind in :mod:`modloader._cachestore`.
CACHE_KIND = "entrypoints"
#: Bump when the layout of a cache file changes; old files are then simply not found.
_FORMAT = "scan-1"
#: Files changed less than this long before a scan are not trusted by their signature.
RACY_NS = 3_000_000_000
#: The longest ``entry_points.txt`` read (the largest real ones are some tens of kB).
MAX_ENTRY_POINTS_CHARS = 4 * 1024 * 1024
#: The most of a ``METADATA`` read to find its Name, Version and Summary headers.
MAX_HEADER_CHARS = 1024 * 1024

_ABSENT = (-1, -1, -1, -1)
_META_SUFFIXES = (".dist-info", ".egg-info")
_NORMALIZE = re.compile(r"[-_.]+")
_WANTED_HEADERS = frozenset(("name", "version", "summary"))
# Relative stats through a directory descriptor walk one path component, not the whole path.
_STAT_DIR_FD = os.stat in os.supports_dir_fd and hasattr(os, "O_DIRECTORY")
# hash() of a tuple of ints is the same in every process of one interpreter build, no more.
_INTERPRETER = f"{sys.implementation.cache_tag}-{sys.hash_info.width}"
_BAD_CACHE = (TypeError, ValueError, LookupError, AttributeError, RecursionError)
# Metadata folder names' distribution keys (see _dist_key), as met.
_DIST_KEYS: dict[str, str] = {}
# Each (cache folder, key)'s slots as this process's last scan of it left them (``wanted``).
_LAST: dict[tuple[str, str], list[Any]] = {}

# One distribution's answer for one group: [dist_name, version, summary, [[name, value], ...]].
_Plugin = list[Any]
# A cached record: [signature, racy, has entry_points.txt, plugin or None].
_Record = list[Any]


def scan_group(
    group: str,
    *,
    path: Sequence[str] | None = None,
    use_cache: bool = True,
    cache: _cachestore.CacheStore | None = None,
    wanted: str | None = None,
) -> list[Candidate]:
    """Every entry point of ``group`` on ``path`` (default :data:`sys.path`), as metadata.

    No plugin code is imported. Each call sees the files as they are now: a
    distribution installed, removed, upgraded or reinstalled since the last call
    (in this process or any other) is seen at once.

    :param group: the entry-point group (the host's namespace).
    :param path: the folders to search, in order; :data:`sys.path` (read at call
        time) when ``None``. Relative entries are taken from the current directory.
    :param use_cache: ``False`` reads every folder afresh and leaves the cache alone.
    :param cache: the host's cache store (default: :func:`modloader._cachestore.current`).
        A damaged cache file is a miss: everything is read afresh and the file rewritten.
    :param wanted: an entry-point name: only that name's entry points are returned, and
        after a scan of the same group and path in this process only what they depend on
        is checked: the path folders (a new distribution is read) and the distributions
        that publish the name; the others are taken as that scan left them.
    """
    entries = [os.path.abspath(p) for p in (sys.path if path is None else path)]
    store = _cachestore.current() if cache is None else cache
    cached = use_cache and store.is_enabled()
    if not cached:
        return _Scan(group, cached=False, wanted=wanted).run(entries, [])
    key = _cachestore.key_for(_FORMAT, _INTERPRETER, group, *entries)
    old_slots: list[Any] = []
    last = _LAST.get((store.path(), key)) if wanted is not None else None
    if last is not None:
        old_slots = last
    else:
        old: Any = store.load(CACHE_KIND, key)
        if isinstance(old, dict) and old.get("group") == group and old.get("path") == entries:
            found = old.get("entries")
            if isinstance(found, list) and len(found) == len(entries):
                old_slots = found
    scan = _Scan(group, cached=True, wanted=wanted, trust=last is not None)
    try:
        candidates = scan.run(entries, old_slots)
    except _BAD_CACHE:  # a damaged cache file: read everything afresh
        scan = _Scan(group, cached=True, wanted=wanted)
        candidates = scan.run(entries, [])
    if scan.dirty and not scan.trust:  # the file keeps fully checked scans only
        value = {"group": group, "path": entries, "entries": scan.slots}
        store.store(CACHE_KIND, key, value)
    _LAST[(store.path(), key)] = scan.slots
    return candidates


class _Scan:
    """One call's walk over the path; collects candidates and notes whether the cache changed."""

    def __init__(
        self, group: str, *, cached: bool, wanted: str | None = None, trust: bool = False
    ) -> None:
        self.group = group
        self.cached = cached
        #: Only this name's entry points are returned: the lower-cased names it matches.
        self.wanted = None
        if wanted is not None:
            key = name_key(wanted)
            self.wanted = frozenset((key, f"{key}.so"))
        #: Records that do not publish ``wanted`` are taken unchecked.
        self.trust = trust and wanted is not None
        self.racy_after_ns = time.time_ns() - RACY_NS
        self.candidates: list[Candidate] = []
        self.slots: list[list[Any]] = []
        self.seen: set[str] = set()
        self.dirty = False
        self.prefix = ""

    def run(self, entries: list[str], old_slots: list[Any]) -> list[Candidate]:
        for index, entry in enumerate(entries):
            prior = old_slots[index] if old_slots else None
            valid = isinstance(prior, list) and len(prior) == 4
            self.slots.append(self._entry(entry, prior if valid else None))
        return self.candidates

    # -- path entries -------------------------------------------------------------------------

    def _entry(self, entry: str, prior: list[Any] | None) -> list[Any]:
        """Scan one path entry; its cache slot is ``[signature, racy, names, records]``.

        ``names`` lists every metadata folder in the entry; ``records`` is parallel
        to it, ``None`` where an earlier distribution of the same name shadows it.
        """
        st = _stat(entry)
        self.prefix = os.path.join(entry, "")  # entry + "/": what a folder's name is put after
        if st is not None and not _is_dir(st):
            return self._zip_entry(entry, st, prior)
        sig = _sig(st)
        racy = self._racy(st)
        if prior is not None and prior[1] is False and prior[0] == sig and st is not None:
            names = prior[2]
            old_records: list[Any] = prior[3]
            if len(old_records) != len(names):
                raise ValueError("damaged cache slot")
        else:
            names = _meta_folders(entry)
            if prior is None or prior[0] != sig or prior[1] != racy or prior[2] != names:
                self.dirty = True
            by_name: dict[str, Any] = {}
            if prior is not None and isinstance(prior[2], list) and isinstance(prior[3], list):
                by_name = dict(zip(prior[2], prior[3], strict=False))
            old_records = [by_name.get(name) for name in names]
        fd = _open_dir(entry) if self.cached and names else None
        records: list[Any] = []
        add, seen, known = records.append, self.seen, _DIST_KEYS
        trust, wants = self.trust, self._publishes_wanted
        try:
            for name, record in zip(names, old_records, strict=True):
                norm = known.get(name) or _dist_key(entry, name)
                if norm in seen:
                    add(None)  # shadowed by an earlier distribution of the same name
                    continue
                seen.add(norm)
                # Trusted: taken as this process's last scan left it, unchecked.
                if trust and record and not record[1] and not wants(record[3]):
                    add(record)
                    continue
                add(self._dist(entry, fd, name, record))
        finally:
            if fd is not None:
                os.close(fd)
        return [sig, racy, names, records]

    def _zip_entry(self, entry: str, st: os.stat_result, prior: list[Any] | None) -> list[Any]:
        """A zip (or other file) on the path: read through importlib.metadata, keyed by its stat."""
        sig = _sig(st)
        if prior is not None and prior[0] == sig and prior[1] is False:
            dists = prior[2]
        else:
            dists = _read_zip(entry, self.group)
            self.dirty = True
        for norm, plugin in dists:
            if norm in self.seen:
                continue
            self.seen.add(norm)
            if plugin is not None:
                self._emit(plugin)
        return [sig, self._racy(st), dists, None]

    # -- distributions ------------------------------------------------------------------------

    def _dist(self, entry: str, fd: int | None, name: str, record: Any) -> _Record:
        """One metadata folder: reuse its cached record if its files are unchanged."""
        if self.cached and isinstance(record, list) and len(record) == 4 and record[1] is False:
            plugin = record[3]
            if record[0] == self._current_sig(entry, fd, name, record[2], plugin is not None):
                if plugin is not None:
                    self._emit(plugin, name)
                return record
        new = self._read_dist(os.path.join(entry, name))
        if new != record:
            self.dirty = True
        if new[3] is not None:
            self._emit(new[3], name)
        return new

    def _publishes_wanted(self, plugin: _Plugin | None) -> bool:
        if plugin is None or self.wanted is None:
            return False
        for ep in plugin[3]:
            if ep[0].lower() in self.wanted:  # names are stored stripped
                return True
        return False

    def _current_sig(
        self, entry: str, fd: int | None, name: str, has_eps: bool, is_plugin: bool
    ) -> int:
        """The signature of the files a record depends on, as they are now."""
        if not has_eps:
            return _sig(_stat_in(entry, fd, name))
        ep_st = _stat_in(entry, fd, f"{name}/entry_points.txt")
        if not is_plugin:
            return _sig(ep_st)
        meta_st = _stat_in(entry, fd, f"{name}/{_metadata_file(name)}")
        return _sig2(ep_st, meta_st)

    def _read_dist(self, folder: str) -> _Record:
        """Read a metadata folder afresh: ``[signature, racy, has_eps, plugin]``."""
        ep_path = os.path.join(folder, "entry_points.txt")
        # Stat before reading, so that a change made while we read shows as a new signature.
        ep_st = _stat(ep_path) if self.cached else None
        text = _read_text(ep_path)
        if text is None:
            folder_st = _stat(folder) if self.cached else None
            return [_sig(folder_st), self._racy(folder_st), False, None]
        eps = _group_entry_points(text, self.group, ep_path)
        if not eps:
            return [_sig(ep_st), self._racy(ep_st), True, None]
        meta_path = os.path.join(folder, _metadata_file(folder))
        meta_st = _stat(meta_path) if self.cached else None
        headers = _read_headers(meta_path)
        plugin = [headers.get("name"), headers.get("version"), headers.get("summary"), eps]
        racy = self._racy(ep_st) or self._racy(meta_st)
        return [_sig2(ep_st, meta_st), racy, True, plugin]

    def _emit(self, plugin: _Plugin, folder: str | None = None) -> None:
        """Candidates for ``plugin``'s entry points; ``folder``: its metadata folder in the
        path entry being scanned (``None``: in a zip)."""
        dist_name, version, summary, eps = plugin
        origin = None if folder is None else self.prefix + folder
        group, wanted, candidates = self.group, self.wanted, self.candidates
        for name, value in eps:
            if wanted is None or name.lower() in wanted:
                candidates.append(
                    Candidate(name, value, group, dist_name, version, summary, origin)
                )

    def _racy(self, st: os.stat_result | None) -> bool:
        """Whether a signature is too fresh to be trusted on the next call."""
        if st is None:
            return False  # absent: whatever appears later has a signature of its own
        return max(st.st_mtime_ns, st.st_ctime_ns) >= self.racy_after_ns


# -- file system helpers ----------------------------------------------------------------------


def _stat(path: str) -> os.stat_result | None:
    try:
        return os.stat(path)
    except (OSError, ValueError):
        return None


def _open_dir(entry: str) -> int | None:
    if not _STAT_DIR_FD:
        return None
    try:
        return os.open(entry, os.O_RDONLY | os.O_DIRECTORY)
    except (OSError, ValueError):
        return None


def _stat_in(entry: str, fd: int | None, rel: str) -> os.stat_result | None:
    """Stat ``entry/rel``, relative to the open directory ``fd`` when there is one."""
    try:
        if fd is not None:
            return os.stat(rel, dir_fd=fd)
        return os.stat(os.path.join(entry, rel))
    except (OSError, ValueError):
        return None


def _key(st: os.stat_result | None) -> tuple[int, int, int, int]:
    if st is None:
        return _ABSENT
    return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _sig(st: os.stat_result | None) -> int:
    """A file's signature: a 64-bit digest of its inode, size, mtime and ctime (in ns)."""
    return hash(_key(st))


def _sig2(first: os.stat_result | None, second: os.stat_result | None) -> int:
    return hash((_key(first), _key(second)))


def _dist_key(entry: str, name: str) -> str:
    """The normalized distribution name a metadata folder is deduplicated by.

    As :mod:`importlib.metadata` does: the folder name up to the first ``-``,
    with runs of ``-_.`` made one ``_``, lower-cased; an egg's ``EGG-INFO``
    takes the egg's name.
    """
    if name == "EGG-INFO":
        base = os.path.basename(entry).lower()
        return base.rpartition(".")[0].partition("-")[0].replace("-", "_")
    key = _DIST_KEYS.get(name)
    if key is None:
        key = name.rpartition(".")[0].partition("-")[0].lower()
        if "." in key or "__" in key:
            key = _NORMALIZE.sub("_", key)
        _DIST_KEYS[name] = key
    return key


def _is_dir(st: os.stat_result) -> bool:
    return (st.st_mode & 0o170000) == 0o040000


def _meta_folders(entry: str) -> list[str]:
    """The ``*.dist-info`` / ``*.egg-info`` names in a directory, and ``EGG-INFO`` of an egg."""
    try:
        children = os.listdir(entry)
    except (OSError, ValueError):
        return []
    # Case-insensitive, as importlib.metadata; every such name has a "-", most package names none.
    names = [
        c
        for c in children
        if "-" in c and (c.endswith(_META_SUFFIXES) or c.lower().endswith(_META_SUFFIXES))
    ]
    names.sort()
    if entry.lower().endswith(".egg") and "EGG-INFO" in children:
        names.append("EGG-INFO")
    return names


def _metadata_file(folder: str) -> str:
    return "METADATA" if folder.lower().endswith(".dist-info") else "PKG-INFO"


def _normalize(name: str) -> str:
    return _NORMALIZE.sub("_", name).lower()


def _read_text(path: str) -> str | None:
    """An ``entry_points.txt``; ``None`` when it cannot be read, ``""`` (no entry points,
    said in the log) when it is larger than any real one (:data:`MAX_ENTRY_POINTS_CHARS`)."""
    try:
        with open_regular(path, "utf-8", "replace") as fh:
            text = fh.read(MAX_ENTRY_POINTS_CHARS + 1)
    except (OSError, ValueError):
        return None
    if len(text) > MAX_ENTRY_POINTS_CHARS:
        _log.warning(
            "%s is longer than %d characters: damaged, its entry points are not read",
            path,
            MAX_ENTRY_POINTS_CHARS,
        )
        return ""  # read again once the file changes: its signature is kept
    return text


def _group_entry_points(text: str, group: str, path: str = "") -> list[list[str]]:
    """The ``[name, value]`` pairs of one section, parsed as :mod:`importlib.metadata` does.

    Lines are stripped; blank lines and ``#`` comments are skipped; a line without
    ``=`` is skipped here, said in the log when it is in ``group`` (importlib.metadata
    raises on it, so the publisher's own tools fail on it too).
    """
    found: list[list[str]] = []
    section: str | None = None
    if "\ufffd" in text and f"[{group}]" in text:  # read with replacement characters
        _log.warning(
            "%s is not valid UTF-8 (importlib.metadata cannot read it): what it publishes "
            "in [%s] may be missing here",
            path,
            group,
        )
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line.strip("[]")
            continue
        if section == group:
            name, sep, value = line.partition("=")
            if sep:
                found.append([name.strip(), value.strip()])
            else:
                _log.warning(
                    "%s:%d: %r in [%s] is not an entry point (it has no '='); ignored",
                    path,
                    number,
                    line[:200],
                    group,
                )
    return found


def _read_headers(path: str) -> dict[str, str]:
    """Name, Version and Summary from a core-metadata file, reading only its header block."""
    headers: dict[str, str] = {}
    budget = MAX_HEADER_CHARS  # a damaged file (one endless line) is not read for ever
    try:
        with open_regular(path, "utf-8", "replace") as fh:
            last: str | None = None
            while budget > 0:
                line = fh.readline(budget)
                budget -= len(line)
                if not line or line in ("\n", "\r\n"):
                    break  # the end, or the body (long description) follows
                if budget <= 0 and not line.endswith("\n"):
                    break  # cut short by the budget: not a header
                if line[:1] in (" ", "\t"):
                    if last is not None:  # a folded header continues
                        headers[last] = f"{headers[last]} {line.strip()}".strip()
                    continue
                key, sep, value = line.partition(":")
                key = key.strip().lower()
                last = None
                if sep and key in _WANTED_HEADERS and key not in headers:
                    headers[key] = value.strip()
                    last = key
                if len(headers) == len(_WANTED_HEADERS) and last is None:
                    break
    except (OSError, ValueError):
        pass
    return headers


def _read_zip(entry: str, group: str) -> list[list[Any]]:
    """``[normalized name, plugin or None]`` per distribution in a zip on the path."""
    from modloader._discovery._metadata import distributions_in  # only zips need it

    result: list[list[Any]] = []
    for name, version, summary, entry_points in distributions_in(entry):
        eps = [[ep.name, ep.value] for ep in entry_points if ep.group == group]
        plugin = [name, version, summary, eps] if eps else None
        result.append([_normalize(name or ""), plugin])
    return result
