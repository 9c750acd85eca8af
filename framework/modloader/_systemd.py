"""systemd's service protocol, without a dependency: readiness and journald.

``Type=notify`` services tell systemd their state by sending datagrams such as
``READY=1`` to the socket named by ``NOTIFY_SOCKET`` (sd_notify(3)). A host run
by the ``modloader`` command sends ``READY=1`` once startup has finished,
``RELOADING=1`` (with ``MONOTONIC_USEC``) and ``READY=1`` around a reload of
every module, and ``STOPPING=1`` when it begins to stop. Outside systemd
(``NOTIFY_SOCKET`` unset) every call is a no-op that costs one dictionary
look-up.

Under systemd the standard streams go to the journal (``JOURNAL_STREAM`` is
set); log lines then carry their syslog priority as a ``<N>`` prefix
(sd-daemon(3)) and no timestamp, which the journal adds itself.
"""

from __future__ import annotations

import logging
import os
import time

__all__ = ["JournalFormatter", "notify", "under_journal"]

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
