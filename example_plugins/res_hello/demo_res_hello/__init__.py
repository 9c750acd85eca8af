"""res_hello: the smallest useful modloader module.

The entry point names the class (``demo_res_hello:HelloModule``), so the
loader makes a fresh instance, with no arguments, every time the module is
loaded. Subclassing :class:`modloader.module.Module` is optional; it only
spells out the defaults of every attribute.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

from modloader import hookimpl
from modloader.errors import UsageError
from modloader.module import LoadResult
from modloader.module import Module
from modloader.module import ReloadResult
from modloader.module import SupportLevel

if TYPE_CHECKING:
    from modloader import ModuleContext

#: Where the greeting comes from; ``module reload res_hello`` reads it again.
GREETING_VARIABLE = "DEMO_HELLO_GREETING"


class HelloModule(Module):
    """Registers ``hello [NAME]``, which answers with a greeting."""

    description = "Says hello from the console"
    support_level = SupportLevel.CORE

    def __init__(self) -> None:
        self.greeting = "Hello"
        self.greeted = 0

    def load(self, ctx: ModuleContext) -> LoadResult:
        self.greeting = os.environ.get(GREETING_VARIABLE, "Hello")
        # The loader removes this command when the module is unloaded, however
        # it is unloaded: there is nothing to undo in unload().
        ctx.register_command("hello", self.hello, summary="Say hello", usage="hello [NAME]")
        ctx.logger.info("greeting with %r", self.greeting)
        return LoadResult.SUCCESS  # returning None means the same

    def unload(self, ctx: ModuleContext) -> bool:
        ctx.logger.info("said hello %d times", self.greeted)
        return True  # False would refuse the unload

    def reload(self, ctx: ModuleContext) -> ReloadResult:
        # Defining reload() at all is what makes "module reload res_hello" work;
        # without it the loader answers "does not support reloads".
        self.greeting = os.environ.get(GREETING_VARIABLE, "Hello")
        ctx.logger.info("greeting is now %r", self.greeting)
        return ReloadResult.SUCCESS

    @hookimpl
    def demo_status(self) -> str:
        """The demo host's hook (``demo status`` at the console calls it)."""
        return f"res_hello: said {self.greeting!r} {self.greeted} times"

    def hello(self, args: Sequence[str]) -> str:
        """The ``hello`` command: ``args`` are the words typed after it."""
        if len(args) > 1:
            raise UsageError("hello takes at most one name")
        self.greeted += 1
        return f"{self.greeting}, {args[0] if args else 'world'}!"
