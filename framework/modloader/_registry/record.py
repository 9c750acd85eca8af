"""The loader's bookkeeping for one module, kept apart from the author's object."""

from __future__ import annotations

import logging
from collections.abc import Callable
from collections.abc import Iterable
from types import ModuleType
from typing import TYPE_CHECKING
from typing import Any
from typing import NamedTuple

from modloader._names import name_key
from modloader._registry.states import ModuleState
from modloader.module import LoadPriority
from modloader.module import SupportLevel

if TYPE_CHECKING:
    import weakref

    from modloader._discovery.base import Candidate
    from modloader._registry.context import ModuleContext
    from modloader._registry.refs import ModuleHandle

__all__ = ["ModuleRecord", "Registration", "labels", "read_contract", "remove_registrations"]


_log = logging.getLogger("modloader")


class Registration(NamedTuple):
    """Something a module added to the host, and how to take it away."""

    what: str
    remove: Callable[[], None]


class ModuleRecord:
    """One entry of the module list. A new record is made each time a module is loaded."""

    __slots__ = (
        "builtin", "busy", "candidate", "ctx", "dep_handles", "description", "enhances",
        "error", "given_back", "holders", "key", "load_hook", "load_priority", "load_time",
        "logged", "name", "obj", "optional_modules", "plugin", "position", "preload",
        "registrations", "reload_hook", "required", "requires", "settings_model",
        "shown_description", "shown_order", "spellings", "start_seq", "state", "support_level",
        "taken", "top_levels", "unload_hook",
    )  # fmt: skip

    def __init__(
        self,
        name: str,
        candidate: Candidate | None = None,
        *,
        builtin: bool = False,
        required: bool = False,
        preload: bool = False,
        position: int = 0,
    ) -> None:
        #: The name as first written (config entry, or the entry point's name).
        self.name = name
        #: The name as matched (:func:`~modloader._names.name_key`).
        self.key = name_key(name)
        #: Where ``module show`` lists it: case-insensitively by name.
        self.shown_order = (name.lower(), name)
        #: Metadata from discovery; ``None`` for a built-in.
        self.candidate = candidate
        self.builtin = builtin
        self.required = required
        self.preload = preload
        #: Position in the load order (explicit entries first, then autoloaded by name).
        self.position = position
        self.state = ModuleState.PENDING
        #: What the entry point named (a class, an instance or a Python module), once imported.
        self.plugin: Any = None
        #: The object whose hooks are called (the instance for a class).
        self.obj: Any = None
        self.ctx: ModuleContext | None = None
        # The contract, read after import.
        self.description: str | None = None
        #: ``description``, else the distribution's summary, else the name (SPEC 2): an
        #: attribute, as ``module show`` reads it for every row (see :func:`read_contract`).
        self.shown_description = (candidate.summary if candidate else None) or name
        self.support_level: str = SupportLevel.UNKNOWN.value
        self.load_priority = int(LoadPriority.DEFAULT)
        self.requires: tuple[str, ...] = ()
        self.optional_modules: tuple[str, ...] = ()
        self.enhances: tuple[str, ...] = ()
        #: Its hooks (``None``: it has none) and ``settings_model``, read with the contract.
        self.load_hook: Callable[..., Any] | None = None
        self.unload_hook: Callable[..., Any] | None = None
        self.reload_hook: Callable[..., Any] | None = None
        self.settings_model: Any = None
        #: Handles held on this module: handle -> holder label. Its length is the use count.
        self.holders: dict[ModuleHandle[Any], str] = {}
        #: Handles this module holds on its dependencies while running.
        self.dep_handles: list[ModuleHandle[Any]] = []
        #: Handles it took with ``ctx.use`` (weakly: those it released may go).
        self.taken: weakref.WeakSet[ModuleHandle[Any]] | None = None
        #: Of those, what the loader gave back when it removed the module: "name (holder)".
        self.given_back: tuple[str, ...] = ()
        self.registrations: list[Registration] = []
        #: Why it is not running (decline reason, import error, ...).
        self.error: str | None = None
        #: What its code last raised, as logged then (a decline's report says it once).
        self.logged: str | None = None
        #: Seconds since the epoch when it started running.
        self.load_time: float | None = None
        #: Increases with every start; unload and shutdown go in reverse of it.
        self.start_seq = 0
        #: The top-level Python modules of its distribution, once asked for.
        self.top_levels: frozenset[str] | None = None
        #: The hook of the module's code running now (``import``, ``load``, ``unload``,
        #: ``reload``), or ``None``; operations on a busy module are refused.
        self.busy: str | None = None
        #: The spellings ``use()`` has looked it up by (the loader's fast-path keys).
        self.spellings: list[str] = []

    def __repr__(self) -> str:
        return f"<ModuleRecord {self.name!r} {self.state.value} uses={len(self.holders)}>"

    @property
    def use_count(self) -> int:
        return len(self.holders)

    @property
    def version(self) -> str | None:
        return self.candidate.version if self.candidate else None

    @property
    def dist_name(self) -> str | None:
        return self.candidate.dist_name if self.candidate else None

    @property
    def dependencies(self) -> tuple[str, ...]:
        """Names that must be running before this one starts (requires, then enhances)."""
        return self.requires + self.enhances


