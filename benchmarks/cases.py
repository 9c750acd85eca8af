"""What each whole-process sample runs, and how its environment is prepared.

Every case is a short script run as ``python -c SCRIPT`` in a fresh process,
with the synthetic site on ``PYTHONPATH``. The script reads what it needs from
``BENCH_*`` variables. A script that exits with status :data:`SKIP` is reported
as skipped (what it measures does not exist in this checkout yet).
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field

__all__ = ["CASES", "SKIP", "Case"]

#: Exit status of a case whose subject is missing.
SKIP = 3

_HOST_CHECK = f"""
import modloader
if not hasattr(modloader, "Host"):
    raise SystemExit({SKIP})
"""


@dataclass(frozen=True)
class Case:
    """One measured program."""

    #: Short identifier, also the row's label.
    key: str
    #: What the row says.
    label: str
    script: str
    #: ``"modloader-cold"``: a fresh, empty modloader cache per sample; ``"modloader-warm"``:
    #: a shared one, warmed first; likewise ``stevedore-cold`` / ``stevedore-warm``.
    caches: frozenset[str] = field(default_factory=frozenset)
    #: The row this one's median is divided by in the ratio column.
    versus: str | None = None
    #: The section of the report.
    section: str = "load"


def _case(
    key: str,
    label: str,
    script: str,
    *caches: str,
    versus: str | None = None,
    section: str = "load",
) -> Case:
    return Case(key, label, script.strip() + "\n", frozenset(caches), versus, section)


CASES = [
    _case("python", "python -c pass (interpreter startup)", "pass", section="base"),
    # -- discover and import every plugin ------------------------------------------------------
    _case(
        "floor",
        "import the N modules by name (no discovery: the floor)",
        """
import os
for name in open(os.environ["BENCH_PLUGINS"]).read().split():
    __import__(name)
""",
    ),
    _case(
        "importlib",
        "importlib.metadata: entry_points(group) + load each",
        """
import os
from importlib.metadata import entry_points
for ep in entry_points(group=os.environ["BENCH_GROUP"]):
    ep.load()
""",
        versus="floor",
    ),
    _case(
        "stevedore-warm",
        "stevedore ExtensionManager (its cache warm)",
        """
import os
from stevedore import ExtensionManager
ExtensionManager(os.environ["BENCH_GROUP"])
""",
        "stevedore-warm",
        versus="floor",
    ),
    _case(
        "stevedore-cold",
        "stevedore ExtensionManager (its cache off)",
        """
import os
from stevedore import ExtensionManager
ExtensionManager(os.environ["BENCH_GROUP"])
""",
        "stevedore-cold",
        versus="floor",
    ),
    _case(
        "pluggy",
        "pluggy load_setuptools_entrypoints(group)",
        """
import os
import pluggy
pm = pluggy.PluginManager("bench")
pm.load_setuptools_entrypoints(os.environ["BENCH_GROUP"])
""",
        versus="floor",
    ),
    _case(
        "modloader-warm",
        "modloader Host: read modules.conf, discover, order, start all, stop (cache warm)",
        _HOST_CHECK
        + """
import os
host = modloader.Host(os.environ["BENCH_GROUP"], config_path=os.environ["BENCH_CONF"])
host.start()
host.stop()
""",
        "modloader-warm",
        versus="stevedore-warm",
    ),
    _case(
        "modloader-cold",
        "modloader Host: the same, no modloader cache",
        _HOST_CHECK
        + """
import os
host = modloader.Host(os.environ["BENCH_GROUP"], config_path=os.environ["BENCH_CONF"])
host.start()
host.stop()
""",
        "modloader-cold",
        versus="stevedore-cold",
    ),
    # -- list only (metadata, no plugin import) ------------------------------------------------
    _case(
        "scan-warm",
        "modloader scan_group (cache warm)",
        """
import os
from modloader._discovery.scan import scan_group
scan_group(os.environ["BENCH_GROUP"])
""",
        "modloader-warm",
        versus="stevedore-list-warm",
        section="list",
    ),
    _case(
        "scan-cold",
        "modloader scan_group (empty cache; writes it)",
        """
import os
from modloader._discovery.scan import scan_group
scan_group(os.environ["BENCH_GROUP"])
""",
        "modloader-cold",
        versus="stevedore-list-cold",
        section="list",
    ),
    _case(
        "stevedore-list-warm",
        "stevedore listing, _cache.get_group_all (cache warm)",
        """
import os
from stevedore import _cache
_cache.get_group_all(os.environ["BENCH_GROUP"])
""",
        "stevedore-warm",
        section="list",
    ),
    _case(
        "stevedore-list-cold",
        "stevedore listing (its cache off)",
        """
import os
from stevedore import _cache
_cache.get_group_all(os.environ["BENCH_GROUP"])
""",
        "stevedore-cold",
        section="list",
    ),
    _case(
        "importlib-list",
        "importlib.metadata entry_points(group) + each dist's name, version, Summary",
        """
import os
from importlib.metadata import entry_points
[(ep.name, ep.value, ep.dist.name, ep.dist.version, ep.dist.metadata["Summary"])
 for ep in entry_points(group=os.environ["BENCH_GROUP"])]
""",
        versus="scan-warm",
        section="list",
    ),
    _case(
        "import-importlib_metadata",
        "import importlib_metadata (the backport's own import cost)",
        "import importlib_metadata",
        versus="python",
        section="base",
    ),
]
