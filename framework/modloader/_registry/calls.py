"""Running a module's own code: in a call thread, with a time limit, never under the lock.

Module code (its import, ``load``, ``unload``, ``reload``) runs in a call
thread (reused, :func:`submit`), never in the thread that asked for it, so
that thread can stop waiting for it: after the time limit it goes on with a
:attr:`CallStatus.TIMED_OUT` result (:meth:`Call.abandon`), and whatever the
module does when it finally returns is handed to a *late* callback, which
reconciles the module's state. Python threads cannot be killed, so a module
that never returns keeps its thread; the host does not wait for it. Who runs
what, and who watches the limit: :mod:`modloader._registry.steps`.

Whatever the module raises (``KeyboardInterrupt``, ``SystemExit``,
``GeneratorExit`` and any other ``BaseException`` included) is caught in its
thread and handed back as :attr:`CallStatus.RAISED`: raised there, it is the
module's own exception, not an operator's Ctrl-C (that reaches the main thread).

:class:`OpLock` is the registry's lock: re-entrant, and *suspended* (fully
released, then restored to the same depth) while module code runs, so module
code may call back into the host from its own thread, and reads and the
operations on other modules go on meanwhile.
"""

from __future__ import annotations

import contextvars
import enum
import logging
import os
import queue
import sys
import threading
import time
from collections.abc import Awaitable
from collections.abc import Callable
from typing import TYPE_CHECKING
from typing import Any
from typing import NamedTuple

from modloader._registry.words import headline
from modloader._registry.words import said
from modloader._registry.words import told
from modloader.module import ModuleDeclined

if TYPE_CHECKING:
    from modloader._registry.record import ModuleRecord

__all__ = [
    "DEFAULT_TIMEOUT",
    "OPERATION_SWITCH_INTERVAL",
    "SWITCH_INTERVAL",
    "Call",
    "CallResult",
    "CallStatus",
    "OpLock",
    "QuickSwitching",
    "current_limit",
    "extend_wait",
    "in_module_call",
    "invoke",
    "log_raised",
    "refusal",
    "refuse_awaitable",
    "submit",
    "waiting_threads",
]

_log = logging.getLogger("modloader")

#: Seconds a module's import, ``load()``, ``unload()`` or ``reload()`` may take
#: before the host stops waiting for it (``Host(module_timeout=...)``).
DEFAULT_TIMEOUT = 30.0
#: What :meth:`Host.start` lowers the interpreter's switch interval to (seconds).
SWITCH_INTERVAL = 0.0005
#: What it is lowered to while a module operation runs (seconds, :class:`QuickSwitching`).
OPERATION_SWITCH_INTERVAL = 0.0001


class CallStatus(enum.Enum):
    """How a call into module code ended (as far as the caller waited)."""

    RETURNED = "returned"
    RAISED = "raised"
    TIMED_OUT = "timed-out"


class CallResult(NamedTuple):
    """What one call into module code did."""

    #: What was called: ``import``, ``load``, ``unload``, ``reload`` ...
    hook: str
    status: CallStatus
    value: Any = None
    error: BaseException | None = None
    #: How long the caller waited.
    seconds: float = 0.0
    #: The time limit the call ran under (``None``: none).
    limit: float | None = None
    #: What the exception raised says (a decline's reason), read in the module's thread.
    message: str = ""
    #: The exception's traceback as text, formatted in the module's thread when the
    #: host logs at DEBUG (``-v``); ``""`` otherwise, and for a decline.
    trace: str = ""
    #: Seconds after which its caller was interrupted and stopped waiting (a Ctrl-C),
    #: before the time limit; ``None`` when the caller waited for the end or the limit.
    interrupted_after: float | None = None

    @property
    def reason(self) -> str:
        """``"ValueError: bad"``, ``"load() did not return within 30 s"``, or ``""``."""
        if self.status is CallStatus.RAISED:
            assert self.error is not None
            return headline(self.error, self.message)
        if self.status is CallStatus.TIMED_OUT and self.hook == "import":
            return f"its import did not finish within {self.limit:g} s"
        if self.status is CallStatus.TIMED_OUT:
            return f"{self.hook}() did not return within {self.limit:g} s"
        return ""


