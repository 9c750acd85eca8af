"""Typed settings for modules: a module's own ``<name>.conf``, the environment, code.

Importing this package is cheap; pydantic is imported only when a module
declares ``settings_model`` (see :mod:`._validate`).
"""
