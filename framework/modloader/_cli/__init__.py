"""The ``modloader`` command (SPEC 7).

This package is imported by the remote client (``-r``/``-rx``), which must
start in about the time Python itself takes: import nothing heavy here, and
import the host machinery only on the paths that run a host.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # not ``typing.TYPE_CHECKING``: see modloader/__init__.py
if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``modloader`` console script; returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    for stream in (sys.stdout, sys.stderr):
        # A module's text must never kill the command on a terminal that cannot show it.
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")
    if "-rx" in argv or "-r" in argv or "--remote" in argv or "-xr" in argv:
        from modloader._cli.rx import fast_remote

        status = fast_remote(argv)
        if status is not None:
            return status
    from modloader._cli.args import parse_args

    args = parse_args(argv)
    if isinstance(args, int):  # --help / --version printed, or a usage error reported
        return args
    if args.cache is not None:
        from modloader._cli.local import run_cache

        return run_cache(args.cache)
    if args.check:
        from modloader._settings.check import run_check

        return run_check(args)
    if args.remote:
        from modloader._cli.remote import run_remote

        return run_remote(args)
    from modloader._cli.local import run_local

    return run_local(args)
