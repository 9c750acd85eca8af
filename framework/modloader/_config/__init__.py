"""modules.conf and the settings layer (SPEC 3).

Public entry points for the rest of the package:

* :func:`load_config` (public as :func:`modloader.load_config`) — every
  source (code, environment, file, defaults) validated into a
  :class:`ModulesConfig`, or a :class:`~modloader.errors.ConfigError`
  carrying every issue at once.
* :func:`read_modules_conf` — one file and its includes, as Asterisk reads it.

Importing this package is cheap: pydantic is imported only when a
configuration has to be validated afresh (see :mod:`._load`).
"""

from __future__ import annotations

from modloader._config._directives import Directive as Directive
from modloader._config._load import load_config as load_config
from modloader._config._reader import ParsedConf as ParsedConf
from modloader._config._reader import read_modules_conf as read_modules_conf
from modloader._config.model import ModuleEntry as ModuleEntry
from modloader._config.model import ModulesConfig as ModulesConfig

__all__ = [
    "Directive",
    "ModuleEntry",
    "ModulesConfig",
    "ParsedConf",
    "load_config",
    "read_modules_conf",
]
