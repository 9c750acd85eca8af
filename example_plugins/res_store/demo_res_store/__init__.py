"""res_store: a key/value store other demo modules depend on.

The entry point names an *instance* (``demo_res_store:store``): the same object
serves every load, so ``load()`` starts from a clean state itself. Use an
instance when other code (here, modules holding a reference) should reach the
module through one well-known object.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

from modloader import hookimpl
from modloader.errors import UsageError
from modloader.module import LoadPriority
from modloader.module import SupportLevel

if TYPE_CHECKING:
    from modloader import ModuleContext


class Store:
    """A thread-safe ``str -> str`` store with ``store show`` and ``store get KEY`` commands."""

    description = "In-memory key/value store for the other demo modules"
    support_level = SupportLevel.CORE
    # A realtime driver in Asterisk's terms: it starts before ordinary modules,
    # because others read their data from it.
    load_priority = LoadPriority.REALTIME_DRIVER

    def __init__(self) -> None:
        self._data: dict[str, str] = {}
        self._lock = threading.Lock()

    def load(self, ctx: ModuleContext) -> None:
        with self._lock:
            self._data.clear()
        ctx.register_command("store show", self._show, summary="List the stored keys")
        ctx.register_command(
            "store get", self._get_command, summary="Print one value", usage="store get KEY"
        )

    def unload(self, ctx: ModuleContext) -> None:
        with self._lock:
            count = len(self._data)
            ctx.logger.info("dropping %d key%s", count, "" if count == 1 else "s")
            self._data.clear()

    # -- what the modules that use() this one call --------------------------------

    def put(self, key: str, value: str) -> None:
        with self._lock:
            self._data[key] = value

    def get(self, key: str, default: str | None = None) -> str | None:
        with self._lock:
            return self._data.get(key, default)

    def keys(self) -> list[str]:
        with self._lock:
            return sorted(self._data)

    # -- the demo host's hook (``demo status``) ----------------------------------

    @hookimpl
    def demo_status(self) -> str:
        count = len(self.keys())
        return f"res_store: {count} key{'' if count == 1 else 's'} stored"

    # -- console commands ----------------------------------------------------------

    def _show(self, args: Sequence[str]) -> str:
        if args:
            raise UsageError("store show takes no arguments")
        keys = self.keys()
        return "\n".join([*keys, f"{len(keys)} keys"])

    def _get_command(self, args: Sequence[str]) -> str:
        if len(args) != 1:
            raise UsageError("store get takes exactly one key")
        value = self.get(args[0])
        return f"{args[0]} is not set" if value is None else f"{args[0]} = {value}"


#: The object the entry point names.
store = Store()
