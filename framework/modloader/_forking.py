"""A host started before a fork (gunicorn ``--preload``) works in every child.

``os.fork`` copies one thread and every lock as it was. Two things would go
wrong in the child without this module: a lock held by another thread of the
parent at that instant stays held forever, and the control socket's threads
are gone while its listening socket is shared with the parent. So:

* before the fork, the forking thread takes each host's lifecycle lock (for at
  most :data:`LOCK_WAIT` seconds): no load or unload is half done when the
  memory is copied;
* after it, the parent lets go; the child gets its host's locks fresh
  (``_at_fork_reinit``, as :mod:`logging` does for its own);
* in the child, each socket the parent served on the namespace's default
  location is reopened as the child's own (``<namespace>@<pid>.sock``), with
  the same host behind it; a socket on a path of the caller's choice stays the
  parent's, and the child logs that it has none.

Every child then answers ``modloader -rx`` like a host started in it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
import weakref
from typing import TYPE_CHECKING
from typing import Any
from typing import Final

if TYPE_CHECKING:
    from modloader._control.unix import ControlServer

__all__ = ["LOCK_WAIT", "track_host", "track_server"]

logger = logging.getLogger("modloader.control")

#: Seconds a fork waits for a load or unload running in another thread to end.
LOCK_WAIT: Final = 10.0

_hosts: weakref.WeakSet[Any] = weakref.WeakSet()
_servers: weakref.WeakSet[ControlServer] = weakref.WeakSet()
_held: list[Any] = []


def track_host(host: Any) -> None:
    """Give ``host`` (a :class:`~modloader.Host`) fresh locks in a forked child."""
    _hosts.add(host)


def track_server(server: ControlServer) -> None:
    """Reopen ``server`` as the child's own socket in a forked child (default location only)."""
    _servers.add(server)


def _host_locks(host: Any) -> list[Any]:
    """The locks of a host that a child must not inherit held."""
    lifecycle = getattr(host, "_lifecycle", None)
    operations = getattr(host, "_operations", None)
    events = getattr(lifecycle, "events", None)
    found = [
        getattr(operations, "_reload_guard", None),
        getattr(events, "_lock", None),
        getattr(getattr(host, "_stopping", None), "guard", None),
    ]
    return [lock for lock in found if lock is not None]


def _before() -> None:
    for host in list(_hosts):
        lifecycle = getattr(host, "_lifecycle", None)
        if lifecycle is None:
            continue
        if _settle(lifecycle, getattr(host, "namespace", "a host")):
            _held.append(lifecycle.lock)


def _settle(lifecycle: Any, namespace: str) -> bool:
    """Take ``lifecycle``'s lock at a moment no module's code runs for an operation.

    The lock is let go while a module's ``load()``, ``unload()`` or ``reload()``
    runs in its call thread; forked then, the child would have the module busy
    for good (the call's thread is not in the child), and its stop would wait
    for it for the whole time limit. So the lock is taken, and while a module
    is busy it is let go again and the fork waits, for at most
    :data:`LOCK_WAIT` seconds in all. A fork made by module code itself (say
    ``multiprocessing`` in a ``load()``) does not wait for its own call.
    """
    from modloader._registry.calls import in_module_call

    lock = lifecycle.lock
    deadline = time.monotonic() + LOCK_WAIT
    own = in_module_call()
    while True:
        if not lock.acquire(timeout=max(deadline - time.monotonic(), 0.0)):
            logger.warning(
                "forking while a module operation of %s still runs after %g s; "
                "the child gets fresh locks anyway",
                namespace,
                LOCK_WAIT,
            )
            return False
        busy = [] if own else [r.name for r in lifecycle.modules.records() if r.busy]
        if not busy:
            return True
        if time.monotonic() >= deadline:
            logger.warning(
                "forking while module code of %s still runs after %g s (%s); "
                "in the child it never returns",
                namespace,
                LOCK_WAIT,
                ", ".join(busy),
            )
            return True
        lock.release()
        time.sleep(_POLL)


#: Seconds between two looks at whether module code still runs (see :func:`_settle`).
_POLL = 0.002


def _after_in_parent() -> None:
    while _held:
        _held.pop().release()


def _after_in_child() -> None:
    _held.clear()
    for host in list(_hosts):
        lifecycle = getattr(host, "_lifecycle", None)
        for lock in [getattr(lifecycle, "lock", None), *_host_locks(host)]:
            reinit = getattr(lock, "_at_fork_reinit", None)
            if reinit is not None:
                reinit()
    for server in list(_servers):
        try:
            _reopen(server)
        except Exception:  # a child must come up even when its socket cannot
            logger.exception(
                "control socket %s: cannot reopen it in pid %d", server.path, os.getpid()
            )


def _reopen(server: ControlServer) -> None:
    """Drop the parent's socket in this child; serve the child's own where it may."""
    from modloader._control.unix import ServerState

    if server.state is not ServerState.LISTENING:
        return
    inherited = server.path
    for fd in (server._wake_r, server._wake_w):
        with contextlib.suppress(OSError):
            os.close(fd)
    if server._listener is not None:
        server._listener.close()  # this process's copy only: the parent still listens
    for conn in list(server._connections):
        with contextlib.suppress(OSError):
            conn.sock.close()
    server._connections.clear()
    server._lock = threading.Lock()
    server._listener = None
    server._identity = None
    server._acceptor = None
    if not server.workers:
        server._state = ServerState.CLOSED
        logger.warning(
            "control socket %s belongs to pid %d; this process (pid %d), forked from it, "
            "serves none (serve on the default location to reach every process)",
            inherited,
            os.getppid(),
            os.getpid(),
        )
        return
    server._state = ServerState.NEW
    server.path = server.requested_path
    server.start()


os.register_at_fork(
    before=_before, after_in_parent=_after_in_parent, after_in_child=_after_in_child
)
