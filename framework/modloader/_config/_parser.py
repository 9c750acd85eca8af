"""A ``modules.conf`` and what it includes, read into ordered directives.

The parser follows includes (in place, as Asterisk does), keeps only the
``[modules]`` sections, checks the keys, and records every input it read so
that a cached result can be keyed by exactly those inputs. It never raises
for what a file contains: every problem becomes a
:class:`~modloader.errors.ConfigIssue`. The values are checked later, with
those of the other sources, by the settings model.

Reading is bounded: only regular files are read (a device, a FIFO or
``/dev/stdin`` is refused, never waited on), includes nest at most
:data:`MAX_INCLUDE_DEPTH` files deep, and one read opens at most
:data:`MAX_FILES` files and reads at most :data:`MAX_BYTES` bytes in all.
"""

# Annotations evaluated, not strings: typing.NamedTuple compiles string ones (docs/design.md).

import os
import stat
from typing import NamedTuple

from modloader._cachestore import digest
from modloader._config._directives import BY_KEY
from modloader._config._directives import Directive
from modloader._config._directives import unknown_option
from modloader._config._lexer import Assign
from modloader._config._lexer import Bare
from modloader._config._lexer import Hash
from modloader._config._lexer import Section
from modloader._config._lexer import Token
from modloader._config._lexer import decode
from modloader._config._lexer import tokenize
from modloader._files import NotRegularFileError
from modloader._files import open_regular
from modloader._files import there
from modloader._names import BLANKS
from modloader._names import suggest
from modloader.errors import ConfigIssue

__all__ = [
    "MAX_BYTES",
    "MAX_FILES",
    "MAX_INCLUDE_DEPTH",
    "SECTION",
    "RawConf",
    "parse_file",
]

#: The section that is read; every other one is skipped.
SECTION = "modules"

#: How many files deep includes may nest (the file itself is the first).
MAX_INCLUDE_DEPTH = 32
#: How many files one read may open, counting a file each time it is included.
MAX_FILES = 1000
#: How many bytes one read may read, the file and every inclusion together.
MAX_BYTES = 4 * 1024 * 1024

_GLOB_CHARS = frozenset("*?[")


class RawConf:
    """What one read produced, before the values are checked and the rules applied."""

    __slots__ = ("directives", "errors", "files", "inputs", "warnings")

    def __init__(self) -> None:
        self.directives: list[Directive] = []
        self.errors: list[ConfigIssue] = []
        self.warnings: list[ConfigIssue] = []
        #: Every file read, in the order first read.
        self.files: list[str] = []
        #: One string per input: a file and the digest of its bytes, a glob and
        #: its matches, a path that was missing.
        self.inputs: list[str] = []


class _TooLargeError(Exception):
    """The file would take the read over :data:`MAX_BYTES`."""


def _read_regular(path: str, budget: int) -> bytes:
    """The bytes of a regular file of at most ``budget`` bytes.

    Checked before opening (a device is never opened) and again on the open
    file (:func:`~modloader._files.open_regular`: a FIFO swapped in between is
    not waited on).
    """
    if not stat.S_ISREG(os.stat(path).st_mode):
        raise NotRegularFileError(path)
    with open_regular(path) as fh:
        data = fh.read(budget + 1)
    if len(data) > budget:
        raise _TooLargeError
    return data


def _dequote(argument: str) -> str:
    # main/config.c strips one pair of "..." or <...> around the path.
    if len(argument) >= 2 and (argument[0], argument[-1]) in {('"', '"'), ("<", ">")}:
        return argument[1:-1].strip(BLANKS)
    return argument


def _is_modules(section: str | None) -> bool:
    return section is not None and section.strip(BLANKS).lower() == SECTION


class _Site(NamedTuple):
    """The ``#include`` line a file is read for: where its problems are reported."""

    path: str
    line: int
    directive: str
    name: str
    target: str

    def issue(self, kind: str, what: str, *, colon: str = ":") -> ConfigIssue:
        message = f"{self.directive} '{self.name}'{colon} {what}"
        return ConfigIssue(self.path, self.line, kind, message)


