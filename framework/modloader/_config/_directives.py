"""The six ``[modules]`` directives, defined once, and a directive tagged with its source.

Everything else in the package (the parser, the environment and code
sources, the settings model, the rules, the load order) reads the directive
names from :data:`SPECS`. This module imports nothing heavy: it is on the
warm path of every startup.
"""

# Annotations evaluated, not strings: typing.NamedTuple compiles string ones (docs/design.md).

from typing import NamedTuple

from modloader._names import suggest
from modloader.errors import ConfigIssue

__all__ = [
    "AUTOLOAD",
    "BY_FIELD",
    "BY_KEY",
    "CODE",
    "KEYS",
    "LIST_SPECS",
    "NOLOAD",
    "SPECS",
    "Directive",
    "Spec",
    "unknown_option",
]

#: The source name of values passed in code.
CODE = "<code>"


class Spec(NamedTuple):
    """One directive: how it is written, its settings field, and what it does."""

    #: As written in ``modules.conf`` (keys are matched in any case).
    key: str
    #: The settings field, the ``values`` key from code and the environment
    #: variable's suffix (``MODLOADER_PRELOAD_REQUIRE``).
    field: str
    #: A module it names is required.
    required: bool = False
    #: A module it names starts in the preload phase.
    preload: bool = False


#: Every directive. The list directives come in the order in which values set
#: by the environment or code follow the file's lines in the load order.
SPECS: tuple[Spec, ...] = (
    Spec("autoload", "autoload"),
    Spec("preload-require", "preload_require", required=True, preload=True),
    Spec("preload", "preload", preload=True),
    Spec("require", "require", required=True),
    Spec("load", "load"),
    Spec("noload", "noload"),
)

#: The one directive that holds a boolean rather than module names.
AUTOLOAD = SPECS[0]
#: The directive that takes names out of the load order.
NOLOAD = SPECS[-1]
#: The directives whose values are module names, in load-order precedence.
LIST_SPECS: tuple[Spec, ...] = SPECS[1:]
#: Directive spelling in the file -> its spec.
BY_KEY: dict[str, Spec] = {spec.key: spec for spec in SPECS}
#: Settings field -> its spec.
BY_FIELD: dict[str, Spec] = {spec.field: spec for spec in SPECS}
#: The directive spellings, for suggestions.
KEYS: tuple[str, ...] = tuple(BY_KEY)


class Directive(NamedTuple):
    """One value of one directive, tagged once with where it came from.

    A line of ``modules.conf`` is one directive; a list set by an
    environment variable or by code gives one directive per module name.
    """

    #: The directive, lower case as in :data:`KEYS`.
    key: str
    #: The value as written, blanks around it removed.
    value: str
    #: A file path, an environment variable name, or ``<code>``.
    source: str
    #: The line in ``source`` (0 when the source has no lines).
    line: int


def unknown_option(key: str, source: str, line: int) -> ConfigIssue:
    """``Unknown configuration option 'K'``, with the closest directive if any."""
    message = f"Unknown configuration option '{key}'"
    close = suggest(key.replace("_", "-"), KEYS, n=1) or suggest(key, KEYS, n=1)
    if close:
        message += f" (did you mean '{close[0]}'?)"
    return ConfigIssue(source, line, "unknown-option", message)
