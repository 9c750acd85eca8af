"""Objects a careless module hands the host: what the tests attack it with."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class Unsayable(Exception):
    """An exception whose ``str()`` raises ``what`` (a careless ``__str__``)."""

    def __init__(self, what: BaseException) -> None:
        super().__init__()
        self.what = what

    def __str__(self) -> str:
        raise self.what


class Untellable(Exception):
    """An exception whose traceback cannot be formatted: its ``__notes__`` raise ``what``."""

    def __init__(self, what: BaseException) -> None:
        super().__init__()
        self.what = what

    @property
    def __notes__(self) -> list[str]:
        raise self.what


def within(seconds: float, fn: Callable[[], T]) -> T:
    """``fn()``'s result, run in a daemon thread: the test fails, rather than hangs,
    when ``fn`` blocks longer than ``seconds`` (on a FIFO, a lock ...)."""
    out: list[T] = []
    thread = threading.Thread(target=lambda: out.append(fn()), daemon=True)
    thread.start()
    thread.join(seconds)
    assert out, f"blocked for more than {seconds:g} s"
    return out[0]
