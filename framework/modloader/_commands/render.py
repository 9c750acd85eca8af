"""Text renderings: the ``module show`` table as Asterisk prints it (SPEC 5.1)."""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Mapping
from typing import Any

__all__ = ["render_module_table"]

# main/loader.c: MODLIST_FORMAT "%-30s %-40.40s %-10d %-11s %13s"
_ROW = "{:<30} {:<40.40} {:<10} {:<11} {:>13}"


def render_module_table(rows: Iterable[Mapping[str, Any]]) -> list[str]:
    """Header, one row per module, and ``N modules loaded`` (always that plural)."""
    lines = [_ROW.format("Module", "Description", "Use Count", "Status", "Support Level")]
    count = 0
    for row in rows:
        count += 1
        lines.append(
            _ROW.format(
                row["name"],
                row["description"],
                row["use_count"],
                row["status"],
                row["support_level"],
            )
        )
    lines.append(f"{count} modules loaded")
    return lines
