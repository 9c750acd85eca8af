"""What ``module show hooks`` knows of each hook, typed (:meth:`Host.list_hooks`)."""

# Annotations evaluated, not strings: typing.NamedTuple compiles string ones (docs/design.md).

from typing import Any
from typing import NamedTuple

__all__ = ["HookImplInfo", "HookInfo"]


class HookImplInfo(NamedTuple):
    """A running module implementing a hook, and how it asked to be called."""

    #: The module's name.
    name: str
    #: A wrapper (``wrapper=True`` or the old ``hookwrapper=True``): it runs around the rest.
    wrapper: bool = False
    tryfirst: bool = False
    trylast: bool = False


class HookInfo(NamedTuple):
    """A hook of the host (a snapshot): its kind, and who implements it in call order."""

    name: str
    #: ``False``: a module implements it but none of the host's ``hookspecs`` declares it.
    declared: bool
    firstresult: bool = False
    historic: bool = False
    #: The running modules implementing it, in the order a call reaches them.
    modules: tuple[HookImplInfo, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (``module show hooks --json``)."""
        return {
            "hook": self.name,
            "declared": self.declared,
            "firstresult": self.firstresult,
            "historic": self.historic,
            "modules": [module._asdict() for module in self.modules],
        }
