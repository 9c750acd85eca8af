"""Asterisk's configuration syntax, one file at a time: lines to tokens.

This module knows comments, section headers, ``#`` directives and
``key = value`` lines. It knows nothing of includes or of what the keys mean
(that is :mod:`._parser` and :mod:`._rules`). It imports nothing heavy: it is
on the warm path of every startup.

The comment rules mirror ``main/config.c`` (``config_text_file_load``):

* ``;`` starts a comment; ``\\;`` is a literal semicolon.
* ``;--`` not followed by a third ``-`` opens a block comment, ``--;`` closes
  it; block comments nest and may span lines. ``;------;`` banners are
  ordinary comments.
* The text before a block comment and after its end on the same line is
  kept and joined, as Asterisk does.
"""

# Annotations evaluated, not strings: typing.NamedTuple compiles string ones (docs/design.md).

from collections.abc import Iterator
from typing import NamedTuple

from modloader._names import BLANKS
from modloader.errors import ConfigIssue

__all__ = ["Assign", "Bare", "Hash", "Section", "Token", "decode", "tokenize"]


class Section(NamedTuple):
    """``[name]`` or ``[name](options)``: ``options`` is what the parentheses hold.

    ``modules.conf`` ignores it (it takes no part in comparisons); a module's
    own settings file reads templates (``!``), inheritance (``base``) and
    additions (``+``) from it.
    """

    line: int
    name: str
    options: str = ""


class Assign(NamedTuple):
    """``key = value`` or ``key => value``, split at the first ``=``."""

    line: int
    key: str
    value: str


class Hash(NamedTuple):
    """``#word argument``: ``#include``, ``#tryinclude``, ``#exec`` or anything else."""

    line: int
    word: str
    argument: str


class Bare(NamedTuple):
    """A non-empty line that is none of the above (no ``=``)."""

    line: int
    text: str


Token = Section | Assign | Hash | Bare


def decode(data: bytes) -> str:
    """The text of a file: UTF-8 with or without a byte-order mark.

    Bytes that are not UTF-8 (Latin-1 comments are common in old files)
    become U+FFFD instead of failing the whole file; they only ever matter
    in comments.
    """
    return data.decode("utf-8-sig", errors="replace")


def _is_block_open(text: str, at: int) -> bool:
    return text[at + 1 : at + 3] == "--" and text[at + 3 : at + 4] != "-"


def strip_comments(text: str, depth: int) -> tuple[str, int]:
    """The visible part of one line and the block-comment depth after it.

    ``depth`` is how many block comments are open when the line starts.
    """
    segments: list[str] = []
    keep_from: int | None = 0 if depth == 0 else None
    pos = 0
    while (at := text.find(";", pos)) >= 0:
        if at > pos and text[at - 1] == "\\":
            # "\;" is a literal semicolon: drop the backslash, keep the ";".
            text = text[: at - 1] + text[at:]
            pos = at
            continue
        if _is_block_open(text, at):
            if depth == 0 and keep_from is not None:
                segments.append(text[keep_from:at])
                keep_from = None
            depth += 1
            pos = at + 3
            continue
        if depth > 0:
            if at >= pos + 2 and text[at - 2 : at] == "--":
                depth -= 1
                if depth == 0:
                    keep_from = at + 1
            pos = at + 1
            continue
        # An ordinary comment: the rest of the line is dropped.
        if keep_from is not None:
            segments.append(text[keep_from:at])
        return "".join(segments), depth
    if depth == 0 and keep_from is not None:
        segments.append(text[keep_from:])
    return "".join(segments), depth


def _section(line: int, text: str, source: str) -> Section | ConfigIssue:
    close = text.find("]")
    if close < 0:
        message = f"Bad section header '{text}': no closing ']'"
        return ConfigIssue(source, line, "bad-section", message)
    name = text[1:close]
    rest = text[close + 1 :].strip(BLANKS)
    if rest and not (rest.startswith("(") and rest.endswith(")")):
        return ConfigIssue(
            source,
            line,
            "bad-section",
            f"Bad section header '{text}': only a '(...)' template may follow ']'",
        )
    if not name.strip(BLANKS):
        return ConfigIssue(source, line, "bad-section", f"Bad section header '{text}': no name")
    return Section(line, name, rest[1:-1].strip(BLANKS))


def _classify(line: int, text: str, source: str) -> Token | ConfigIssue:
    if text.startswith("["):
        return _section(line, text, source)
    if text.startswith("#"):
        parts = text[1:].split(maxsplit=1)
        return Hash(line, parts[0] if parts else "", parts[1] if len(parts) > 1 else "")
    equal = text.find("=")
    if equal < 0:
        return Bare(line, text)
    value = text[equal + 1 :]
    if value.startswith(">"):
        value = value[1:]
    return Assign(line, text[:equal].strip(BLANKS), value.strip(BLANKS))


def tokenize(text: str, source: str) -> Iterator[Token | ConfigIssue]:
    """The tokens of one file's text, and the problems found, in line order.

    ``source`` is only used to name the file in problems.
    """
    depth = 0
    opened_at: list[int] = []
    for number, raw in enumerate(text.split("\n"), start=1):
        before = depth
        visible, depth = strip_comments(raw.removesuffix("\r"), depth)
        if depth > before:
            opened_at.extend([number] * (depth - before))
        elif depth < before:
            del opened_at[depth:]
        stripped = visible.strip(BLANKS)
        if stripped:
            yield _classify(number, stripped, source)
    if depth:
        yield ConfigIssue(
            source,
            opened_at[0],
            "syntax",
            "Block comment opened with ';--' is never closed with '--;'",
        )
