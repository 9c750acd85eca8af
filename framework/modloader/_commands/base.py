"""The command language's result and the executor the console and socket drive."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from typing import Protocol

__all__ = ["CommandResult", "Executor"]


class CommandResult:
    """What one command did: its text, its structured form, and success.

    ``data`` may be given as a function that makes it: it is then made when
    first read (a text-only caller never pays for it).
    """

    __slots__ = ("_data", "line", "notes", "ok", "output")

    def __init__(
        self,
        line: str,
        ok: bool = True,
        output: str = "",
        data: dict[str, Any] | Callable[[], dict[str, Any]] | None = None,
        notes: list[str] | None = None,
    ) -> None:
        #: The command line as typed.
        self.line = line
        #: ``True`` when the command succeeded.
        self.ok = ok
        #: The text rendering, as the console prints it (no trailing newline needed).
        self.output = output
        self._data = data
        #: Extra lines for the log (not part of the output).
        self.notes = [] if notes is None else notes

    def __repr__(self) -> str:
        return f"CommandResult(line={self.line!r}, ok={self.ok!r}, output={self.output!r})"

    @property
    def data(self) -> dict[str, Any] | None:
        """The structured form (JSON-serialisable), for ``--json`` and Python callers.

        ``module show`` gives ``{"modules": [...], "count": N}``, a module
        operation ``{"ok": ..., "lines": [...]}`` with its typed outcome
        (``"outcome"``, or ``"outcomes"`` for ``module unload``), and a failure the
        error's ``{"error": code, "message": ..., "facts": {...}}``
        (:meth:`~modloader.errors.ModLoaderError.to_dict`).
        """
        if callable(self._data):
            self._data = self._data()
        return self._data

    @data.setter
    def data(self, value: dict[str, Any] | None) -> None:
        self._data = value

    @property
    def exit_code(self) -> int:
        """0 on success, 1 on failure (SPEC 7)."""
        return 0 if self.ok else 1


class Executor(Protocol):
    """Something that runs command lines: a host, or a remote host over the socket."""

    def execute(self, line: str) -> CommandResult:
        """Run one command line. Failures are results (``ok=False``), not exceptions."""
        ...

    def complete(self, line: str) -> list[str]:
        """Candidates for the last (possibly empty) word of ``line``."""
        ...
