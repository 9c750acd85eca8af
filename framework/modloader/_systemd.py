"""systemd's service protocol, without a dependency: readiness and journald.

``Type=notify`` services tell systemd their state by sending datagrams such as
``READY=1`` to the socket named by ``NOTIFY_SOCKET`` (sd_notify(3)). A host run
by the ``modloader`` command sends ``READY=1`` once startup has finished,
``RELOADING=1`` (with ``MONOTONIC_USEC``) and ``READY=1`` around a reload of
every module, and ``STOPPING=1`` when it begins to stop. With ``WatchdogSec=``
(systemd sets ``WATCHDOG_USEC``), a :class:`Watchdog` sends ``WATCHDOG=1``
twice per period while the host is well. Outside systemd (``NOTIFY_SOCKET``
unset) every call is a no-op that costs one dictionary look-up.

Under systemd the standard streams go to the journal (``JOURNAL_STREAM`` is
set); log lines then carry their syslog priority as a ``<N>`` prefix
(sd-daemon(3)) and no timestamp, which the journal adds itself.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from collections.abc import Mapping

__all__ = ["JournalFormatter", "Watchdog", "notify", "under_journal", "watchdog_interval"]

_log = logging.getLogger("modloader")

#: syslog priorities of the logging levels, as sd-daemon(3) prefixes them.
_PRIORITIES = ((logging.CRITICAL, 2), (logging.ERROR, 3), (logging.WARNING, 4), (logging.INFO, 6))


def notify(*fields: str, environ: dict[str, str] | None = None) -> bool:
    """Send ``fields`` (``"READY=1"``, ``"STATUS=…"``) to systemd, if it listens.

    ``RELOADING=1`` gets the ``MONOTONIC_USEC`` field systemd asks for.

    :returns: ``True`` when a datagram was sent; ``False`` outside systemd or
        when the socket could not be reached (logged at debug; never raised:
        a service manager's absence must not stop the host).
    """
    address = (os.environ if environ is None else environ).get("NOTIFY_SOCKET", "")
    if not address:
        return False
    if address.startswith("@"):  # an abstract socket
        address = "\0" + address[1:]
    lines = list(fields)
    if "RELOADING=1" in lines:
        lines.append(f"MONOTONIC_USEC={time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000}")
    import socket

    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall("\n".join(lines).encode("utf-8", "backslashreplace"))
    except OSError as exc:
        _log.debug("could not notify systemd at %r: %s", address, exc)
        return False
    return True


def under_journal(environ: dict[str, str] | None = None) -> bool:
    """Whether standard error goes to systemd's journal (``JOURNAL_STREAM`` names it).

    systemd sets ``JOURNAL_STREAM`` to ``device:inode`` of the stream it
    connected; a process whose standard error is that stream logs for the
    journal. A child whose stderr was redirected elsewhere does not.
    """
    value = (os.environ if environ is None else environ).get("JOURNAL_STREAM", "")
    device, _, inode = value.partition(":")
    if not (device.isdigit() and inode.isdigit()):
        return False
    try:
        status = os.fstat(2)
    except OSError:
        return False
    return (status.st_dev, status.st_ino) == (int(device), int(inode))


class JournalFormatter(logging.Formatter):
    """``<priority>message``: what journald reads from a service's standard error."""

    def __init__(self) -> None:
        super().__init__("%(message)s")

    def format(self, record: logging.LogRecord) -> str:
        priority = next((p for level, p in _PRIORITIES if record.levelno >= level), 7)
        text = super().format(record)
        # Every line of a traceback keeps the priority of its record.
        return "\n".join(f"<{priority}>{line}" for line in text.split("\n"))


def watchdog_interval(environ: Mapping[str, str] | None = None) -> float | None:
    """Seconds between ``WATCHDOG=1`` pings: half of ``WatchdogSec=``, as sd_watchdog_enabled(3)
    advises; ``None`` when systemd asks for none, or asks another process (``WATCHDOG_PID``)."""
    env = os.environ if environ is None else environ
    usec, pid = env.get("WATCHDOG_USEC", ""), env.get("WATCHDOG_PID", "")
    if not env.get("NOTIFY_SOCKET") or not usec.isdigit() or int(usec) == 0:
        return None
    if pid and pid != str(os.getpid()):
        return None
    return int(usec) / 2e6


class Watchdog:
    """Sends ``WATCHDOG=1`` every ``interval`` seconds while ``healthy()`` says so.

    A host that stops pinging is restarted by systemd (``Restart=``): one that no
    longer serves its control socket, or whose interpreter is held (module code
    that keeps the interpreter lock, a deadlock), since this thread then cannot
    run either.
    """

    def __init__(self, interval: float, healthy: Callable[[], bool], unwell: str) -> None:
        self.interval = interval
        self.healthy = healthy
        #: What is wrong when ``healthy()`` says no, for the log.
        self.unwell = unwell
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="modloader-watchdog", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Send no more pings (idempotent); the thread is gone when this returns."""
        self._done.set()
        if self._thread.ident is not None:
            self._thread.join()

    def _run(self) -> None:
        well = True
        while not self._done.wait(self.interval):
            try:
                now_well = bool(self.healthy())
            except Exception:
                _log.exception("the watchdog's health check failed")
                now_well = False
            if now_well:
                notify("WATCHDOG=1")
            elif well:  # said once: systemd restarts the service when WatchdogSec= passes
                _log.error(
                    "%s: systemd is no longer told the host is alive, and restarts it after "
                    "WatchdogSec=",
                    self.unwell,
                )
            well = now_well
