"""Module names: how they are matched, and close matches for "did you mean"."""

from __future__ import annotations

import functools
from collections.abc import Iterable

__all__ = ["BLANKS", "name_key", "suggest"]

#: The blanks around a name or a value that are not part of it: C's ``isspace()``, what
#: Asterisk strips. Not every character ``str.strip()`` removes: U+001C to U+001F, U+0085
#: and their kind are control characters, which a name may not hold (an error, not a blank).
BLANKS = " \t\n\v\f\r"


@functools.lru_cache(maxsize=1 << 14)  # names repeat: startup asks ~6 times per module
def name_key(name: str) -> str:
    """The key a module name is matched by: case-insensitive, one trailing ``.so`` ignored.

    ``res_cache``, ``RES_CACHE.so`` and ``res_cache.SO`` share one key (SPEC 1).
    """
    key = name.strip(BLANKS).lower()
    if key.endswith(".so"):
        key = key[:-3]
    return key


def suggest(word: str, candidates: Iterable[str], n: int = 3) -> list[str]:
    """Close matches of ``word`` among ``candidates``, best first, compared by key."""
    import difflib  # only when a name was not found: keep it off the startup path

    by_key: dict[str, str] = {}
    for candidate in candidates:
        by_key.setdefault(name_key(candidate), candidate)
    keys = difflib.get_close_matches(name_key(word), list(by_key), n=n, cutoff=0.6)
    return [by_key[k] for k in keys]