class _Reader:
    def __init__(self, raw: RawConf) -> None:
        self.raw = raw
        self.stack: list[str] = []
        self.chain: list[str] = []
        self.files_read = 0
        self.bytes_read = 0
        #: A limit was reached: nothing more is read.
        self.halted = False

    def _limit(self, issue: ConfigIssue) -> None:
        self.raw.errors.append(issue)
        self.halted = True

    def _within_limits(self, site: _Site) -> bool:
        if self.halted:  # said once, at the include that crossed it (a glob goes on matching)
            return False
        if len(self.stack) >= MAX_INCLUDE_DEPTH:
            what = f"files are nested more than {MAX_INCLUDE_DEPTH} deep ({site.target})"
            self._limit(site.issue("include-limit", what))
        elif self.files_read >= MAX_FILES:
            what = f"more than {MAX_FILES} files read in all (each inclusion counts)"
            self._limit(site.issue("include-limit", what))
        return not self.halted

    def _load(self, path: str, site: _Site | None) -> bytes | None:
        """The bytes of ``path``, or ``None`` with the problem recorded."""
        try:
            data = _read_regular(path, MAX_BYTES - self.bytes_read)
        except NotRegularFileError:
            self.raw.inputs.append(f"irregular\0{path}")
            if site is None:
                message = f"Cannot read '{path}': not a regular file"
                self.raw.errors.append(ConfigIssue(path, 0, "not-regular-file", message))
            else:
                what = f"not a regular file ({site.target})"
                self.raw.errors.append(site.issue("not-regular-file", what))
            return None
        except _TooLargeError:
            what = f"more than {MAX_BYTES} bytes read in all"
            if site is None:
                self._limit(ConfigIssue(path, 0, "include-limit", f"Cannot read '{path}': {what}"))
            else:
                self._limit(site.issue("include-limit", f"{what} ({site.target})"))
            return None
        except OSError as exc:
            reason = exc.strerror or str(exc)
            self.raw.inputs.append(f"unreadable\0{path}\0{reason}")
            if site is None:
                message = f"Cannot read '{path}': {reason}"
                self.raw.errors.append(ConfigIssue(path, 0, "missing-file", message))
            else:  # where it is included, as for a file that is not there
                self.raw.errors.append(site.issue("missing-file", f"{reason} ({site.target})"))
            return None
        self.files_read += 1
        self.bytes_read += len(data)
        return data

    def read(self, path: str, section: str | None, site: _Site | None = None) -> None:
        """Read one file in place; ``section`` is the includer's current section."""
        data = self._load(path, site)
        if data is None:
            return
        self.raw.inputs.append(f"file\0{path}\0{digest(data)}")
        if path not in self.raw.files:
            self.raw.files.append(path)
        self.stack.append(os.path.realpath(path))
        self.chain.append(path)
        try:
            for token in tokenize(decode(data), path):
                section = self._token(path, token, section)
        finally:
            self.stack.pop()
            self.chain.pop()

    def _token(self, path: str, token: Token | ConfigIssue, section: str | None) -> str | None:
        """Take one token; returns the section current after it."""
        if isinstance(token, ConfigIssue):
            self.raw.errors.append(token)
        elif isinstance(token, Section):
            self._section(path, token)
            return token.name
        elif isinstance(token, Hash):
            self._hash(path, token, section)
        elif section is None:
            what = token.key if isinstance(token, Assign) else token.text
            message = f"'{what}' is set before any section header (put it under [modules])"
            self.raw.errors.append(ConfigIssue(path, token.line, "no-section", message))
        elif not _is_modules(section):
            pass
        elif isinstance(token, Bare):
            message = f"Expected 'key = value' or 'key => value', got '{token.text}'"
            self.raw.errors.append(ConfigIssue(path, token.line, "syntax", message))
        else:
            self._assign(path, token)
        return section

    def _section(self, path: str, token: Section) -> None:
        if _is_modules(token.name) or not suggest(token.name.strip(BLANKS), [SECTION], n=1):
            return
        message = f"Unknown section '[{token.name}]' skipped (did you mean [{SECTION}]?)"
        self.raw.warnings.append(ConfigIssue(path, token.line, "unknown-section", message))

    def _assign(self, path: str, token: Assign) -> None:
        key = token.key.lower()
        if key in BY_KEY:
            self.raw.directives.append(Directive(key, token.value, path, token.line))
        else:
            self.raw.errors.append(unknown_option(token.key, path, token.line))

    def _hash(self, path: str, token: Hash, section: str | None) -> None:
        word = token.word.lower()
        if word == "exec":
            message = (
                "'#exec' is refused: modloader never runs programs named in its "
                "configuration (use '#include' with a file instead)"
            )
            self.raw.errors.append(ConfigIssue(path, token.line, "exec-refused", message))
        elif word in {"include", "tryinclude"}:
            self._include(path, token, section, required=word == "include")
        else:
            message = f"Unknown directive '#{token.word}' skipped"
            self.raw.warnings.append(ConfigIssue(path, token.line, "unknown-hash", message))

    def _matches(self, name: str, target: str) -> list[str]:
        if _GLOB_CHARS.intersection(name):
            import glob  # an #include with a pattern is rare: most reads never need it

            matches = sorted(m for m in glob.glob(target) if os.path.isfile(m))
            self.raw.inputs.append(f"glob\0{target}\0" + "\0".join(matches))
            return matches
        if there(target):  # a link in a loop too: reading it says so, even for #tryinclude
            return [target]
        self.raw.inputs.append(f"missing\0{target}")
        return []

    def _include(self, path: str, token: Hash, section: str | None, *, required: bool) -> None:
        name = _dequote(token.argument)
        directive = f"#{token.word}"
        if not name:
            message = f"'{directive}' needs a file name"
            self.raw.errors.append(ConfigIssue(path, token.line, "syntax", message))
            return
        if self.halted:
            return
        target = os.path.join(os.path.dirname(path), name)
        matches = self._matches(name, target)
        if not matches and required:
            message = f"{directive} '{name}': no such file ({target})"
            self.raw.errors.append(ConfigIssue(path, token.line, "missing-include", message))
        for match in matches:
            site = _Site(path, token.line, directive, name, match)
            if os.path.realpath(match) in self.stack:
                cycle = " -> ".join([*self.chain, match])
                what = f"includes a file that is already being read: {cycle}"
                self.raw.errors.append(site.issue("include-cycle", what, colon=""))
            elif self._within_limits(site):
                self.read(match, section, site)


def parse_file(path: str) -> RawConf:
    """Read ``path`` and everything it includes, in place, in order."""
    raw = RawConf()
    _Reader(raw).read(path, None)
    return raw
