"""Benchmarks: the modloader command and its run-time operations against stevedore,
importlib.metadata, pluggy and the import floor.

Run ``python -m benchmarks`` (``--quick`` for a run of seconds); see ``docs/benchmarks.md``.
"""
