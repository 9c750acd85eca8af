"""Benchmarks: modloader's discovery and startup against importlib.metadata, stevedore and pluggy.

Run ``python -m benchmarks`` (``--quick`` for a run under two minutes); see
``docs/benchmarks.md``.
"""
