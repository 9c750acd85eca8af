"""Module state changes, for app authors who want to log or react."""

from __future__ import annotations

import enum
import logging
import threading
from collections.abc import Callable
from typing import NamedTuple

__all__ = ["EventBus", "EventKind", "ModuleEvent", "SubscriberT"]

_log = logging.getLogger("modloader")


class EventKind(enum.Enum):
    """What happened to a module."""

    #: ``load()`` succeeded; the module is running.
    LOADED = "loaded"
    #: It declined (its choice, an exception, its import, or a dependency).
    DECLINED = "declined"
    #: ``load()`` returned FAILURE.
    FAILED = "failed"
    #: It was removed from the module list.
    UNLOADED = "unloaded"
    #: Its import, ``load()`` or ``unload()`` did not return within the time limit.
    TIMED_OUT = "timed-out"
    #: ``reload()`` succeeded.
    RELOADED = "reloaded"
    #: ``reload()`` reported a failure or raised.
    RELOAD_FAILED = "reload-failed"


class ModuleEvent(NamedTuple):
    """One state change. ``reason`` explains declines, failures and forced unloads."""

    kind: EventKind
    name: str
    reason: str | None = None


#: A subscriber: called with each event, in the thread that caused it.
SubscriberT = Callable[[ModuleEvent], None]


class EventBus:
    """Subscribers and delivery. A subscriber that raises is logged and kept.

    Events are emitted in the middle of the lifecycle's changes: whatever a
    subscriber raises (``SystemExit`` and ``KeyboardInterrupt`` included) is
    logged, so that the change it was told of completes.
    """

    def __init__(self) -> None:
        self._subscribers: tuple[SubscriberT, ...] = ()
        self._lock = threading.Lock()

    def subscribe(self, callback: SubscriberT) -> Callable[[], None]:
        """Add ``callback``; returns a function that removes it again."""
        with self._lock:
            self._subscribers = (*self._subscribers, callback)

        def unsubscribe() -> None:
            with self._lock:
                self._subscribers = tuple(s for s in self._subscribers if s is not callback)

        return unsubscribe

    def emit(self, kind: EventKind, name: str, reason: str | None = None) -> None:
        if not self._subscribers:
            return
        event = ModuleEvent(kind, name, reason)
        for callback in self._subscribers:
            try:
                callback(event)
            except BaseException:
                _log.exception("event subscriber %r failed on %s", callback, event)