#: Called with the result of a call that returned after its caller stopped waiting.
LateT = Callable[[CallResult], None]

#: The threads waiting, one for the next, for the module call running in this context.
_WAITERS: contextvars.ContextVar[frozenset[int]] = contextvars.ContextVar(
    "modloader_waiters", default=frozenset()
)
_running = threading.local()


class Call:
    """One call into module code: run by :meth:`run` in a call thread, and given up
    (:meth:`abandon`) by the thread watching it once past its :meth:`deadline`."""

    __slots__ = (
        "_guard",
        "_late",
        "abandoned",
        "args",
        "fn",
        "grace",
        "hook",
        "interrupted_after",
        "limit",
        "result",
        "started",
    )

    def __init__(
        self, hook: str, fn: Callable[..., Any], args: tuple[Any, ...], limit: float | None
    ) -> None:
        self.hook, self.fn, self.args, self.limit = hook, fn, args, limit
        self.result: CallResult | None = None
        self.started = time.perf_counter()
        self._guard = threading.Lock()
        self._late: LateT | None = None
        #: The caller stopped waiting: the result went to the late callback.
        self.abandoned = False
        #: Seconds the caller waits past ``limit`` (see :func:`extend_wait`).
        self.grace = 0.0
        #: See :attr:`CallResult.interrupted_after`.
        self.interrupted_after: float | None = None

    def run(self) -> None:
        _running.call = self
        try:
            value = self.fn(*self.args)
        except BaseException as exc:  # the module's own exception, whatever it is
            result = self._make(CallStatus.RAISED, error=exc, message=said(exc), trace=told(exc))
        else:
            result = self._make(CallStatus.RETURNED, value=value)
        finally:
            _running.call = None
        with self._guard:
            self.result = result
            late = self._late
        if late is not None:
            late(result)

    def not_run(self, why: BaseException) -> CallResult:
        """The result of a call that could not be run (no thread for it: ``why``)."""
        error = RuntimeError(f"no thread could be started to run it ({why})")
        self.result = self._make(CallStatus.RAISED, error=error, message=str(error))
        return self.result

    def _make(
        self,
        status: CallStatus,
        value: Any = None,
        error: BaseException | None = None,
        message: str = "",
        trace: str = "",
    ) -> CallResult:
        seconds = time.perf_counter() - self.started
        return CallResult(
            self.hook,
            status,
            value,
            error,
            seconds,
            self.limit,
            message,
            trace,
            self.interrupted_after,
        )

    def abandon(self, on_late: LateT | None, *, interrupted: bool = False) -> CallResult | None:
        """Stop waiting: a :attr:`CallStatus.TIMED_OUT` result, and ``on_late`` gets the
        real one when the call returns; ``None`` when it has returned already.
        ``interrupted``: the caller stops waiting before the limit (a Ctrl-C)."""
        with self._guard:
            if self.result is not None:
                return None
            self._late = on_late
            self.abandoned = True
            if interrupted:
                self.interrupted_after = time.perf_counter() - self.started
        return self._make(CallStatus.TIMED_OUT)

    def deadline(self) -> float | None:
        """When the caller stops waiting (``time.perf_counter()``), or ``None``: never."""
        if self.limit is None:
            return None
        return self.started + self.limit + self.grace


def submit(job: Callable[[], None], waiter: int) -> None:
    """Run ``job`` in a call thread, in a copy of this context where ``waiter`` (a
    thread's ident) is one of the :func:`waiting_threads`."""
    context = contextvars.copy_context()
    context.run(_WAITERS.set, _WAITERS.get() | {waiter})
    _WORKERS.submit(lambda: context.run(job))


def current_limit() -> tuple[float, float] | None:
    """For the module call running in this thread: its limit and the seconds left of
    it; ``None`` when no call runs here or it has no limit."""
    call: Call | None = getattr(_running, "call", None)
    if call is None or call.limit is None:
        return None
    return call.limit, call.limit - (time.perf_counter() - call.started)


