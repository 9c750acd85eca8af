"""The code examples of docs/*.md, found the way a reader sees them.

An example is a fenced ``python`` or ``console`` block. The line just before
its fence may mark it (MyST drops ``%`` lines from the page):

``% example: fragment``
    A piece of a larger program that cannot run alone; it must still compile
    (Python) or parse (console).

A Python block whose first line is a comment naming a file of the repository
(``# example_plugins/.../x.py``), or whose lines appear in order in one of the
repository's Python files, is an excerpt: the test checks it against that file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
#: Where excerpts come from.
SOURCES = ["example_plugins", "examples", "framework"]

_FENCE = re.compile(r"^```(python|console)[^\n]*\n(.*?)^```$", re.MULTILINE | re.DOTALL)
_MARK = re.compile(r"^% example: (\w+)")


@dataclass(frozen=True)
class Example:
    page: str
    line: int
    language: str
    text: str
    mark: str | None

    @property
    def id(self) -> str:
        return f"{self.page}:{self.line}"


def examples(language: str) -> list[Example]:
    found = []
    for path in sorted(DOCS.glob("*.md")):
        text = path.read_text()
        for match in _FENCE.finditer(text):
            if match.group(1) != language:
                continue
            before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
            mark = _MARK.match(before)
            line = text.count("\n", 0, match.start()) + 1
            found.append(Example(path.name, line, language, match.group(2), mark and mark.group(1)))
    return found


def _code_lines(text: str) -> list[str]:
    """The lines that carry code: stripped, trailing comments and ``...`` left out."""
    lines = []
    for raw in text.splitlines():
        line = re.sub(r"\s+#\s.*$", "", raw).strip()
        if line and not line.startswith("#") and line != "...":
            lines.append(line)
    return lines


def _squeezed(line: str) -> str:
    """``line`` without whitespace and trailing commas, so formatting does not count."""
    return re.sub(r",([)\]}])", r"\1", re.sub(r"\s+", "", line))


def _in_order(needles: list[str], haystack: list[str]) -> bool:
    """Whether each of ``needles`` is in ``haystack``, one after the other, however wrapped."""
    text, at = _squeezed("".join(haystack)), 0
    for needle in map(_squeezed, needles):
        found = text.find(needle.rstrip("(["), at)  # a statement the excerpt wraps itself
        if found < 0:
            return False
        at = found + len(needle)
    return True


def excerpt_source(example: Example) -> Path | None:
    """The repository file ``example`` quotes, or ``None``."""
    first = example.text.splitlines()[0]
    lines = _code_lines(example.text)
    if named := re.match(r"#\s*([\w./-]+\.py)\b", first):
        path = REPO / named.group(1)
        if not path.is_file():
            raise AssertionError(f"{example.id} quotes {named.group(1)}, which does not exist")
        return path if _in_order(lines, _code_lines(path.read_text())) else None
    for folder in SOURCES:
        for path in sorted((REPO / folder).rglob("*.py")):
            if _in_order(lines, _code_lines(path.read_text())):
                return path
    return None
