"""What the loader does when a module call returns after the host stopped waiting for it.

Each function runs under the lifecycle's lock, in the module's own thread,
once the late call has returned (:meth:`Lifecycle.module_call`). The rules:

* a late **import** is not used: the module stays declined (load it again);
* a late ``load()`` that succeeded is **undone**: the operator was told it did
  not load, so its ``unload()`` is called and what it registered is removed;
  it ends declined, its reason saying so. One that failed ends declined too;
* a late ``unload()`` that completed finishes the unload (the module is
  removed); one that refused leaves the module running, as a refusal in time would;
* a late ``reload()`` is logged; the module kept running throughout.

A module a hard unload or a shutdown removed meanwhile only has what it
registered since removed. Whatever module code these steps call (``unload()``,
the ``remove`` callables) runs as a module call: the lock is free meanwhile.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from typing import Any

from modloader._registry.calls import CallResult
from modloader._registry.calls import CallStatus
from modloader._registry.events import EventKind
from modloader._registry.record import ModuleRecord
from modloader._registry.states import ModuleState
from modloader.module import LoadResult

if TYPE_CHECKING:
    from modloader._registry.lifecycle import Lifecycle

__all__ = [
    "late_import",
    "late_load",
    "late_reload",
    "late_unload",
    "load_succeeded",
    "unloaded_again",
]

_S = ModuleState


def _not_waited(result: CallResult, what: str, verb: str = "return") -> str:
    """``load() did not return within 30 s``, or, when its caller was interrupted
    before the limit, ``the wait for load() was interrupted after 1.0 s``."""
    if result.interrupted_after is not None:
        return f"the wait for {what} was interrupted after {result.interrupted_after:.1f} s"
    return f"{what} did not {verb} within {result.limit:g} s"


def _what_happened(result: CallResult) -> str:
    if result.status is CallStatus.RAISED:
        return f"it raised {result.reason} after {result.seconds:.1f} s"
    return f"it returned after {result.seconds:.1f} s"


def unloaded_again(call: CallResult | None) -> str:
    """``was unloaded again``, with what its ``unload()`` did if it did not return."""
    if call is not None and call.status is not CallStatus.RETURNED:
        return f"was unloaded again ({call.reason})"
    return "was unloaded again"


def late_import(life: Lifecycle, record: ModuleRecord, result: CallResult) -> None:
    if record.state is _S.TIMED_OUT:
        life.decline(
            record,
            f"{_not_waited(result, 'its import', 'finish')} ({_what_happened(result)}); "
            "load it again",
        )


def load_succeeded(value: Any) -> bool:
    """Whether what ``load()`` returned means it started."""
    return value is None or value is LoadResult.SUCCESS


def late_load(life: Lifecycle, record: ModuleRecord, result: CallResult) -> None:
    succeeded = result.status is CallStatus.RETURNED and load_succeeded(result.value)
    undone = ""
    if succeeded:  # reported as not loaded, so it must not run: undo it
        undone = " and " + unloaded_again(life.run(life.undoing(record)))
    else:
        life.run(life.cleaning(record))
    if record.state is _S.TIMED_OUT:
        life.decline(
            record,
            f"{_not_waited(result, 'load()')} ({_what_happened(result)}{undone})",
        )
    else:
        life.release_deps(record)


def late_unload(life: Lifecycle, record: ModuleRecord, result: CallResult) -> None:
    if record.state is not _S.TIMED_OUT:
        life.run(life.cleaning(record))  # removed meanwhile (hard unload, shutdown)
        return
    refused = result.status is CallStatus.RAISED or (
        result.status is CallStatus.RETURNED and result.value is False
    )
    if refused:
        interrupted = result.interrupted_after is not None
        given_up = "the wait was interrupted" if interrupted else "it timed out"
        record.error = f"unload() refused after {given_up} ({_what_happened(result)})"
        life.set_state(record, _S.RUNNING)
        return
    record.error = None
    life.run(life.removing(record))


def late_reload(life: Lifecycle, record: ModuleRecord, result: CallResult) -> None:
    from modloader.module import ReloadResult

    ok = result.status is CallStatus.RETURNED and (
        result.value is None or result.value is ReloadResult.SUCCESS or result.value is True
    )
    if record.state is _S.RUNNING and record.error and record.error.startswith("reload()"):
        record.error = (
            None if ok else f"reload() failed after it timed out ({_what_happened(result)})"
        )
    kind = EventKind.RELOADED if ok else EventKind.RELOAD_FAILED
    life.events.emit(kind, record.name, None if ok else _what_happened(result))
