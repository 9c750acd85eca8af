"""modules.conf and the settings layer (SPEC 3).

Public entry points for the rest of the package:

* :func:`load_config` — every source (code, environment, file, defaults)
  validated into a :class:`ModulesConfig`, or a :class:`~modloader.errors.ConfigError`
  carrying every issue at once.
* :func:`read_modules_conf` — one file and its includes, as Asterisk reads it.
"""
