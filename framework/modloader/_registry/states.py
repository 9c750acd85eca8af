"""The life of a host, and of a module in its module list (an explicit state machine)."""

from __future__ import annotations

import enum

from modloader.errors import InvalidTransitionError

__all__ = ["TRANSITIONS", "HostState", "ModuleState", "check_transition"]


class HostState(enum.Enum):
    """Where a host is in its life."""

    #: Made, not started.
    CREATED = "created"
    #: :meth:`Host.start` is running.
    STARTING = "starting"
    #: Started; commands and :meth:`Host.use` work.
    RUNNING = "running"
    #: Stopped (or startup aborted); it cannot be started again.
    STOPPED = "stopped"


class ModuleState(enum.Enum):
    """Where a module is in its life. ``module show`` says Running only for :attr:`RUNNING`."""

    #: In the load order, not started yet.
    PENDING = "pending"
    #: Its code is being imported or its ``load()`` is running.
    LOADING = "loading"
    #: ``load()`` succeeded; references may be taken.
    RUNNING = "running"
    #: It declined (its own choice, an exception, its import, or a dependency).
    DECLINED = "declined"
    #: ``load()`` returned FAILURE.
    FAILED = "failed"
    #: ``unload()`` is running (or a soft unload is checking the use count).
    UNLOADING = "unloading"
    #: Its import, ``load()`` or ``unload()`` did not return within the time limit; it
    #: is reconciled when the call returns (``last_error`` says which call).
    TIMED_OUT = "timed-out"
    #: Gone from the module list; handles still held on it are stale.
    REMOVED = "removed"

    # Members are singletons compared by identity: hash them so too, in C (Enum's own
    # __hash__ is Python code, run for every lookup in TRANSITIONS).
    __hash__ = object.__hash__

    #: ``True`` for :attr:`RUNNING` alone.
    running: bool
    #: The word ``module show`` prints: ``Running`` (also while unloading) or ``Not Running``.
    status: str

    def __init__(self, value: str) -> None:
        # Plain attributes of each member, not properties: module show reads them for
        # every row (a property of an Enum member took some 400 ns a read).
        self.running = value == "running"
        self.status = "Running" if value in ("running", "unloading") else "Not Running"


_S = ModuleState

#: Every allowed move. Anything else is a bug in the loader, reported loudly.
TRANSITIONS: dict[ModuleState, frozenset[ModuleState]] = {
    _S.PENDING: frozenset({_S.LOADING, _S.DECLINED, _S.REMOVED, _S.TIMED_OUT}),
    _S.LOADING: frozenset({_S.RUNNING, _S.DECLINED, _S.FAILED, _S.TIMED_OUT}),
    _S.RUNNING: frozenset({_S.UNLOADING}),
    # A refused unload goes back to RUNNING; a completed one removes the module.
    _S.UNLOADING: frozenset({_S.RUNNING, _S.REMOVED, _S.TIMED_OUT}),
    # When the late call returns: an unload() that refused leaves it running; a
    # load() is undone (declined); a hard unload or a completed unload() removes it.
    _S.TIMED_OUT: frozenset({_S.RUNNING, _S.DECLINED, _S.REMOVED}),
    _S.DECLINED: frozenset({_S.REMOVED}),
    _S.FAILED: frozenset({_S.REMOVED}),
    _S.REMOVED: frozenset(),
}


def check_transition(name: str, old: ModuleState, new: ModuleState) -> None:
    """Raise if ``old -> new`` is not in :data:`TRANSITIONS`."""
    if new not in TRANSITIONS[old]:
        raise InvalidTransitionError(f"module '{name}' cannot go from {old.value} to {new.value}")
