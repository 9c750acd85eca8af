"""What module code hands back, put into words without trusting it.

A module's exception, its decline's reason and what its hooks return are its
objects: reading what they say (``str()``, ``repr()``, a traceback) runs its
code. :func:`said` and :func:`told` are called in the module's call, under its
time limit (:mod:`modloader._registry.calls`); :func:`shown` runs no module
code at all.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any

from modloader.module import LoadResult
from modloader.module import ModuleDeclined
from modloader.module import ReloadResult

__all__ = ["headline", "said", "shown", "told"]

_log = logging.getLogger("modloader")


def said(error: BaseException) -> str:
    """What a module's exception says: its ``str()`` (for a decline, its reason's).

    That is the module's code too: it is read in the module's call, under its
    time limit, and whatever reading it raises is said instead.
    """
    try:
        return str(error.reason if isinstance(error, ModuleDeclined) else error)
    except BaseException as exc:
        return f"<its str() raised {type(exc).__name__}>"


def headline(error: BaseException, message: str) -> str:
    """``"ValueError: bad"``, or the class's name alone when the exception says nothing
    (``raise asyncio.CancelledError()``), as Python's own traceback ends."""
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


def told(error: BaseException) -> str:
    """The traceback of a module's exception as text, when the host logs at DEBUG.

    Formatting it runs the module's code as well (the exception's ``str()``, its
    ``__notes__``, those of its causes), so it is done in the module's call, as
    :func:`said` is; ``""`` when nobody would read it, and for a decline.
    """
    if isinstance(error, ModuleDeclined) or not _log.isEnabledFor(logging.DEBUG):
        return ""
    try:
        return "".join(traceback.format_exception(error)).rstrip("\n")
    except BaseException as exc:
        return f"<its traceback could not be formatted: {type(exc).__name__}>"


#: The types of returned values a message shows as they are: their repr() is no module's.
_SHOWN = frozenset({int, float, str, bytes, bool, type(None), LoadResult, ReloadResult})


def shown(value: Any) -> str:
    """A value a module's code returned, for a message: its ``repr()`` when that runs
    no module code (a built-in value, shortened), else the name of its type."""
    if type(value) not in _SHOWN:
        return f"an object of type {type(value).__name__}"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
