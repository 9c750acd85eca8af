"""The application: a modloader host with a notes store and filters.

notes-app declares its hooks in :class:`NotesSpecs`; its modules (found in
``notes_app.modules``) implement them with ``@modloader.hookimpl``:

* a **storage backend** is a preloaded module implementing ``open_store``
  (``firstresult``: the first backend that answers opens the store). The core
  opens the store between the preload and load phases and holds a reference
  on the backend while it is open, so ``module unload`` of the backend is
  refused (held by notes store).
* a **filter** is any running module implementing ``filter_note``. Each new
  note passes through every running filter, in the order they started.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any
from typing import Protocol

from modloader import Host
from modloader import StartupError
from modloader import UsageError
from modloader import hookspec

if TYPE_CHECKING:
    from modloader import ModuleContext
    from modloader import ModuleHandle

__all__ = [
    "ENV_PREFIX",
    "NAMESPACE",
    "SHIPPED_CONFIG",
    "Note",
    "NoteStore",
    "NotesApp",
    "NotesSpecs",
    "default_config_path",
    "user_config_path",
]

#: The entry-point group notes-app reads its modules from.
NAMESPACE = "notes_app.modules"
#: Environment variables under this prefix override modules.conf.
ENV_PREFIX = "NOTES_APP_"
#: The modules.conf used when the user has none.
SHIPPED_CONFIG = Path(__file__).with_name("modules.conf")

_log = logging.getLogger("notes_app")


class NoteStore(Protocol):
    """What a storage backend's ``open_store(folder)`` returns."""

    #: The name of the module that opened it (the app holds a reference on it).
    backend: str

    def add(self, text: str) -> int: ...

    def notes(self) -> list[tuple[int, str]]: ...

    def close(self) -> None: ...


class Note:
    """A note on its way to the store: each filter may change :attr:`text`."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return f"Note({self.text!r})"


class NotesSpecs:
    """The hooks notes-app calls. Modules implement them with ``@modloader.hookimpl``."""

    @hookspec(firstresult=True)
    def open_store(self, folder: Path) -> NoteStore | None:
        """Open the notes store in ``folder``; ``None`` lets the next backend answer."""

    @hookspec
    def filter_note(self, note: Note) -> None:
        """Change ``note.text`` before it is stored (called in start order)."""


def _xdg(variable: str, fallback: str) -> Path:
    return Path(os.environ.get(variable) or Path.home() / fallback)


def user_config_path() -> Path:
    """``$XDG_CONFIG_HOME/notes_app/modules.conf`` (``~/.config/...``)."""
    return _xdg("XDG_CONFIG_HOME", ".config") / "notes_app" / "modules.conf"


def default_config_path() -> Path:
    """The user's modules.conf if it exists, else the one shipped with notes-app."""
    user = user_config_path()
    return user if user.exists() else SHIPPED_CONFIG


def default_data_dir() -> Path:
    """``$XDG_DATA_HOME/notes_app`` (``~/.local/share/...``)."""
    return _xdg("XDG_DATA_HOME", ".local/share") / "notes_app"


