"""The loader's bookkeeping for one module, kept apart from the author's object."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from types import ModuleType
from typing import TYPE_CHECKING
from typing import Any

from modloader._names import name_key
from modloader._registry.states import ModuleState
from modloader.module import LoadPriority
from modloader.module import SupportLevel

if TYPE_CHECKING:
    from modloader._discovery.base import Candidate
    from modloader._registry.context import ModuleContext
    from modloader._registry.refs import ModuleHandle

__all__ = ["ModuleRecord", "Registration", "read_contract"]


@dataclass(slots=True)
class Registration:
    """Something a module added to the host, and how to take it away."""

    what: str
    remove: Callable[[], None]


@dataclass(eq=False, slots=True)
class ModuleRecord:
    """One entry of the module list. A new record is made each time a module is loaded."""

    #: The name as first written (config entry, or the entry point's name).
    name: str
    #: Metadata from discovery; ``None`` for a built-in.
    candidate: Candidate | None = None
    builtin: bool = False
    required: bool = False
    preload: bool = False
    #: Position in the load order (explicit entries first, then autoloaded by name).
    position: int = 0
    state: ModuleState = ModuleState.PENDING
    #: What the entry point named (a class, an instance or a Python module), once imported.
    plugin: Any = None
    #: The object whose hooks are called (the instance for a class).
    obj: Any = None
    ctx: ModuleContext | None = None
    # The contract, read after import.
    description: str | None = None
    support_level: str = SupportLevel.UNKNOWN.value
    load_priority: int = int(LoadPriority.DEFAULT)
    requires: tuple[str, ...] = ()
    optional_modules: tuple[str, ...] = ()
    enhances: tuple[str, ...] = ()
    #: Handles held on this module: handle -> holder label. Its length is the use count.
    holders: dict[ModuleHandle[Any], str] = field(default_factory=dict)
    #: Handles this module holds on its dependencies while running.
    dep_handles: list[ModuleHandle[Any]] = field(default_factory=list)
    registrations: list[Registration] = field(default_factory=list)
    #: Why it is not running (decline reason, import error, ...).
    error: str | None = None
    #: Seconds since the epoch when it started running.
    load_time: float | None = None
    #: Increases with every start; unload and shutdown go in reverse of it.
    start_seq: int = 0
    #: The top-level Python modules of its distribution, once asked for.
    top_levels: frozenset[str] | None = None
    #: The hook of the module's code running now (``import``, ``load``, ``unload``,
    #: ``reload``), or ``None``; operations on a busy module are refused.
    busy: str | None = None
    #: The spellings ``use()`` has looked it up by (the loader's fast-path keys).
    spellings: list[str] = field(default_factory=list)
    #: The name as matched (:func:`~modloader._names.name_key`); set from ``name``.
    key: str = field(init=False)

    def __post_init__(self) -> None:
        self.key = name_key(self.name)

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
    def shown_description(self) -> str:
        """``description``, else the distribution's summary, else the name (SPEC 2)."""
        if self.description:
            return self.description
        if self.candidate is not None and self.candidate.summary:
            return self.candidate.summary
        return self.name

    @property
    def dependencies(self) -> tuple[str, ...]:
        """Names that must be running before this one starts (requires, then enhances)."""
        return self.requires + self.enhances


_LEVELS = frozenset(level.value for level in SupportLevel)


def _names(value: Any, attr: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    try:
        return tuple(str(v) for v in value)
    except TypeError:
        raise TypeError(f"'{attr}' must be a list of module names, not {value!r}") from None


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
    """Copy the optional contract attributes of ``obj`` onto ``record`` (SPEC 2).

    Raises :class:`TypeError`/:class:`ValueError` for a malformed attribute; the
    loader turns that into a decline naming the attribute.
    """
    description = _attr(obj, "description")
    record.description = str(description).splitlines()[0] if description else None
    level = _attr(obj, "support_level") or SupportLevel.UNKNOWN
    record.support_level = str(level).lower()
    if record.support_level not in _LEVELS:
        raise ValueError(
            f"'support_level' must be one of core, extended, deprecated, unknown; not {level!r}"
        )
    priority = _attr(obj, "load_priority")
    priority = LoadPriority.DEFAULT if priority is None else priority
    if isinstance(priority, bool) or not isinstance(priority, int) or not 0 <= priority <= 255:
        raise ValueError(f"'load_priority' must be an int from 0 to 255, not {priority!r}")
    record.load_priority = int(priority)
    for attr in ("requires", "optional_modules", "enhances"):
        setattr(record, attr, _names(_attr(obj, attr) or (), attr))
