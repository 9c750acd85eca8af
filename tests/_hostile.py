"""Objects a careless module hands the host: what the tests attack it with."""

from __future__ import annotations


class Unsayable(Exception):
    """An exception whose ``str()`` raises ``what`` (a careless ``__str__``)."""

    def __init__(self, what: BaseException) -> None:
        super().__init__()
        self.what = what

    def __str__(self) -> str:
        raise self.what
