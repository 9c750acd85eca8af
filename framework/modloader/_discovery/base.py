"""What discovery hands to the loader: metadata only, no module code imported."""

# Annotations evaluated, not strings: typing.NamedTuple compiles string ones (docs/design.md).

from typing import Any
from typing import NamedTuple
from typing import Protocol

from modloader._names import name_key

__all__ = ["Candidate", "Discovery", "target"]


def target(value: str) -> tuple[str, str]:
    """The module and the attribute path an entry point's value names.

    A value is ``module``, ``module:attr.path``, and either may be followed by
    ``[extras]`` (optional dependencies of the distribution): loading leaves
    those out, as :mod:`importlib.metadata` does.
    """
    module, _, attrs = value.partition("[")[0].partition(":")
    return module.strip(), attrs.strip()


class Candidate(NamedTuple):
    """One entry point of the namespace, as metadata. Importing it is ``Discovery.load``."""

    #: The entry point's name: the module's name.
    name: str
    #: ``module.path:attr`` (attr optional), as the entry point says.
    value: str
    #: The entry-point group (the host's namespace).
    group: str
    #: The publishing distribution's name, version and summary (``None`` if unknown).
    dist_name: str | None = None
    version: str | None = None
    summary: str | None = None
    #: The distribution's metadata folder (``*.dist-info``, ``*.egg-info``), when known.
    origin: str | None = None

    @property
    def key(self) -> str:
        return name_key(self.name)

    @property
    def module_name(self) -> str:
        """The Python module the entry point imports."""
        return target(self.value)[0]

    @property
    def publisher(self) -> str:
        """``dist version`` for messages."""
        if self.dist_name is None:
            return "<unknown distribution>"
        return f"{self.dist_name} {self.version or ''}".strip()


class Discovery(Protocol):
    """Where modules come from. :meth:`scan` reads metadata; :meth:`load` imports."""

    @property
    def namespace(self) -> str: ...

    def scan(self) -> list[Candidate]:
        """Every entry point of the namespace, freshly read (installs since the last scan seen)."""
        ...

    def load(self, candidate: Candidate) -> Any:
        """Import the entry point's object. Raises whatever the import raises."""
        ...

    def top_level_modules(self, candidate: Candidate) -> frozenset[str]:
        """The top-level Python modules the candidate's distribution provides."""
        ...
