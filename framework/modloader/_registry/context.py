"""The context object a module's hooks receive."""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable
from collections.abc import Sequence
from typing import TYPE_CHECKING
from typing import Any
from typing import Generic
from typing import Protocol
from typing import TypeVar

from modloader._hostargs import check_name
from modloader._registry.record import Registration
from modloader._registry.refs import acquire
from modloader._registry.states import ModuleState
from modloader.errors import ModuleNotRunningError

if TYPE_CHECKING:
    from modloader._host import Host
    from modloader._registry.calls import OpLock
    from modloader._registry.modlist import ModuleList
    from modloader._registry.record import ModuleRecord
    from modloader._registry.refs import ModuleHandle

__all__ = ["CommandHandlerT", "CommandSink", "LoaderPort", "ModuleContext"]


#: A console command contributed by a module: called with the words after the
#: command's own words; returns the text to print (or ``None``). Raise
#: :class:`~modloader.errors.UsageError` for wrong arguments and
#: :class:`~modloader.errors.CommandError` for a failure.
CommandHandlerT = Callable[[Sequence[str]], "str | None"]

#: The module's settings model (``ModuleContext[MySettings]``); ``Any`` when not given.
if TYPE_CHECKING:  # the default (PEP 696) only matters to type checkers
    from typing_extensions import TypeVar as _TypeVarWithDefault

    SettingsT = _TypeVarWithDefault("SettingsT", default=Any)
else:
    SettingsT = TypeVar("SettingsT")


class CommandSink(Protocol):
    """Where module commands go (the host's one command table)."""

    def add_module_command(
        self, owner: str, words: str, handler: CommandHandlerT, summary: str, usage: str | None
    ) -> Callable[[], None]: ...


class LoaderPort:
    """What a module's context asks of the loader, for the module it speaks for.

    A context speaks for one record: kept past its module's unload (by a thread
    the module left behind), it speaks for nothing, and not for a module loaded
    again under its name. What it asks for then is refused.
    """

    def __init__(
        self, modules: ModuleList, lock: OpLock, commands: Callable[[], CommandSink]
    ) -> None:
        self._modules = modules
        self._lock = lock
        self._commands = commands

    def _owner(self, ctx: ModuleContext[Any]) -> ModuleRecord:
        record = self._modules.find(ctx.name)
        if record is None or record.ctx is not ctx or record.state is ModuleState.REMOVED:
            raise ModuleNotRunningError(ctx.name, "unloaded")
        return record

    def use(self, owner: ModuleContext[Any], name: str, holder: str) -> ModuleHandle[Any]:
        record = self._owner(owner)
        handle = acquire(self._modules.get(name), holder)
        # Given back when the module is removed, if it has not given it back itself.
        if record.taken is None:
            record.taken = weakref.WeakSet()
        record.taken.add(handle)
        return handle

    def add_registration(
        self, owner: ModuleContext[Any], what: str, remove: Callable[[], None]
    ) -> None:
        with self._lock:
            self._owner(owner).registrations.append(Registration(what, remove))

    def add_command(
        self,
        owner: ModuleContext[Any],
        words: str,
        handler: CommandHandlerT,
        summary: str,
        usage: str | None,
    ) -> Callable[[], None]:
        with self._lock:
            name = self._owner(owner).name
            return self._commands().add_module_command(name, words, handler, summary, usage)


class ModuleContext(Generic[SettingsT]):
    """Given to ``load``, ``unload`` and ``reload``: the module's own view of the host.

    Everything a module registers through its context is removed by the loader
    when the module is unloaded, however it is unloaded.
    """

    __slots__ = ("_loader", "_logger", "_settings", "host", "name")

    def __init__(self, name: str, host: Host, loader: LoaderPort) -> None:
        #: The module's own name (its entry point's name).
        self.name = name
        #: The host application's object (:class:`modloader.Host`).
        self.host = host
        self._loader = loader
        self._logger: logging.Logger | None = None
        # Set by the host before load() when the module declares settings_model.
        self._settings: Any = None

    @property
    def settings(self) -> SettingsT:
        """The module's validated, immutable settings (an instance of its ``settings_model``).

        Annotate the context as ``ModuleContext[MySettings]`` for a type checker
        to know the fields. Raises :class:`AttributeError` for a module that
        declares no ``settings_model``.
        """
        if self._settings is None:
            raise AttributeError(
                f"module '{self.name}' declares no settings_model, so ctx.settings is not set"
            )
        return self._settings  # type: ignore[no-any-return]

    @property
    def logger(self) -> logging.Logger:
        """A logger named ``modloader.module.<name>`` (made when first asked for)."""
        if self._logger is None:
            self._logger = logging.getLogger(f"modloader.module.{self.name}")
        return self._logger

    def use(self, name: str, holder: str | None = None) -> ModuleHandle[Any]:
        """Take a reference on another running module; release it (or use ``with``) when done."""
        if holder is not None and not isinstance(holder, str):
            raise TypeError(f"use(): 'holder' must be a str, not {holder!r}")
        return self._loader.use(self, check_name("use", "name", name), holder or self.name)

    def register_command(
        self,
        words: str,
        handler: CommandHandlerT,
        *,
        summary: str = "",
        usage: str | None = None,
    ) -> None:
        """Add a console command (e.g. ``"hello say"``); it goes away when the module unloads.

        :raises ValueError: another module (or the host) already has these words.
        """
        if not isinstance(words, str) or not words.split():  # type: ignore[redundant-expr]
            raise TypeError(f"register_command(): 'words' must be a non-empty str, not {words!r}")
        if not callable(handler):
            raise TypeError(f"register_command(): 'handler' must be callable, not {handler!r}")
        if not isinstance(summary, str):
            raise TypeError(f"register_command(): 'summary' must be a str, not {summary!r}")
        if usage is not None and not isinstance(usage, str):
            raise TypeError(f"register_command(): 'usage' must be a str or None, not {usage!r}")
        remove = self._loader.add_command(self, words, handler, summary, usage)
        self.register(f"command '{' '.join(words.split()).lower()}'", remove)

    def register(self, what: str, remove: Callable[[], None]) -> None:
        """Record anything this module added to the host; ``remove`` is called at unload."""
        if not isinstance(what, str):
            raise TypeError(f"register(): 'what' must be a str, not {what!r}")
        if not callable(remove):
            raise TypeError(f"register(): 'remove' must be callable, not {remove!r}")
        self._loader.add_registration(self, what, remove)

    def __repr__(self) -> str:
        return f"<ModuleContext {self.name!r}>"
