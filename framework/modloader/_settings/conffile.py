"""A module's own ``<name>.conf``: every section, with templates and inheritance.

The lexing and the ``#include`` handling are ``modules.conf``'s own reader
(:mod:`modloader._config._parser`); this module keeps every section instead of
``[modules]`` only, and adds what per-module files use:

* ``[name](!)`` is a template: it is never a section of its own;
* ``[name](base, other)`` starts with the keys of ``base`` then ``other``;
* ``[name](+)`` adds to a section already defined;
* a key may be repeated (a list field takes every value).

Nothing here imports pydantic: it is plain data with origins.
"""

from __future__ import annotations

import os
from typing import NamedTuple

from modloader._config._lexer import Bare
from modloader._config._lexer import Hash
from modloader._config._lexer import Section
from modloader._config._lexer import Token
from modloader._config._parser import RawConf
from modloader._config._parser import _Reader
from modloader.errors import ConfigIssue

__all__ = ["ConfFile", "ConfSection", "Entry", "read_conf_file"]


class Entry(NamedTuple):
    """One ``key = value`` line, with where it was written."""

    key: str
    value: str
    source: str
    line: int

    @property
    def origin(self) -> str:
        return f"{self.source}:{self.line}"


class ConfSection:
    """One section after templates and inheritance were applied."""

    __slots__ = ("entries", "line", "name", "source", "template")

    def __init__(self, name: str, source: str, line: int, template: bool = False) -> None:
        self.name = name
        self.source = source
        self.line = line
        self.template = template
        self.entries: list[Entry] = []


class ConfFile:
    """What one file (and its includes) holds; never raises for its content."""

    __slots__ = ("errors", "exists", "inputs", "path", "sections", "warnings")

    def __init__(self, path: str, exists: bool = False) -> None:
        self.path = path
        #: ``False`` when there is no file: every value comes from elsewhere.
        self.exists = exists
        #: Sections in the order first defined; templates excluded.
        self.sections: list[ConfSection] = []
        self.errors: list[ConfigIssue] = []
        self.warnings: list[ConfigIssue] = []
        #: Every input read (file digests, missing paths), for change detection.
        self.inputs: list[str] = []


class _SectionReader(_Reader):
    """``modules.conf``'s reader, keeping every section (the include logic is inherited)."""

    def __init__(self, raw: RawConf, out: ConfFile) -> None:
        super().__init__(raw)
        self.out = out
        self.by_name: dict[str, ConfSection] = {}
        self.templates: dict[str, ConfSection] = {}
        self.current: ConfSection | None = None

    def _token(self, path: str, token: Token | ConfigIssue, section: str | None) -> str | None:
        """Take one token; the current section is :attr:`current` (``section`` passes through)."""
        if isinstance(token, ConfigIssue):
            self.raw.errors.append(token)
        elif isinstance(token, Section):
            self._open(path, token, token.options)
        elif isinstance(token, Hash):
            self._hash(path, token, self.current.name if self.current else None)
        elif isinstance(token, Bare):
            # Not the line itself: a module's settings file may hold a secret on it.
            message = "Expected 'key = value' or 'key => value' (the line is not shown)"
            self.raw.errors.append(ConfigIssue(path, token.line, "syntax", message))
        elif "\ufffd" in token.key + token.value:  # bytes that were not UTF-8, read as U+FFFD
            # A value read otherwise than written (a Latin-1 password): refused, not shown;
            # nor is a key that holds such bytes (a secret written on the wrong line, say).
            what = "A line" if "\ufffd" in token.key else f"'{token.key}'"
            message = f"{what} holds bytes that are not UTF-8 (save the file as UTF-8)"
            self.raw.errors.append(ConfigIssue(path, token.line, "not-utf8", message))
        elif self.current is None:
            message = f"'{token.key}' is set before any section header (put it under [general])"
            self.raw.errors.append(ConfigIssue(path, token.line, "no-section", message))
        elif not token.key:
            message = "A line has a value but no key"
            self.raw.errors.append(ConfigIssue(path, token.line, "syntax", message))
        else:
            self.current.entries.append(Entry(token.key, token.value, path, token.line))
        return section

    def _open(self, path: str, token: Section, suffix: str) -> None:
        name = token.name.strip()
        options = [part.strip() for part in suffix.split(",") if part.strip()]
        template = "!" in options
        add = "+" in options
        key = name.lower()
        if add:
            existing = self.by_name.get(key) or self.templates.get(key)
            if existing is None:
                message = f"[{name}](+) adds to a section that is not defined before it"
                self.raw.errors.append(ConfigIssue(path, token.line, "bad-section", message))
                self.current = ConfSection(name, path, token.line)  # read on, keep nothing
            else:
                self.current = existing
            return
        first = self.by_name.get(key) or self.templates.get(key)
        if first is not None:
            message = (
                f"Section [{name}] is defined twice (first at {first.source}:{first.line}); "
                f"write [{name}](+) to add to it"
            )
            self.raw.errors.append(ConfigIssue(path, token.line, "duplicate-section", message))
        section = ConfSection(name, path, token.line, template=template)
        for base in (o for o in options if o not in ("!", "+")):
            parent = self.templates.get(base.lower()) or self.by_name.get(base.lower())
            if parent is None:
                message = f"[{name}] inherits from '{base}', which is not defined before it"
                self.raw.errors.append(ConfigIssue(path, token.line, "bad-section", message))
                continue
            section.entries.extend(parent.entries)
        self.current = section
        if first is not None:
            return
        if template:
            self.templates[key] = section
        else:
            self.by_name[key] = section
            self.out.sections.append(section)


def read_conf_file(path: str | os.PathLike[str]) -> ConfFile:
    """Read ``path`` and what it includes. A missing file is not an error: it is empty.

    A directory where the file should be, an unreadable file, and every
    syntax problem are errors naming the file (and line).
    """
    name = os.fspath(path)
    out = ConfFile(name)
    if os.path.isdir(name):
        out.errors.append(ConfigIssue(name, 0, "not-a-file", "is a directory, not a settings file"))
        out.inputs.append(f"dir\0{name}")
        return out
    if not os.path.lexists(name):
        out.inputs.append(f"missing\0{name}")
        return out
    out.exists = True
    raw = RawConf()
    _SectionReader(raw, out).read(name, None)
    out.errors.extend(raw.errors)
    out.warnings.extend(raw.warnings)
    out.inputs.extend(raw.inputs)
    return out