class NotesApp:
    """The host, the open store and the running filters.

    ``config``: a modules.conf that must exist; ``None`` reads the user's one
    if it exists, else the shipped default.
    """

    def __init__(self, *, config: str | None = None, data_dir: Path | None = None) -> None:
        self.data_dir = data_dir or default_data_dir()
        self.store: NoteStore | None = None
        self._backend: ModuleHandle | None = None
        self.host = self.make_host(
            NAMESPACE,
            config_path=config,
            default_config_path=None if config else default_config_path(),
        )

    def make_host(
        self,
        namespace: str,
        *,
        config_path: str | os.PathLike[str] | None = None,
        default_config_path: str | os.PathLike[str] | None = None,
        env_prefix: str = ENV_PREFIX,
        config_dir: str | os.PathLike[str] | None = None,
    ) -> Host:
        """Make the app's host (``modloader.main`` calls this as its ``host_factory``)."""
        self.host = Host(
            namespace,
            config_path=config_path,
            default_config_path=default_config_path,
            env_prefix=env_prefix,
            config_dir=config_dir,
            builtins={"core_notes": NotesCommands(self)},
            hookspecs=[NotesSpecs],
        )
        return self.host

    # -- life ------------------------------------------------------------------------

    def start(self) -> None:
        """Preload (the backend), open the store, then load everything else."""
        self.host.start(core_init=self.open_store)

    def open_store(self, host: Host) -> None:
        """The core init: the preloaded backend opens the store; the app holds the backend."""
        # Only preloaded modules are running yet: a backend must be preloaded.
        store: NoteStore | None = host.hook.open_store(folder=self.data_dir)
        if store is None:
            raise StartupError(
                "no storage backend is running; preload one in modules.conf "
                "(preload-require = res_notes_sqlite)"
            )
        self.store = store
        self._backend = host.use(store.backend, holder="notes store")
        _log.info("notes store opened by %s in %s", store.backend, self.data_dir)

    def close_store(self) -> None:
        """Close the store and let go of the backend (again: nothing happens)."""
        if self.store is not None:
            self.store.close()
            self.store = None
        if self._backend is not None:
            self._backend.release()
            self._backend = None

    def stop(self, graceful: bool = True) -> object:
        """Close the store, let go of the backend, then stop the host."""
        self.close_store()
        return self.host.stop(graceful)

    # -- filters ---------------------------------------------------------------------

    @property
    def filters(self) -> list[str]:
        """The running filters, in the order notes pass through them."""
        # pluggy keeps implementations in reverse call order.
        return [i.plugin_name for i in reversed(self.host.hook.filter_note.get_hookimpls())]

    # -- notes: the hot path ---------------------------------------------------------

    def add_note(self, text: str) -> int:
        """Pass ``text`` through every running filter and store it; returns its number.

        A filter being unloaded meanwhile is simply not called; one this call
        holds cannot be soft-unloaded until the call returns.
        """
        if self.store is None:
            raise RuntimeError("the notes store is not open")
        note = Note(text)
        self.host.hook.filter_note(note=note)
        return self.store.add(note.text)

    def notes(self) -> list[tuple[int, str]]:
        if self.store is None:
            raise RuntimeError("the notes store is not open")
        return self.store.notes()


class NotesCommands:
    """The built-in module ``core_notes``: ``notes add``, ``notes list``, ``notes filters``."""

    description = "The notes commands"

    def __init__(self, app: NotesApp) -> None:
        self._app = app

    def load(self, ctx: ModuleContext) -> None:
        ctx.register_command(
            "notes add", self._add, summary="Add a note", usage="notes add TEXT..."
        )
        ctx.register_command("notes list", self._list, summary="List the notes")
        ctx.register_command("notes filters", self._filters, summary="List the running filters")

    def unload(self, ctx: ModuleContext) -> None:
        # A built-in is unloaded when the host stops, before the preloaded backend.
        self._app.close_store()

    def _add(self, args: Sequence[str]) -> str:
        if not args:
            raise UsageError("notes add needs the text of the note")
        return f"note {self._app.add_note(' '.join(args))} added"

    def _list(self, args: Sequence[str]) -> str:
        _no_args("notes list", args)
        notes = self._app.notes()
        lines = [f"{number:>4}  {text}" for number, text in notes]
        return "\n".join([*lines, _count(notes, "note")])

    def _filters(self, args: Sequence[str]) -> str:
        _no_args("notes filters", args)
        names = self._app.filters
        return "\n".join([*names, _count(names, "filter")])


def _no_args(command: str, args: Sequence[str]) -> None:
    if args:
        raise UsageError(f"{command} takes no arguments")


def _count(items: Sequence[Any], noun: str) -> str:
    return f"{len(items)} {noun}{'' if len(items) == 1 else 's'}"
