"""What signals do to a process that runs a host, from before startup to its exit.

``modloader`` (and an application's command made with ``modloader.main``)
installs these handlers before ``host.start()``, so that no signal finds the
host half-started:

* **SIGTERM, SIGINT**: stop gracefully. During startup no further module is
  started and the started ones are unloaded in reverse order; while running,
  every module is unloaded in reverse start order. Exit status 0.
* **the same signal again** (a second SIGTERM or SIGINT while the stop that a
  signal began is still running, a hung ``unload()`` say): stop now, as
  ``core stop now`` does: the rest of the stop is skipped, the process ends at
  once with status 128 + the signal's number (130, 143).
* **SIGHUP**: ``module reload`` of every module, logged; the host goes on. One
  received during startup is carried out once startup has finished.

After the host has stopped, the process waits at most ``exit_timeout`` seconds
for the threads that modules left running (:func:`finish`), then ends anyway,
naming them in the log.
"""

from __future__ import annotations

import enum
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from collections.abc import Collection
from collections.abc import Sequence
from types import FrameType
from typing import TYPE_CHECKING
from typing import Protocol

from modloader._systemd import notify

if TYPE_CHECKING:
    from modloader import ModuleEvent
    from modloader._commands.base import CommandResult
    from modloader._commands.base import Executor

__all__ = [
    "Phase",
    "ProcessSignals",
    "StopTarget",
    "finish",
    "log_reload_failures",
    "reload_counts",
    "reload_everything",
    "reload_summary",
]

logger = logging.getLogger("modloader.serve")

_Handler = Callable[[int, FrameType | None], object] | int | signal.Handlers | None


class Phase(enum.Enum):
    """Where the process is, for what a signal does."""

    STARTUP = "startup"
    RUNNING = "running"
    STOPPING = "stopping"


class StopTarget(Protocol):
    """Who is asked to stop: a :class:`~modloader.Host`, or the foreground loop."""

    def request_stop(self, graceful: bool = True) -> object:
        """Ask for a stop; returns at once (it may run in a signal handler)."""
        ...


