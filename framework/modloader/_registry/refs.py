"""Use counts as handles (SPEC 6).

A handle is one reference on a running module. The use count of a module is
the number of handles held on it; each records who holds it. Taking and
releasing a handle is the hot path of every host, so it takes no lock: under
the interpreter lock a dict insert and a dict pop are atomic, and the
insert-then-check order below pairs with the unloader's set-state-then-check
order so that a soft unload never removes a module a handle was granted on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from typing import Any
from typing import Generic
from typing import TypeVar

from modloader._registry.states import ModuleState
from modloader.errors import ModuleNotRunningError
from modloader.errors import StaleHandleError

if TYPE_CHECKING:
    from modloader._registry.record import ModuleRecord

__all__ = ["ModuleHandle", "acquire"]

#: The type of the module's object, for a caller who knows it.
T = TypeVar("T")

_RUNNING = ModuleState.RUNNING
_REMOVED = ModuleState.REMOVED


class ModuleHandle(Generic[T]):
    """One reference on a running module; a context manager. Releasing twice is harmless.

    ``ModuleHandle[MyModule]`` says what :attr:`obj` is::

        handle: ModuleHandle[MyModule] = host.use("res_mine")
    """

    __slots__ = ("__weakref__", "_record", "holder")

    _record: ModuleRecord
    #: Who holds the reference (shown by ``module show --json`` and refused unloads).
    holder: str

    @property
    def name(self) -> str:
        """The module's name."""
        return self._record.name

    @property
    def obj(self) -> T:
        """The module's object (the instance, or the Python module).

        :raises StaleHandleError: the module was forcibly unloaded meanwhile.
        """
        record = self._record
        if record.state is _REMOVED:
            raise StaleHandleError(record.name)
        obj: T = record.obj
        return obj

    @property
    def held(self) -> bool:
        """``True`` until released."""
        return self in self._record.holders

    def release(self) -> None:
        """Give the reference back."""
        self._record.holders.pop(self, None)

    def __enter__(self) -> ModuleHandle[T]:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self._record.holders.pop(self, None)

    async def __aenter__(self) -> ModuleHandle[T]:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._record.holders.pop(self, None)

    def __repr__(self) -> str:
        state = "held" if self.held else "released"
        return f"<ModuleHandle {self._record.name!r} holder={self.holder!r} {state}>"


def acquire(record: ModuleRecord, holder: str) -> ModuleHandle[Any]:
    """Take one reference on ``record``; it must be running."""
    # Calling the class (it has no __init__) is quicker than object.__new__(ModuleHandle).
    handle: ModuleHandle[Any] = ModuleHandle()
    handle._record = record
    handle.holder = holder
    holders = record.holders
    holders[handle] = holder
    # Checked after the insert: an unloader sets UNLOADING before it reads the count.
    if record.state is not _RUNNING:
        holders.pop(handle, None)
        raise ModuleNotRunningError(record.name, record.state.value)
    return handle
