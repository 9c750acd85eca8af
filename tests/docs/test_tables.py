"""The pages' tables: each row has as many cells as its header.

A ``|`` inside inline code still ends a cell unless escaped (``\\|``), and a
paragraph between two rows ends the table: the rows after it were shown as
text (both happened in the pages before this test).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted([*(ROOT / "docs").glob("*.md"), ROOT / "README.md", ROOT / "CHANGELOG.md"])
_SEPARATOR = re.compile(r"^\|[\s:|-]+\|\s*$")


def _cells(row: str) -> int:
    return row.count("|") - row.count("\\|")


def _table_problems(text: str) -> list[str]:
    problems: list[str] = []
    lines = text.splitlines()
    in_code, header = False, 0
    for number, line in enumerate(lines, 1):
        if line.startswith("```"):
            in_code, header = not in_code, 0
            continue
        if in_code or not line.startswith("|"):
            header = 0
            continue
        if not header:  # a table begins: its header, then the separator row
            following = lines[number] if number < len(lines) else ""
            if not _SEPARATOR.match(following):
                problems.append(f"{number}: a row outside a table (no header before it)")
            header = _cells(line)
        elif _cells(line) != header:
            problems.append(f"{number}: {_cells(line) - 1} cells, the header has {header - 1}")
    return problems


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_row_fits_its_table(page: Path) -> None:
    assert _table_problems(page.read_text("utf-8")) == []


def test_the_check_finds_both_faults() -> None:
    split = "| a | b |\n|---|---|\n| 1 | 2 |\n\ntext\n| 3 | 4 |\n"
    piped = "| a | b |\n|---|---|\n| `x | y` | 2 |\n"
    assert _table_problems(split) == ["6: a row outside a table (no header before it)"]
    assert _table_problems(piped) == ["3: 3 cells, the header has 2"]
