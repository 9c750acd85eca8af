"""Who stops a host, and when: stop requests (``core stop``, signals) and the stop itself.

A request never stops the host under the requester's feet: it is recorded,
its listeners are told, and whoever runs the host stops it. The stop itself
is made by one thread; another thread calling ``stop()`` meanwhile waits for
the end of it, except from the code that stop is waiting for (a module call
it runs, or a signal handler in the stopping thread), where waiting would be
waiting on itself.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from modloader._registry.calls import waiting_threads
from modloader._registry.states import HostState
from modloader._registry.steps import WAIT_SLICE

__all__ = ["Stopping"]


class Stopping:
    """A host's stop requests, and the thread that stops it."""

    def __init__(self) -> None:
        #: Set by a request, and by the stop itself (a startup asks before each module).
        self.requested = threading.Event()
        self.graceful = True
        self._listeners: list[Callable[[bool], object]] = []
        #: Someone waited for a request (:meth:`wait_for_request`): requests are heard.
        self._waited = False
        #: Held while a stop reads the host's state and claims the stop (see :meth:`claim`).
        self.guard = threading.Lock()
        self._stopper: int | None = None
        self._over = threading.Event()
        #: The last stop was interrupted (a Ctrl-C while it waited for an ``unload()``):
        #: the next ``stop()`` goes on with it.
        self._interrupted = False
        #: The thread running ``start()`` while it runs, and the end of the startup.
        self._starter: int | None = None
        self._started = threading.Event()

    # -- requests ----------------------------------------------------------------------

    def request(self, graceful: bool) -> bool:
        """Record a request and tell the listeners; ``False`` when nobody hears it: no
        listener, and nothing ever waited for a request (an application that waits now
        and then, between its work, hears it at its next wait)."""
        heard = bool(self._listeners) or self._waited
        self.graceful = graceful
        self.requested.set()
        for callback in list(self._listeners):
            callback(graceful)
        return heard

    def _unasked(self, graceful: bool) -> None:
        """A running host is stopped with no request before (``stop()`` called by a module,
        say): what waits for a request learns of it as of one, and does not wait on a stopped
        host for ever (the ``modloader`` command's foreground loop)."""
        self.graceful = graceful
        for callback in list(self._listeners):
            try:
                callback(graceful)
            except Exception:  # the stop goes on: its caller asked for it, not the listener
                logging.getLogger("modloader").exception("a stop-request callback raised")

    def on_request(self, callback: Callable[[bool], object]) -> None:
        self._listeners.append(callback)

    def wait_for_request(self, timeout: float | None) -> bool | None:
        """``graceful`` once a stop is requested; ``None`` on timeout."""
        self._waited = True
        if not _sliced_wait(self.requested, timeout):
            return None
        return self.graceful

    # -- the stop ----------------------------------------------------------------------

    def claim(
        self, state: Callable[[], HostState], stopped: Callable[[], None], graceful: bool = True
    ) -> HostState:
        """The host's state as a stop finds it; a running (or never started) host is
        marked stopped by ``stopped()``, and this thread is the one that stops it.

        After a stop that was interrupted, the host is stopped but modules may be
        left running: the next caller goes on with that stop, and is told
        ``RUNNING`` (what is left to unload is running). A running host stopped
        with no request before tells the request's listeners (:meth:`_unasked`)."""
        with self.guard:
            found = state()
            unasked = found is HostState.RUNNING and not self.requested.is_set()
            if found is HostState.RUNNING or found is HostState.CREATED:
                self._stopper = threading.get_ident()
                stopped()
            elif found is HostState.STOPPED and self._interrupted:
                self._interrupted = False
                self._stopper = threading.get_ident()
                self._over.clear()
                found = HostState.RUNNING
            self.requested.set()
        if unasked:
            self._unasked(graceful)
        return found

    def interrupted(self) -> None:
        """The stop being made was interrupted before it unloaded every module."""
        self._interrupted = True

    def await_stopper(self) -> None:
        """Wait for the thread that stops the host to be done, unless it waits for us."""
        stopper = self._stopper
        if stopper is None or stopper == threading.get_ident() or stopper in waiting_threads():
            return
        _sliced_wait(self._over, None)

    def over(self) -> None:
        """The stop is done: the modules it unloads are unloaded."""
        self._over.set()

    # -- a stop during startup -----------------------------------------------------------

    def startup_began(self) -> None:
        self._starter = threading.get_ident()

    def startup_over(self) -> None:
        """The startup ended, running or not: what it started and did not keep is unloaded."""
        self._starter = None
        self._started.set()

    def await_startup(self) -> None:
        """Wait for the startup to end, unless this thread is the one starting the host
        or the startup waits for it (module code, or a thread waiting for that)."""
        starter = self._starter
        if starter is None or starter == threading.get_ident() or starter in waiting_threads():
            return
        _sliced_wait(self._started, None)


def _sliced_wait(event: threading.Event, timeout: float | None) -> bool:
    """``event.wait(timeout)``, blocking for at most :data:`WAIT_SLICE` at once.

    The application's signal handlers (a ``SIGTERM`` that calls
    ``request_stop()``) run in the main thread between bytecodes: one that
    reaches Python just before the thread blocks would otherwise run only when
    the wait ends, which without a timeout is never.
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        left = WAIT_SLICE if deadline is None else min(WAIT_SLICE, deadline - time.monotonic())
        if event.wait(max(left, 0.0)):
            return True
        if deadline is not None and time.monotonic() >= deadline:
            return False
