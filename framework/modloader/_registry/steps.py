"""Operations as steps: how the registry runs module code, one call or a whole run of them.

An operation that calls module code is a generator of *steps*: it yields a
:class:`ModuleCall` wherever a piece of a module's code must run, and gets its
:class:`~modloader._registry.calls.CallResult` back at the ``yield`` (or, when
its caller is interrupted while waiting, the exception, thrown in there).
Between steps it runs the registry's own logic, under the lock. Two drivers
run the steps:

* :func:`run_one` runs one operation (``module load``, ``unload``,
  ``refresh``; a single import or ``unload()``): in the calling thread until
  its first module call, then, module calls included, on a call thread while
  the calling thread watches the time limit. An operation refused before any
  module code runs never leaves the calling thread;
* :func:`run_steps` runs many operations, one per item (startup's imports and
  loads, the unloads at shutdown), one after another on *one* call thread,
  module calls included, while the calling thread watches the time limit.

A module call that outlives its limit is given up: its timed-out result is
sent into the operation and a fresh call thread goes on from there (the
operation is suspended at its ``yield``, so any thread may resume it; the
levels of the lock it held go with it, :meth:`OpLock.adopt`). The thread given
up, when the module's code returns at last, hands the result to the call's
late callback and ends.

Why: handing a call to a thread and back costs two thread wake-ups (some
50 µs on a virtual machine of two cores, far more while application threads
keep the interpreter lock busy). For the import, ``load()`` and ``unload()``
of 1,000 modules that was 0.15 s, as long as stevedore takes to start them
all; a run costs one hand-off for the lot, and an operation one for all its
module calls.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from collections.abc import Generator
from collections.abc import Iterable
from collections.abc import Iterator
from typing import Any
from typing import NamedTuple
from typing import TypeVar

from modloader._registry.calls import Call
from modloader._registry.calls import CallResult
from modloader._registry.calls import LateT
from modloader._registry.calls import OpLock
from modloader._registry.calls import submit

__all__ = ["WAIT_SLICE", "ModuleCall", "Steps", "run_one", "run_steps"]

T = TypeVar("T")
ItemT = TypeVar("ItemT")


class ModuleCall(NamedTuple):
    """A step: call ``fn(*args)``, a piece of a module's code, for at most ``limit`` seconds."""

    hook: str
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    limit: float | None
    #: Gets the result of a call that returns after its caller stopped waiting.
    on_late: LateT | None = None


#: An operation's steps, returning ``T`` at the end.
Steps = Generator[ModuleCall, CallResult, T]


def run_one(steps: Steps[T], *, lock: OpLock, limit: float | None) -> T:
    """Run one operation's ``steps``; its value. They start here: one that calls no
    module code (a refusal, say) ends here; at its first module call the rest of it
    moves to a call thread, module calls included, and this thread watches it as
    :func:`run_steps` does. One hand-off to a thread and back, however many module
    calls it makes. The steps take ``lock`` themselves where they need it.
    """
    outside = lock.depth()
    try:
        first = steps.send(None)  # type: ignore[arg-type]
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
    # The levels the steps took are theirs: they go with them to the call thread.
    taken = lock.depth() - outside
    for _ in range(taken):
        lock.release()
    run = _Run(iter(()), _none, lock, limit, hold=False)
    run.steps, run.pending, run.adopt = steps, first, (taken, None)
    _watch(run)
    return run.value  # type: ignore[no-any-return]


def _none(item: Any) -> Steps[Any]:
    raise AssertionError("a run of one has no further item")


def run_steps(
    items: Iterable[ItemT],
    step: Callable[[ItemT], Steps[Any]],
    *,
    lock: OpLock,
    limit: float | None,
) -> None:
    """Run ``step(item)`` for each item in turn on one call thread; wait here for the lot.

    ``lock`` (held here or not) is held in that thread between module calls and
    suspended while they run. A module call that outlives ``limit`` (plus the
    grace it asked for) is given up and the run goes on in a fresh thread.
    What a step raises is raised here, and ends the run. An exception raised
    here while waiting (a Ctrl-C) starts no further item: the module call
    running then is given up and the exception thrown into its step.
    """
    _watch(_Run(iter(items), step, lock, limit, hold=True))


def _watch(run: _Run) -> None:
    lock = run.lock
    depth = lock.suspend()
    try:
        run.begin()
        interrupted = run.watch()
    finally:
        lock.restore(depth)
    if interrupted is not None:
        exc, taken = interrupted
        if taken is not None:  # the steps are this thread's now, and the levels they held
            steps, held = taken
            lock.adopt(held)
            try:
                steps.throw(exc)
            except StopIteration:
                pass
            finally:
                if run.hold:
                    lock.release()
        raise exc
    if run.error is not None:
        raise run.error


_END: Any = object()
#: The longest the watching thread blocks at once (see :meth:`_Run._wait_a_while`).
WAIT_SLICE = 0.5