def in_module_call() -> bool:
    """Whether this thread is running a module's code (a module call) now."""
    return getattr(_running, "call", None) is not None


def waiting_threads() -> frozenset[int]:
    """The threads waiting for the module call running in this context."""
    return _WAITERS.get()


def extend_wait(seconds: float) -> None:
    """The module call running in this thread stops its code itself at its limit (a
    coroutine cancelled): its caller waits ``seconds`` more for it to wind down."""
    call: Call | None = getattr(_running, "call", None)
    if call is not None:
        call.grace = max(call.grace, seconds)


class _CallThread(threading.Thread):
    """A daemon thread (idle, or running a call past its limit, it never holds the
    process at exit) that says it is not one while it runs module code: a thread the
    module starts then is not a daemon, as it would not be from the main thread, so
    the application still waits for it at exit (the ``modloader`` command for at most
    ``--exit-timeout``)."""

    calling = False

    @property
    def daemon(self) -> bool:
        return False if self.calling else bool(self._daemonic)  # type: ignore[attr-defined]

    @daemon.setter
    def daemon(self, daemonic: bool) -> None:
        threading.Thread.daemon.fset(self, daemonic)  # type: ignore[attr-defined]


class _Worker:
    """A thread that runs module calls one after another; it ends after a minute idle."""

    __slots__ = ("jobs", "pool")

    def __init__(self, pool: _Workers) -> None:
        self.pool = pool
        self.jobs: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()

    def run(self) -> None:
        while True:
            try:
                job = self.jobs.get(timeout=_IDLE_SECONDS)
            except queue.Empty:
                if self.pool.retire(self):
                    return
                continue  # handed a job just now
            thread = threading.current_thread()
            if isinstance(thread, _CallThread):
                thread.calling = True
            try:
                job()
            finally:
                if isinstance(thread, _CallThread):
                    thread.calling = False
            del job
            self.pool.idle(self)


class _Workers:
    """Threads for module calls, reused: starting a thread per call costs hand-offs of
    the interpreter lock, which are slow while application threads keep it busy."""

    def __init__(self) -> None:
        self._idle: list[_Worker] = []
        self._lock = threading.Lock()

    def submit(self, job: Callable[[], None]) -> None:
        with self._lock:
            worker = self._idle.pop() if self._idle else None
        if worker is None:
            worker = _Worker(self)
            _CallThread(target=worker.run, name="modloader-module-call", daemon=True).start()
        worker.jobs.put(job)

    def idle(self, worker: _Worker) -> None:
        with self._lock:
            self._idle.append(worker)

    def retire(self, worker: _Worker) -> bool:
        """``True``: ``worker`` was idle and is gone; ``False``: it was just given a job."""
        with self._lock:
            if worker in self._idle:
                self._idle.remove(worker)
                return True
            return False


_IDLE_SECONDS = 60.0
_WORKERS = _Workers()


def _after_fork() -> None:
    """In a forked child: the parent's idle threads do not exist there, nor do the
    operations that were running in its other threads (their switch interval goes)."""
    global _WORKERS
    _WORKERS = _Workers()
    QuickSwitching.forget()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


class OpLock:
    """A re-entrant lock that its owner can suspend (release fully) and restore.

    Used as ``with lock:``. :meth:`suspend` returns what it released (0 when
    the caller did not hold it); :meth:`restore` takes the lock back as it was.
    It is the interpreter's own re-entrant lock (in C): handing it to a waiting
    thread costs one wake-up, where a lock made of a ``Condition`` costs several.
    """

    __slots__ = ("_count", "_lock")

    def __init__(self) -> None:
        self._lock: Any = threading.RLock()
        #: The levels its owner holds (written only by the owner, while it holds it).
        self._count = 0

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        if not self._lock.acquire(blocking, timeout):
            return False
        self._count += 1
        return True

    def release(self) -> None:
        self._count -= 1
        self._lock.release()

    def owned(self) -> bool:
        """``True`` when the calling thread holds the lock."""
        return bool(self._lock._is_owned())

    def suspend(self) -> Any:
        """Release every level the calling thread holds; returns what to restore (0: none)."""
        if not self._lock._is_owned():
            return 0
        self._count = 0
        return self._lock._release_save()

    def restore(self, state: Any) -> None:
        """Take the lock back as :meth:`suspend` released it."""
        if state:
            self._lock._acquire_restore(state)
            self._count = state[0]

    def depth(self) -> int:
        """How many levels the calling thread holds."""
        return self._count if self._lock._is_owned() else 0

    def adopt(self, state: Any) -> None:
        """Take, for the calling thread, the levels another thread's :meth:`suspend`
        released (on top of any it holds)."""
        for _ in range(state[0] if state else 0):
            self.acquire()

    def _at_fork_reinit(self) -> None:
        """In a forked child: free, whoever held it in the parent."""
        self._lock._at_fork_reinit()
        self._count = 0

    def __enter__(self) -> OpLock:
        self._lock.acquire()
        self._count += 1
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._count -= 1
        self._lock.release()


