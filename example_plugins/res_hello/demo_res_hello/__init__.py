"""res_hello: the smallest useful modloader module.

The entry point names the class (``demo_res_hello:HelloModule``), so the
loader makes a fresh instance, with no arguments, every time the module is
loaded. Subclassing :class:`modloader.module.Module` is optional; it only
spells out the defaults of every attribute.

Its one setting, the greeting, comes from ``res_hello.conf`` in the host's
configuration folder, or ``<PREFIX>RES_HELLO__GREETING`` in the environment
(``MODLOADER_RES_HELLO__GREETING`` for the ``modloader`` command)::

    [general]
    greeting = Good evening
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from modloader import ModuleSettings
from modloader import hookimpl
from modloader.errors import UsageError
from modloader.module import LoadResult
from modloader.module import Module
from modloader.module import ReloadResult
from modloader.module import SupportLevel

if TYPE_CHECKING:
    from modloader import ModuleContext


class HelloSettings(ModuleSettings):
    """What ``res_hello.conf`` may set."""

    #: The first word of every answer.
    greeting: str = "Hello"


class HelloModule(Module):
    """Registers ``hello [NAME]``, which answers with a greeting."""

    description = "Says hello from the console"
    support_level = SupportLevel.CORE
    settings_model = HelloSettings

    def __init__(self) -> None:
        self.greeting = "Hello"
        self.greeted = 0

    def load(self, ctx: ModuleContext[HelloSettings]) -> LoadResult:
        # ctx.settings is validated before load() is called: no parsing here.
        self.greeting = ctx.settings.greeting
        # The loader removes this command when the module is unloaded, however
        # it is unloaded: there is nothing to undo in unload().
        ctx.register_command("hello", self.hello, summary="Say hello", usage="hello [NAME]")
        ctx.logger.info("greeting with %r", self.greeting)
        return LoadResult.SUCCESS  # returning None means the same

    def unload(self, ctx: ModuleContext[HelloSettings]) -> bool:
        ctx.logger.info("said hello %s", _times(self.greeted))
        return True  # False would refuse the unload

    def reload(self, ctx: ModuleContext[HelloSettings]) -> ReloadResult:
        # Called only when the settings changed and the new ones are valid;
        # defining reload() at all is what makes "module reload res_hello" apply them.
        self.greeting = ctx.settings.greeting
        ctx.logger.info("greeting is now %r", self.greeting)
        return ReloadResult.SUCCESS

    @hookimpl
    def demo_status(self) -> str:
        """The demo host's hook (``demo status`` at the console calls it)."""
        return f"res_hello: said {self.greeting!r} {_times(self.greeted)}"

    def hello(self, args: Sequence[str]) -> str:
        """The ``hello`` command: ``args`` are the words typed after it."""
        if len(args) > 1:
            raise UsageError("hello takes at most one name")
        self.greeted += 1
        return f"{self.greeting}, {args[0] if args else 'world'}!"


def _times(count: int) -> str:
    """``"1 time"``, ``"2 times"``."""
    return f"{count} time" if count == 1 else f"{count} times"
