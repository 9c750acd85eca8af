"""A stand-in for the loader's ModuleContext: enough to call a module's hooks in a test.

It keeps what a module registers so a test can run its commands and check the
use counts it leaves behind. ``running`` maps module names to the objects that
``use()`` hands out.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from collections.abc import Sequence
from typing import Any

import pytest

from modloader.errors import ModuleNotRunningError
from modloader.errors import NoSuchCommandError


class FakeHandle:
    def __init__(self, ctx: FakeContext, name: str, holder: str) -> None:
        self._ctx = ctx
        self.name = name
        self.holder = holder
        self.obj = ctx.running[name]
        self.released = False

    def release(self) -> None:
        if not self.released:
            self.released = True
            self._ctx.use_counts[self.name] -= 1

    def __enter__(self) -> FakeHandle:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()


class FakeContext:
    def __init__(self, name: str, running: dict[str, Any] | None = None) -> None:
        self.name = name
        self.host = None
        self.logger = logging.getLogger(f"modloader.module.{name}")
        self.running = dict(running or {})
        self.use_counts: Counter[str] = Counter()
        self.commands: dict[str, Callable[[Sequence[str]], str | None]] = {}
        self.registrations: list[tuple[str, Callable[[], None]]] = []

    def use(self, name: str, holder: str | None = None) -> FakeHandle:
        if name not in self.running:
            raise ModuleNotRunningError(name, "Not Running")
        self.use_counts[name] += 1
        return FakeHandle(self, name, holder or self.name)

    def register_command(
        self,
        words: str,
        handler: Callable[[Sequence[str]], str | None],
        *,
        summary: str = "",
        usage: str | None = None,
    ) -> None:
        assert words not in self.commands, f"{words!r} registered twice"
        self.commands[words] = handler

    def register(self, what: str, remove: Callable[[], None]) -> None:
        self.registrations.append((what, remove))

    def run(self, line: str) -> str | None:
        """Run a registered command the way the console does (longest matching words)."""
        words = line.split()
        for n in range(len(words), 0, -1):
            handler = self.commands.get(" ".join(words[:n]))
            if handler is not None:
                return handler(words[n:])
        raise NoSuchCommandError(line)

    def remove_registrations(self) -> None:
        """What the loader does after a module is unloaded."""
        for _what, remove in reversed(self.registrations):
            remove()
        self.registrations.clear()
        self.commands.clear()


@pytest.fixture
def make_ctx() -> type[FakeContext]:
    return FakeContext