class ProcessSignals:
    """SIGTERM, SIGINT and SIGHUP for the process that runs ``target``.

    ::

        signals = ProcessSignals(host)
        signals.install()  # before host.start(): a stop during startup unwinds it
        try:
            host.start()
            ...
        finally:
            signals.restore()

    :param target: what a SIGTERM or SIGINT asks to stop; ``None`` until
        :meth:`set_target` (a signal before then is remembered).
    """

    def __init__(self, target: StopTarget | None) -> None:
        self.target = target
        self.phase = Phase.STARTUP
        #: The first SIGTERM or SIGINT received, or ``None``.
        self.received: int | None = None
        #: Set by SIGHUP while nobody could reload (during startup).
        self.reload_pending = False
        #: Runs a reload of every module; ``None`` while there is nothing to reload.
        self.reloader: Callable[[], object] | None = None
        self._on_force: list[Callable[[], None]] = []
        self._previous: dict[int, _Handler] = {}

    @property
    def exit_status(self) -> int:
        """128 + the first stop signal's number (what ``-x`` exits with when interrupted)."""
        return 0 if self.received is None else 128 + self.received

    def install(self) -> bool:
        """Take over SIGTERM, SIGINT and SIGHUP; ``False`` outside the main thread."""
        if threading.current_thread() is not threading.main_thread():
            return False  # signals reach only the main thread; the embedder handles them
        for signum in (signal.SIGTERM, signal.SIGINT):
            self._previous.setdefault(signum, signal.signal(signum, self._on_stop_signal))
        self._previous.setdefault(signal.SIGHUP, signal.signal(signal.SIGHUP, self._on_hangup))
        return True

    def restore(self) -> None:
        """Give the signals back their handlers from before :meth:`install`."""
        previous, self._previous = self._previous, {}
        for signum, handler in previous.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)

    def set_target(self, target: StopTarget) -> None:
        """Stop ``target`` on a signal; if one came already, ask it to stop now."""
        self.target = target
        if self.received is not None:
            target.request_stop(graceful=True)

    def on_force(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` (close the control socket, say) before a forced exit."""
        self._on_force.append(callback)

    # -- handlers ----------------------------------------------------------------------

    def _on_stop_signal(self, signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if self.received is not None:
            self._force(name, signum)
            return
        self.received = signum
        again = f"send {signal.Signals(signum).name} again to stop now"
        if self.phase is Phase.STARTUP:
            logger.warning(
                "received %s during startup: no further module is started; "
                "unloading the started ones (%s)",
                name,
                again,
            )
            notify("STOPPING=1")
        else:
            logger.info("received %s: stopping gracefully (%s)", name, again)
        if self.target is not None:
            self.target.request_stop(graceful=True)

    def _force(self, name: str, signum: int) -> None:
        logger.warning(
            "received %s again: stopping now; the rest of the graceful stop is skipped "
            "(exit status %d)",
            name,
            128 + signum,
        )
        for callback in self._on_force:
            try:
                callback()
            except Exception:
                logger.debug("cleanup before a forced stop failed", exc_info=True)
        exit_now(128 + signum)

    def _on_hangup(self, signum: int, frame: FrameType | None) -> None:
        reloader = self.reloader
        if self.phase is Phase.STOPPING:
            logger.info("received SIGHUP while stopping: no reload")
        elif reloader is None:
            logger.info(
                "received SIGHUP during startup: every module is reloaded once the host is ready"
            )
            self.reload_pending = True
        else:
            # Not in the handler: a reload runs module code, and may wait for the loader.
            threading.Thread(target=reloader, name="modloader-sighup", daemon=True).start()


def reload_everything(
    executor: Executor,
    why: str,
    subscribe: Callable[[Callable[[ModuleEvent], None]], Callable[[], None]] | None = None,
) -> bool:
    """``module reload`` of every module, logged, with systemd told (``RELOADING=1``, ``READY=1``).

    :param executor: runs the command (a :class:`~modloader.Host`).
    :param why: what asked for it, at the start of the log lines (``"SIGHUP"``).
    :param subscribe: the host's ``subscribe``, to log which modules reloaded.
    :returns: ``True`` when every module that supports reloads reloaded.
    """
    from modloader import EventKind

    events: list[ModuleEvent] = []
    notify("RELOADING=1", "STATUS=Reloading every module")
    logger.info("%s: reloading every module", why)
    unsubscribe = subscribe(events.append) if subscribe is not None else None
    try:
        result = executor.execute("module reload")
    finally:
        if unsubscribe is not None:
            unsubscribe()
    ok = result.ok
    counts = reload_counts(result)
    if counts is not None:
        reloaded, failed = counts
    else:
        reloaded = [e.name for e in events if e.kind is EventKind.RELOADED]
        failed = [e.name for e in events if e.kind is EventKind.RELOAD_FAILED]
    refused = not ok and counts is None and not events  # the command as a whole: busy, say
    failing = tuple(f"'{name}'" for name in failed)
    for line in result.output.splitlines():  # a module's line is a warning if it failed
        warn = refused or any(quoted in line for quoted in failing)
        logger.log(logging.WARNING if warn else logging.INFO, "%s", line)
    summary = reload_summary(reloaded, failed)
    if refused:
        logger.warning("%s: no module reloaded", why)
        notify("READY=1", "STATUS=Running; last reload: not done")
        return False
    named = [
        f"{what}: {', '.join(names)}"
        for what, names in (("reloaded", reloaded), ("failed", failed))
        if names
    ]
    logger.log(
        logging.WARNING if failed else logging.INFO,
        "%s: %s%s",
        why,
        summary,
        f" ({'; '.join(named)})" if named else "",
    )
    notify("READY=1", f"STATUS=Running; last reload: {summary}")
    return ok and not failed


def reload_summary(reloaded: Sequence[str], failed: Sequence[str]) -> str:
    """``2 modules reloaded, 1 failed``: the log's summary and systemd's status alike."""
    return f"{len(reloaded)} modules reloaded, {len(failed)} failed"


def reload_counts(result: CommandResult) -> tuple[list[str], list[str]] | None:
    """The modules a ``module reload`` reloaded, and those it did not (a ``reload()`` that
    failed, new settings refused), from its outcome; ``None`` when it holds none."""
    outcome = result.data.get("outcome") if isinstance(result.data, dict) else None
    if not isinstance(outcome, dict):
        return None
    names = [[str(name) for name in outcome.get(key, ())] for key in ("reloaded", "failed")]
    return names[0], names[1]


def log_reload_failures(event: ModuleEvent) -> None:
    """A host subscriber: every failed reload in the log, whoever asked for it."""
    from modloader import EventKind

    if event.kind is EventKind.RELOAD_FAILED:
        logger.warning("%s: reload failed: %s", event.name, event.reason)


def exit_now(status: int) -> None:
    """End the process at once with ``status``, after flushing the log and the streams."""
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(status)


def finish(status: int, exit_timeout: float, before: Collection[threading.Thread]) -> int:
    """Wait at most ``exit_timeout`` s for threads started since ``before``; then exit anyway.

    Returns ``status`` when every such thread has ended (or was a daemon, which
    never holds the process). Otherwise logs each thread left running, with
    where it is, and ends the process with ``status`` without waiting for them
    (``atexit`` handlers are then skipped).
    """
    current = threading.current_thread()
    known = set(before)
    deadline = time.monotonic() + max(0.0, exit_timeout)
    while True:
        # Asked again each time: a thread of modloader's that ran a module's call says it
        # is no daemon until the call's last line, and is one again, idle, an instant later.
        left = [
            t
            for t in threading.enumerate()
            if t not in known and t is not current and not t.daemon and t.is_alive()
        ]
        remaining = deadline - time.monotonic()
        if not left or remaining <= 0:
            break
        left[0].join(min(_EXIT_POLL, remaining))
    if not left:
        return status
    frames = sys._current_frames()
    logger.warning(
        "exiting after %g s although %d thread%s that modules started %s still running: %s",
        exit_timeout,
        len(left),
        "" if len(left) == 1 else "s",
        "is" if len(left) == 1 else "are",
        "; ".join(_describe(t, frames) for t in left),
    )
    exit_now(status)
    return status  # pragma: no cover - exit_now does not return


#: How often :func:`finish` asks again which threads hold the process (seconds).
_EXIT_POLL = 0.01


def _describe(thread: threading.Thread, frames: dict[int, FrameType]) -> str:
    """``'name' (file.py:12 in function)``: the thread and where it is now."""
    frame = frames.get(thread.ident) if thread.ident is not None else None
    # Where the module's code is: outside threading.py's waits.
    while frame is not None and frame.f_code.co_filename == threading.__file__:
        frame = frame.f_back
    if frame is None:
        return repr(thread.name)
    code = frame.f_code
    where = f"{os.path.basename(code.co_filename)}:{frame.f_lineno} in {code.co_name}"
    return f"{thread.name!r} ({where})"
