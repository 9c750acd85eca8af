"""pydantic and pydantic-settings enter the package here, whatever else is installed.

The modules that use them import their names from here (only when a
configuration or a module's settings must be validated: see
:mod:`modloader._config._load` and :mod:`modloader._settings.service`).

pydantic loads its plugins when its first model class is made (importing
pydantic-settings makes one): ``importlib.metadata.entry_points(group=
"pydantic")``, which reads the entry points of every installed distribution
and raises on a damaged one (an ``entry_points.txt`` that is not UTF-8, or
with a line that has no ``=``, as an install cut short by a full disk can
leave). pydantic does not catch that, so one damaged distribution, whatever
it is, made every configuration that is not cached end in a traceback. Here
the import is tried again: pydantic keeps the empty list of plugins its
failed search left, so it runs without plugins, and the log names the
damaged distribution to repair or remove.
"""

from __future__ import annotations

import logging

from modloader.errors import DiscoveryError

__all__ = [
    "AfterValidator",
    "BaseModel",
    "BaseSettings",
    "BeforeValidator",
    "ConfigDict",
    "ErrorDetails",
    "FieldInfo",
    "PydanticBaseSettingsSource",
    "SecretBytes",
    "SecretStr",
    "SettingsConfigDict",
    "StringConstraints",
    "ValidationError",
    "ValidationInfo",
    "create_model",
    "damaged_distributions",
    "to_jsonable_python",
]

_log = logging.getLogger("modloader")


def damaged_distributions() -> list[str]:
    """The installed distributions whose entry points :mod:`importlib.metadata` cannot
    read: each its metadata folder (or name) and what reading them raises."""
    from importlib import metadata

    damaged = []
    for dist in metadata.distributions():
        try:
            dist.entry_points  # noqa: B018 (reading them is the check)
        except Exception as exc:
            # PathDistribution keeps its folder as _path; another kind is named by its location.
            where = getattr(dist, "_path", None) or dist.locate_file("")
            damaged.append(f"{where} ({type(exc).__name__}: {exc})")
    return damaged


def _import() -> None:
    try:
        import pydantic_settings
    except Exception:
        damaged = damaged_distributions()
        if not damaged:
            raise  # not the metadata: pydantic's own failure, as it is
        them = "it" if len(damaged) == 1 else "them"
        listed = f"{'; '.join(damaged)}; reinstall or remove {them}"
        _log.warning(
            "pydantic runs without its plugins: importlib.metadata cannot read the entry "
            "points of %s",
            listed,
        )
        try:
            import pydantic_settings  # noqa: F401
        except Exception as again:
            raise DiscoveryError(
                f"pydantic cannot be imported while a damaged distribution is installed: {listed}"
            ) from again


_import()

from pydantic import AfterValidator  # noqa: E402 (after the import above)
from pydantic import BaseModel  # noqa: E402
from pydantic import BeforeValidator  # noqa: E402
from pydantic import ConfigDict  # noqa: E402
from pydantic import SecretBytes  # noqa: E402
from pydantic import SecretStr  # noqa: E402
from pydantic import StringConstraints  # noqa: E402
from pydantic import ValidationError  # noqa: E402
from pydantic import ValidationInfo  # noqa: E402
from pydantic import create_model  # noqa: E402
from pydantic.fields import FieldInfo  # noqa: E402
from pydantic_core import ErrorDetails  # noqa: E402
from pydantic_core import to_jsonable_python  # noqa: E402
from pydantic_settings import BaseSettings  # noqa: E402
from pydantic_settings import PydanticBaseSettingsSource  # noqa: E402
from pydantic_settings import SettingsConfigDict  # noqa: E402