class _Run:
    """The state of one :func:`run_steps`, shared by the thread watching it and the one
    running it (a second one once a call was given up)."""

    def __init__(
        self,
        items: Iterator[Any],
        step: Callable[[Any], Steps[Any]],
        lock: OpLock,
        limit: float | None,
        *,
        hold: bool,
    ) -> None:
        self.items, self.step, self.lock, self.limit = items, step, lock, limit
        #: The call thread holds ``lock`` between module calls (else the steps take it).
        self.hold = hold
        #: What the last item's steps returned.
        self.value: Any = None
        #: The steps of the item in hand, and what to send into them next.
        self.steps: Steps[Any] | None = None
        self.send: CallResult | None = None
        #: The module call running now, and the step that asked for it.
        self.current: tuple[Call, ModuleCall] | None = None
        #: The lock levels the thread running the steps released for the call running:
        #: whoever goes on with the steps after it is given up takes them back.
        self.held: Any = 0
        #: Those levels, for the next thread that goes on with the steps.
        self.adopt: Any = 0
        #: A module call asked for before the run began (:func:`run_one`).
        self.pending: ModuleCall | None = None
        self.guard = threading.Lock()
        self.finished = threading.Lock()
        self.finished.acquire()
        self.error: BaseException | None = None
        self.stopping = False
        #: The run is over (set with ``finished`` released, under ``guard``): what the
        #: watcher reads when an exception may have come after it took ``finished``.
        self.done = False
        self.watcher = threading.get_ident()
        #: Why no call thread could be started, once it could not (see :meth:`begin`).
        self.no_thread: RuntimeError | None = None

    def begin(self) -> None:
        try:
            submit(self.drive, self.watcher)
        except RuntimeError as exc:  # "can't start new thread": memory, a limit on threads
            # The steps run here instead, and each module call fails without running:
            # its code would have no time limit in this thread. Raised out of here, the
            # steps were left half done, their module busy for good.
            self.no_thread = exc
            self.drive()

    # -- in the call thread ----------------------------------------------------------

    def drive(self) -> None:
        """Run the steps, item after item, and their module calls, until the end."""
        if self.adopt:  # going on after a call given up: its levels are this thread's
            self.lock.adopt(self.adopt)
            self.adopt = 0
        elif self.hold:
            self.lock.acquire()
        try:
            request, self.pending = self.pending, None
            if request is None:
                request = self.next_request()
            while request is not None:
                call = Call(request.hook, request.fn, request.args, request.limit)
                if self.no_thread is not None:
                    self.send = call.not_run(self.no_thread)
                    request = self.next_request()
                    continue
                held = self.lock.suspend()
                with self.guard:
                    self.current, self.held = (call, request), held
                call.run()  # given up meanwhile, it hands its result to request.on_late
                with self.guard:
                    if call.abandoned:
                        return  # the run goes on in another thread; this one holds nothing
                    self.current = None
                self.lock.restore(held)
                self.send = call.result
                request = self.next_request()
        except BaseException as exc:  # a step's own error: the run ends with it
            self.error = exc
        self.steps = None
        if self.hold:
            self.lock.release()
        with self.guard:
            self.done = True
        self.finished.release()

    def next_request(self) -> ModuleCall | None:
        while True:
            if self.steps is None:
                item = _END if self.stopping else next(self.items, _END)
                if item is _END:
                    return None
                self.steps, self.send = self.step(item), None
            try:
                return self.steps.send(self.send)  # type: ignore[arg-type]
            except StopIteration as stop:
                self.steps, self.value = None, stop.value

    # -- in the watching thread ------------------------------------------------------

    def watch(self) -> tuple[BaseException, tuple[Steps[Any], Any] | None] | None:
        """Wait for the end of the run, giving up calls that outlive their limit.

        Returns the exception that interrupted the wait, and the steps to throw it
        into with the lock levels they held (see :meth:`_stop`).
        """
        try:
            while not self._wait_a_while():
                pass
        except BaseException as exc:
            return exc, self._stop()
        return None

    def _wait_a_while(self) -> bool:
        """``True`` when the run is over."""
        with self.guard:
            current = self.current
        wait = self.limit
        if current is not None:
            deadline = current[0].deadline()
            wait = None if deadline is None else deadline - time.perf_counter()
            if wait is not None and wait <= 0:
                self._give_up(current)
                return False
        # In slices: a signal that reaches Python just before this thread blocks is
        # handled only when the wait ends (CPython runs handlers between bytecodes),
        # so a Ctrl-C would wait for the whole time limit of the call.
        return self.finished.acquire(timeout=WAIT_SLICE if wait is None else min(wait, WAIT_SLICE))

    def _give_up(self, current: tuple[Call, ModuleCall]) -> None:
        with self.guard:
            call, request = current
            if self.current is not current:
                return
            timed_out = call.abandon(request.on_late)
            if timed_out is None:
                return  # it returned just now
            self.current, self.send, self.adopt = None, timed_out, self.held
        self.begin()

    def _stop(self) -> tuple[Steps[Any], Any] | None:
        """Start no further item; give up the module call running (waiting for one to
        start or for the run to end). Returns its steps, which are this thread's now,
        and the lock levels they held."""
        self.stopping = True
        while True:
            with self.guard:
                if self.done:  # over: perhaps just before the exception, which then
                    return None  # came after this thread had taken ``finished``
                current = self.current
                if (
                    current is not None
                    and current[0].abandon(current[1].on_late, interrupted=True) is not None
                ):
                    self.current = None
                    assert self.steps is not None
                    return self.steps, self.held
            if self.finished.acquire(timeout=0.01):
                return None
