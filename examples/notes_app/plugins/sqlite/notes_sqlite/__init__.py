"""res_notes_sqlite: a notes-app storage backend keeping notes in ``FOLDER/notes.sqlite3``.

notes-app preloads it and calls its ``open_store`` hook before its other
modules start. ``sqlite stats`` shows the open stores.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from modloader import LoadPriority
from modloader import UsageError
from modloader import hookimpl

if TYPE_CHECKING:
    from modloader import ModuleContext


class SqliteStore:
    """One SQLite file of notes; safe to use from several threads."""

    def __init__(self, path: Path, backend: str) -> None:
        self.path = path
        #: The module that opened it (notes-app holds a reference on it meanwhile).
        self.backend = backend
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = sqlite3.connect(path, check_same_thread=False)
        with self._db:
            self._db.execute("CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, text TEXT)")

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError(f"{self.path} is closed")
        return self._db

    def add(self, text: str) -> int:
        with self._lock, self._conn() as db:
            number = db.execute("INSERT INTO notes (text) VALUES (?)", (text,)).lastrowid
        return int(number or 0)

    def notes(self) -> list[tuple[int, str]]:
        with self._lock:
            return list(self._conn().execute("SELECT id, text FROM notes ORDER BY id"))

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    @property
    def closed(self) -> bool:
        return self._db is None


class SqliteBackend:
    """The module: opens stores, and closes any left open when it is unloaded."""

    description = "Keeps notes in an SQLite file"
    load_priority = LoadPriority.REALTIME_DRIVER

    def __init__(self) -> None:
        self._stores: list[SqliteStore] = []
        self._name = "res_notes_sqlite"

    def load(self, ctx: ModuleContext) -> None:
        self._name = ctx.name
        ctx.register_command("sqlite stats", self._stats, summary="Show the open notes files")

    def unload(self, ctx: ModuleContext) -> None:
        for store in self._stores:
            store.close()
        self._stores.clear()

    @hookimpl
    def open_store(self, folder: Path) -> SqliteStore:
        """The hook notes-app calls (``firstresult``): this backend always answers."""
        folder.mkdir(parents=True, exist_ok=True)
        store = SqliteStore(folder / "notes.sqlite3", self._name)
        self._stores.append(store)
        return store

    def _stats(self, args: Sequence[str]) -> str:
        if args:
            raise UsageError("sqlite stats takes no arguments")
        open_stores = [s for s in self._stores if not s.closed]
        lines = [f"{s.path}: {len(s.notes())} notes" for s in open_stores]
        return "\n".join([*lines, f"{len(open_stores)} open"])