_LEVELS = frozenset(level.value for level in SupportLevel)


def _names(value: Any, attr: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,) if value else ()
    try:
        names = tuple(value)  # bytes give numbers, refused below with the rest
    except TypeError:
        names = (value,)
    if not all(isinstance(n, str) for n in names):
        raise TypeError(f"'{attr}' must be a list of module names, not {value!r}")
    return names


def _attr(obj: Any, name: str) -> Any:
    """``getattr(obj, name, None)``; for a Python module, without raising inside when absent."""
    if type(obj) is ModuleType:  # a module's getattr formats an AttributeError for a miss
        namespace = obj.__dict__
        if name in namespace:
            return namespace[name]
        if "__getattr__" not in namespace:
            return None
    return getattr(obj, name, None)


def read_contract(record: ModuleRecord, obj: Any) -> None:
    """Copy the optional contract attributes of ``obj`` onto ``record`` (SPEC 2), its
    hooks and ``settings_model`` included.

    Raises :class:`TypeError`/:class:`ValueError` for a malformed attribute; the
    loader turns that into a decline naming the attribute.
    """
    description = _attr(obj, "description")
    if description is not None and not isinstance(description, str):
        raise TypeError(f"'description' must be text, not {description!r}")
    record.description = description.splitlines()[0] if description else None
    if record.description:
        record.shown_description = record.description
    level = _attr(obj, "support_level") or SupportLevel.UNKNOWN
    support_level = str(level).lower()
    if support_level not in _LEVELS:  # refused, so not shown either: it stays "unknown"
        raise ValueError(
            f"'support_level' must be one of core, extended, deprecated, unknown; not {level!r}"
        )
    record.support_level = support_level
    priority = _attr(obj, "load_priority")
    priority = LoadPriority.DEFAULT if priority is None else priority
    if isinstance(priority, bool) or not isinstance(priority, int) or not 0 <= priority <= 255:
        raise ValueError(f"'load_priority' must be an int from 0 to 255, not {priority!r}")
    record.load_priority = int(priority)
    for attr in ("requires", "optional_modules", "enhances"):
        setattr(record, attr, _names(_attr(obj, attr), attr))
    # Read here, in the import's module call (a property is the module's code too, and
    # may hang), and not again: the host never reads the module's object under its lock.
    record.load_hook = _hook(obj, "load")
    record.unload_hook = _hook(obj, "unload")
    record.reload_hook = _hook(obj, "reload")
    record.settings_model = _attr(obj, "settings_model")


def _hook(obj: Any, name: str) -> Callable[..., Any] | None:
    value = _attr(obj, name)
    if value is not None and not callable(value):  # load = 5 would start doing nothing
        raise TypeError(f"'{name}' must be a method, not {value!r}")
    hook: Callable[..., Any] | None = value
    return hook


def labels(holders: Iterable[object]) -> list[str]:
    """Who holds references, as text, sorted: :meth:`Host.use` takes its ``holder`` as
    given (the hot path checks nothing it need not); what shows holders makes them text."""
    return sorted(map(str, holders))


def remove_registrations(record: ModuleRecord) -> None:
    """Remove everything ``record`` registered, last first (a failure is logged), and give
    back the references it took with ``ctx.use`` and still holds (said in the log).

    A ``remove`` is the module's code: whatever it raises (``SystemExit``,
    ``KeyboardInterrupt`` ...) is the module's, logged, and the next one runs.
    """
    registrations, record.registrations = record.registrations, []
    for registration in reversed(registrations):
        try:
            registration.remove()
        except BaseException:
            _log.warning("%s: removing %s failed", record.name, registration.what, exc_info=True)
    taken, record.taken = record.taken, None
    for handle in sorted(taken, key=lambda h: (h.name, str(h.holder))) if taken else ():
        if handle.held:  # in name order
            handle.release()
            record.given_back += (f"{handle.name} ({handle.holder})",)
            _log.warning(
                "%s: gave back its reference on %s (holder %r), which it still held",
                record.name,
                handle.name,
                handle.holder,
            )
