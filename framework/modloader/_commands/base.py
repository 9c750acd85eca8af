"""The command language's result and the executor the console and socket drive."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from typing import Any
from typing import Protocol

__all__ = ["CommandResult", "Executor"]


@dataclass(slots=True)
class CommandResult:
    """What one command did: its text, its structured form, and success."""

    #: The command line as typed.
    line: str
    #: ``True`` when the command succeeded.
    ok: bool = True
    #: The text rendering, as the console prints it (no trailing newline needed).
    output: str = ""
    #: The structured form (JSON-serialisable), for ``--json`` and Python callers:
    #: ``module show`` gives ``{"modules": [...], "count": N}``, a module operation
    #: ``{"ok": ..., "lines": [...]}``, a failure ``{"error": code}``.
    data: dict[str, Any] | None = None
    #: Extra lines for the log (not part of the output).
    notes: list[str] = field(default_factory=list)

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
