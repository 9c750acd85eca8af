"""A ``modules.conf`` and what it includes, read into ordered directives.

The parser follows includes (in place, as Asterisk does), keeps only the
``[modules]`` sections, checks the keys, and records every input it read so
that a cached result can be keyed by exactly those inputs. It never raises
for what a file contains: every problem becomes a
:class:`~modloader.errors.ConfigIssue`.
"""

from __future__ import annotations

import glob
import hashlib
import os
from dataclasses import dataclass
from dataclasses import field

from modloader._config._lexer import Assign
from modloader._config._lexer import Bare
from modloader._config._lexer import Hash
from modloader._config._lexer import Section
from modloader._config._lexer import decode
from modloader._config._lexer import tokenize
from modloader._names import suggest
from modloader.errors import ConfigIssue

__all__ = ["DIRECTIVES", "SECTION", "Directive", "RawConf", "parse_file"]

#: The section that is read; every other one is skipped.
SECTION = "modules"

#: The keys of ``[modules]``, as written in the file.
DIRECTIVES = ("autoload", "load", "require", "preload", "preload-require", "noload")

_GLOB_CHARS = frozenset("*?[")


@dataclass(frozen=True, slots=True)
class Directive:
    """One ``key = value`` line of ``[modules]`` (or one value from elsewhere)."""

    #: The directive, lower case as in :data:`DIRECTIVES`.
    key: str
    #: The value as written, blanks around it removed.
    value: str
    #: A file path, an environment variable name, or ``<code>``.
    source: str
    #: The line in ``source`` (0 when the source has no lines).
    line: int


@dataclass(slots=True)
class RawConf:
    """What one read produced, before the directive rules are applied."""

    directives: list[Directive] = field(default_factory=list)
    errors: list[ConfigIssue] = field(default_factory=list)
    warnings: list[ConfigIssue] = field(default_factory=list)
    #: Every file read, in the order first read.
    files: list[str] = field(default_factory=list)
    #: One string per input: a file and the digest of its bytes, a glob and
    #: its matches, a path that was missing.
    inputs: list[str] = field(default_factory=list)


def _dequote(argument: str) -> str:
    # main/config.c strips one pair of "..." or <...> around the path.
    if len(argument) >= 2 and (argument[0], argument[-1]) in {('"', '"'), ("<", ">")}:
        return argument[1:-1].strip()
    return argument


class _Reader:
    def __init__(self, raw: RawConf) -> None:
        self.raw = raw
        self.stack: list[str] = []
        self.chain: list[str] = []

    def read(self, path: str, section: str | None) -> None:
        """Read one file in place; ``section`` is the includer's current section."""
        try:
            with open(path, "rb") as fh:
                data = fh.read()
        except OSError as exc:
            reason = exc.strerror or str(exc)
            self.raw.inputs.append(f"unreadable\0{path}\0{reason}")
            line = 0
            self.raw.errors.append(
                ConfigIssue(path, line, "missing-file", f"Cannot read '{path}': {reason}")
            )
            return
        self.raw.inputs.append(f"file\0{path}\0{hashlib.blake2b(data, digest_size=16).hexdigest()}")
        if path not in self.raw.files:
            self.raw.files.append(path)
        self.stack.append(os.path.realpath(path))
        self.chain.append(path)
        try:
            self._tokens(path, decode(data), section)
        finally:
            self.stack.pop()
            self.chain.pop()

    def _tokens(self, path: str, text: str, section: str | None) -> None:
        for token in tokenize(text, path):
            if isinstance(token, ConfigIssue):
                self.raw.errors.append(token)
            elif isinstance(token, Section):
                section = token.name
            elif isinstance(token, Hash):
                self._hash(path, token, section)
            elif section is None:
                what = f"'{token.key}'" if isinstance(token, Assign) else f"'{token.text}'"
                self.raw.errors.append(
                    ConfigIssue(
                        path,
                        token.line,
                        "no-section",
                        f"{what} is set before any section header (put it under [modules])",
                    )
                )
            elif section.lower() != SECTION:
                continue
            elif isinstance(token, Bare):
                self.raw.errors.append(
                    ConfigIssue(
                        path,
                        token.line,
                        "syntax",
                        f"Expected 'key = value' or 'key => value', got '{token.text}'",
                    )
                )
            else:
                self._assign(path, token)

    def _assign(self, path: str, token: Assign) -> None:
        key = token.key.lower()
        if key not in DIRECTIVES:
            self.raw.errors.append(unknown_option(token.key, path, token.line))
        elif not token.value and key != "autoload":
            self.raw.errors.append(
                ConfigIssue(path, token.line, "syntax", f"'{token.key}' needs a module name")
            )
        else:
            self.raw.directives.append(Directive(key, token.value, path, token.line))

    def _hash(self, path: str, token: Hash, section: str | None) -> None:
        word = token.word.lower()
        if word == "exec":
            self.raw.errors.append(
                ConfigIssue(
                    path,
                    token.line,
                    "exec-refused",
                    "'#exec' is refused: modloader never runs programs named in its "
                    "configuration (use '#include' with a file instead)",
                )
            )
        elif word in {"include", "tryinclude"}:
            self._include(path, token, section, required=word == "include")
        else:
            self.raw.warnings.append(
                ConfigIssue(
                    path, token.line, "unknown-hash", f"Unknown directive '#{token.word}' skipped"
                )
            )

    def _include(self, path: str, token: Hash, section: str | None, *, required: bool) -> None:
        name = _dequote(token.argument)
        directive = f"#{token.word}"
        if not name:
            self.raw.errors.append(
                ConfigIssue(path, token.line, "syntax", f"'{directive}' needs a file name")
            )
            return
        target = os.path.join(os.path.dirname(path), name)
        if _GLOB_CHARS.intersection(name):
            matches = sorted(m for m in glob.glob(target) if os.path.isfile(m))
            self.raw.inputs.append(f"glob\0{target}\0" + "\0".join(matches))
        elif os.path.isfile(target):
            matches = [target]
        else:
            self.raw.inputs.append(f"missing\0{target}")
            matches = []
        if not matches:
            if required:
                self.raw.errors.append(
                    ConfigIssue(
                        path,
                        token.line,
                        "missing-include",
                        f"{directive} '{name}': no such file ({target})",
                    )
                )
            return
        for match in matches:
            if os.path.realpath(match) in self.stack:
                cycle = " -> ".join([*self.chain, match])
                self.raw.errors.append(
                    ConfigIssue(
                        path,
                        token.line,
                        "include-cycle",
                        f"{directive} '{name}' includes a file that is already being read: {cycle}",
                    )
                )
                continue
            self.read(match, section)


def unknown_option(key: str, source: str, line: int) -> ConfigIssue:
    """``Unknown configuration option 'K'``, with the closest directive if any."""
    message = f"Unknown configuration option '{key}'"
    close = suggest(key.replace("_", "-"), DIRECTIVES, n=1) or suggest(key, DIRECTIVES, n=1)
    if close:
        message += f" (did you mean '{close[0]}'?)"
    return ConfigIssue(source, line, "unknown-option", message)


def parse_file(path: str) -> RawConf:
    """Read ``path`` and everything it includes, in place, in order."""
    raw = RawConf()
    _Reader(raw).read(path, None)
    return raw
