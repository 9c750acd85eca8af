"""Typed results as JSON values: what ``--json``, the control socket and ``result.data`` carry.

Standard library only: the error tree imports it (when an error is turned
into data), and the remote client imports the error tree.
"""

from __future__ import annotations

import contextlib
import enum

TYPE_CHECKING = False  # not ``typing.TYPE_CHECKING``: see modloader/__init__.py
if TYPE_CHECKING:
    from typing import Any

__all__ = ["jsonable"]


def jsonable(value: Any) -> Any:
    """``value`` as JSON values: an object with ``to_dict()`` (an error, a
    :class:`~modloader.ModuleInfo`) as that, a named tuple (an outcome) as an object
    of its fields, an enum as its value, a tuple or list as a list, a mapping's keys
    as text; anything else that is not a JSON scalar as its ``str()`` (or its type's
    name when that raises)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, enum.Enum):
        return jsonable(value.value)
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict) and not isinstance(value, type):
        with contextlib.suppress(Exception):  # another library's to_dict: text, below
            return jsonable(to_dict())
    fields = getattr(type(value), "_fields", None)
    if isinstance(value, tuple) and isinstance(fields, tuple):
        return {field: jsonable(item) for field, item in zip(fields, value, strict=True)}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(item) for item in value]
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    try:
        return str(value)
    except Exception:
        return f"<{type(value).__name__} object>"