class QuickSwitching:
    """``with QuickSwitching(interval):`` the interpreter's switch interval is at most
    ``interval`` seconds while any such block runs in the process, then back as it was.

    A module operation waits for the interpreter lock after each of its many
    short system calls (an import makes dozens); with application threads busy
    in Python code each wait lasts up to the switch interval, and the waits add
    up to hundreds of milliseconds. ``None``: left alone.
    """

    __slots__ = ("interval",)
    _lock = threading.Lock()
    _running = 0
    _before: float | None = None
    _set: float | None = None

    def __init__(self, interval: float | None) -> None:
        self.interval = interval

    def __enter__(self) -> None:
        if self.interval is None:
            return
        cls = QuickSwitching
        with cls._lock:
            cls._running += 1
            current = sys.getswitchinterval()
            if current > self.interval:
                if cls._before is None:
                    cls._before = current
                sys.setswitchinterval(self.interval)
                cls._set = sys.getswitchinterval()

    @classmethod
    def forget(cls) -> None:
        """In a forked child: no operation runs there; the interval is put back."""
        cls._lock = threading.Lock()
        if cls._before is not None and sys.getswitchinterval() == cls._set:
            sys.setswitchinterval(cls._before)
        cls._running, cls._before, cls._set = 0, None, None

    def __exit__(self, *exc_info: object) -> None:
        if self.interval is None:
            return
        cls = QuickSwitching
        with cls._lock:
            cls._running -= 1
            if cls._running == 0 and cls._before is not None:
                if sys.getswitchinterval() == cls._set:  # nobody else changed it meanwhile
                    sys.setswitchinterval(cls._before)
                cls._before = cls._set = None


def invoke(fn: Callable[..., Any], args: tuple[Any, ...]) -> Any:
    """How module code is called in its thread, by default: ``fn(*args)``."""
    return fn(*args)


def log_raised(name: str, result: CallResult) -> str | None:
    """Log what module code raised: one line at WARNING, its traceback at DEBUG (``-v``).

    :returns: the reason logged (``None``: nothing was), which a report of the
        module's decline then does not repeat.
    """
    error = result.error
    if error is None or isinstance(error, ModuleDeclined):
        return None
    _log.warning("%s: %s() raised %s", name, result.hook, result.reason)
    if result.trace:  # formatted in the module's call (told): no module code runs here
        _log.debug("%s: the traceback of %s()\n%s", name, result.hook, result.trace)
    return result.reason


def refusal(result: CallResult | None) -> str | None:
    """Why an ``unload()`` call refused (returned ``False``, raised, timed out), or ``None``."""
    if result is None:
        return None
    if result.status is not CallStatus.RETURNED:
        return result.reason
    return "unload() returned False" if result.value is False else None


def refuse_awaitable(record: ModuleRecord, hook: str, awaitable: Awaitable[Any]) -> Any:
    """A plain :class:`~modloader.Host` cannot await a module's hook: say so, clearly."""
    close = getattr(awaitable, "close", None)
    if callable(close):
        close()  # a coroutine never awaited would warn at garbage collection
    raise TypeError(
        f"{hook}() of module '{record.name}' is a coroutine function; "
        f"async modules need modloader.AsyncHost"
    )
