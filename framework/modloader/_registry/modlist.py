"""The module list: every module the host knows, and how a name finds one."""

from __future__ import annotations

from collections.abc import Mapping
from operator import attrgetter

from modloader._names import name_key
from modloader._names import suggest
from modloader._registry.record import ModuleRecord
from modloader._registry.states import ModuleState
from modloader.errors import NoSuchModuleError

__all__ = ["ModuleList"]

_REMOVED = ModuleState.REMOVED


class ModuleList:
    """Records by name key, plus the exact spellings ``use()`` has looked them up by."""

    __slots__ = ("_by_spelling", "_records")

    def __init__(self) -> None:
        self._records: dict[str, ModuleRecord] = {}
        self._by_spelling: dict[str, ModuleRecord] = {}

    def spellings(self) -> Mapping[str, ModuleRecord]:
        """Exact spelling -> record, for the names looked up before: a live, read-only view.

        One lookup there, with no normalisation, is the hot path of ``use()``;
        a miss (or a removed record) goes through :meth:`get`.
        """
        return self._by_spelling

    def find(self, name: str) -> ModuleRecord | None:
        """The record ``name`` matches (case-insensitive, ``.so`` ignored), or ``None``."""
        record = self._by_spelling.get(name)
        if record is not None and record.state is not _REMOVED:
            return record
        record = self._records.get(name_key(name))
        if record is None or record.state is _REMOVED:
            return None
        self._by_spelling[name] = record
        record.spellings.append(name)
        return record

    def get(self, name: str) -> ModuleRecord:
        """:raises NoSuchModuleError: with the closest names, if ``name`` matches none."""
        record = self.find(name)
        if record is None:
            raise NoSuchModuleError(name, suggest(name, [r.name for r in self.records()]))
        return record

    def records(self) -> list[ModuleRecord]:
        """A snapshot of the list, in no particular order."""
        return list(self._records.values())

    def ordered(self) -> list[ModuleRecord]:
        """The module list, sorted case-insensitively by name."""
        return sorted(self.records(), key=_SHOWN_ORDER)

    def running_in_start_order(self) -> list[ModuleRecord]:
        running = [r for r in self.records() if r.state in (ModuleState.RUNNING, _UNLOADING)]
        return sorted(running, key=lambda r: r.start_seq)

    def add(self, record: ModuleRecord) -> None:
        """Put ``record`` in the list, in place of any record of the same name."""
        old = self._records.get(record.key)
        if old is not None:
            self.forget(old)
        self._records[record.key] = record

    def forget(self, record: ModuleRecord) -> None:
        """Take ``record`` out of the list and out of the spelling index."""
        if self._records.get(record.key) is record:
            del self._records[record.key]
        for spelling in record.spellings:
            if self._by_spelling.get(spelling) is record:
                del self._by_spelling[spelling]


_UNLOADING = ModuleState.UNLOADING
_SHOWN_ORDER = attrgetter("shown_order")
