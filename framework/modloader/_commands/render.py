"""Asterisk's wording, made from the registry's typed outcomes and errors (SPEC 5).

The one place operator text is made: the console, ``-rx`` and ``-x`` print
what these functions return.
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any

from modloader._names import name_key
from modloader._registry.outcomes import LoadOutcome
from modloader._registry.outcomes import ModuleInfo
from modloader._registry.outcomes import RefreshOutcome
from modloader._registry.outcomes import ReloadOutcome
from modloader._registry.outcomes import ReloadStatus
from modloader._registry.outcomes import UnloadOutcome
from modloader._registry.record import ModuleRecord
from modloader._text import fit
from modloader._text import plain_ascii
from modloader.errors import DependencyError
from modloader.errors import InvalidSettingsError
from modloader.errors import LoadDeclinedError
from modloader.errors import ModLoaderError
from modloader.errors import ModuleError
from modloader.errors import ModuleNotInstalledError
from modloader.errors import ModuleNotRunningError
from modloader.errors import NameConflictError
from modloader.errors import NoSuchModuleError
from modloader.errors import UnloadRefusedError

__all__ = [
    "load_lines",
    "refresh_lines",
    "reload_lines",
    "render_module_table",
    "unload_lines",
]

# main/loader.c's MODLIST_FORMAT2, printf's: its header's format, and its rows' but for the
# use count's %-10d (%-10s writes an int alike).
_ROW = "%-30s %-40.40s %-10s %-11s %13s"

#: Errors of a load step (the others are of an unload step).
_LOAD_ERRORS = (ModuleNotInstalledError, NameConflictError, DependencyError, LoadDeclinedError)


def render_module_table(rows: Iterable[ModuleRecord | ModuleInfo | Mapping[str, Any]]) -> list[str]:
    """Header, one row per module, and ``N modules loaded`` (always that plural).

    A row is a module's record, its :class:`ModuleInfo` or the latter's
    :meth:`~ModuleInfo.to_dict` form. Its cells are aligned in terminal columns (a CJK
    character takes two, a combining accent none) and its control characters escaped
    (:func:`~modloader._text.fit`); Asterisk's own table counts bytes.
    """
    lines = [_ROW % ("Module", "Description", "Use Count", "Status", "Support Level")]
    table: list[tuple[Any, ...]] = []
    for row in rows:
        if isinstance(row, ModuleRecord):
            table.append(
                (
                    row.name,
                    row.shown_description,
                    len(row.holders),
                    row.state.status,
                    row.support_level,
                )
            )
        else:
            table.append(
                (
                    row["name"],
                    row["description"],
                    row["use_count"],
                    row["status"],
                    row["support_level"],
                )
            )
    lines += [_ROW % cells for cells in table]
    if not plain_ascii("".join(lines)):  # rows in terminal columns, not characters
        lines[1:] = [_row(line, cells) for line, cells in zip(lines[1:], table, strict=True)]
    lines.append(f"{len(table)} modules loaded")
    return lines


def _row(line: str, cells: tuple[Any, ...]) -> str:
    """``line`` if it is printable ASCII; else its cells escaped, aligned in terminal columns."""
    if plain_ascii(line):
        return line
    name, description, uses, status, level = cells
    return f"{fit(name, 30)} {fit(description, 40, cut=True)} {uses:<10} {status:<11} {level:>13}"


def _declined_first(name: str) -> str:
    return f"Unloading module '{name}' that previously declined to load"


# -- load ------------------------------------------------------------------------------


def load_lines(name: str, result: LoadOutcome | ModLoaderError) -> list[str]:
    """``module load <name>`` (SPEC 5.2)."""
    lines = [_declined_first(name)] if _replaced(result) else []
    if isinstance(result, LoadOutcome):
        return [*lines, f"Loaded {name}"]
    if isinstance(result, NameConflictError):
        return [*lines, f"Error loading module '{name}': {result.reason}"]
    if isinstance(result, LoadDeclinedError):
        if result.reason and result.importing:
            lines.append(f"{name} declined to load: {result.reason}")
        elif result.reason:
            lines.append(f"{name}: {result.reason}")
    return [*lines, result.message]


def _replaced(result: LoadOutcome | ModLoaderError) -> bool:
    if isinstance(result, LoadOutcome):
        return result.replaced_declined
    return isinstance(result, ModuleError) and result.replaced_declined


# -- unload ----------------------------------------------------------------------------


def _forced(name: str, count: int, dependents: Sequence[str]) -> list[str]:
    if not count:
        return []
    lines = [f"Forcing removal of module '{name}' with use count {count}"]
    return lines + [f"Unloaded dependent module {d}" for d in dependents]


def unload_lines(name: str, result: UnloadOutcome | ModLoaderError) -> list[str]:
    """One name of ``module unload`` (SPEC 5.3); a refusal ends with ``Unable to unload``."""
    if isinstance(result, UnloadOutcome):
        if result.previously_declined:
            return [_declined_first(name), f"Unloaded {name}"]
        lines = _forced(name, result.forced_use_count, result.dependents_unloaded)
        if result.removed_despite_refusal is not None:
            lines.append(f"Firm unload failed for {name}")
            lines.append("** Dangerous **: Unloading resource anyway, at user request")
        return [*lines, f"Unloaded {name}"]
    return [*_unload_refusal(name, result), f"Unable to unload resource {name}"]


def _unload_refusal(name: str, error: ModLoaderError) -> list[str]:
    if isinstance(error, UnloadRefusedError):
        lines = _forced(name, error.forced_use_count, error.dependents_unloaded)
        return [*lines, error.message]
    if isinstance(error, NoSuchModuleError):
        return [f"Unload failed, '{name}' could not be found"]
    return [error.message]


# -- reload ----------------------------------------------------------------------------


def reload_lines(names: Sequence[str], result: ReloadOutcome | ModLoaderError) -> list[str]:
    """``module reload [names]`` (SPEC 5.4): one line per name.

    With no name, one line (and its errors) per module that declares settings.
    """
    if not isinstance(result, ReloadOutcome):
        return [result.message]
    if result.queued:
        what = ", ".join(names) if names else "all modules"
        return [f"{what}: cannot reload a module yet; request queued"]
    if not names:
        lines: list[str] = []
        for swap in result.settings:
            refusal = swap.error()
            if refusal is None:
                lines += _reloaded(swap.name, swap.status)
            else:
                lines += _reload_refusal(swap.name, refusal)
        return lines
    refused = list(result.refused)
    lines = []
    for name in names:
        error = next((e for e in refused if e.name == name), None)
        if error is None:
            status = ReloadStatus.UNCHANGED if name in result.unchanged else ReloadStatus.APPLIED
            lines += _reloaded(name, status)
            continue
        refused.remove(error)
        lines += _reload_refusal(name, error)
    return lines


def _reloaded(name: str, status: ReloadStatus) -> list[str]:
    if status is ReloadStatus.UNCHANGED:
        return [f"Module '{name}' settings unchanged; not reloaded."]
    return [f"Module '{name}' reloaded successfully."]


def _reload_refusal(name: str, error: ModLoaderError) -> list[str]:
    if isinstance(error, ModuleNotRunningError):
        return [
            f"The module '{name}' was not properly initialized. Before reloading the module, "
            f'you must run "module load {name}" and fix whatever is preventing the module '
            "from being initialized."
        ]
    if isinstance(error, NoSuchModuleError):
        return [f"No such module '{name}'"]
    if isinstance(error, InvalidSettingsError):
        return [error.message, *(f"  {issue}" for issue in error.errors)]
    return [error.message]


# -- refresh ---------------------------------------------------------------------------


def refresh_lines(name: str, result: RefreshOutcome | ModLoaderError) -> list[str]:
    """``module refresh <name> [recursively]`` (SPEC 5.5)."""
    if isinstance(result, RefreshOutcome):
        lines = [f"Unloaded {d.name}" for d in result.dependents_unloaded]
        for back in result.dependents_loaded:
            lines += load_lines(back.name, back)
        return [*lines, f"Unloaded and loaded {name}"]
    done = list(result.progress) if isinstance(result, ModuleError) else []
    lines = [f"Unloaded {d.name}" for d in done if name_key(d.name) != name_key(name)]
    if isinstance(result, _LOAD_ERRORS):
        return [*lines, *load_lines(name, result), f"Unable to load resource {name}"]
    failed = result.name if isinstance(result, ModuleError) else name
    lines += _unload_refusal(failed, result)
    if isinstance(result, UnloadRefusedError) and failed != name:
        lines.append(f"Unable to unload resource {failed}")
    return [*lines, f"Unable to unload resource {name}"]
