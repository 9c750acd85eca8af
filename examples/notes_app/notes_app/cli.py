"""``notes-app``: run the application, or talk to a running one.

The command is modloader's own (``modloader.main``) over notes-app's host:

* ``notes-app`` runs it in the foreground with its control socket
  (``-c``: with the modloader console), until ``core stop`` or a signal.
* ``notes-app -x CMD`` starts it, runs one command, and stops it.
* ``notes-app -r`` / ``notes-app -rx CMD`` attaches to the running one (the
  same as ``modloader -n notes_app.modules -r``).

``--data DIR``, notes-app's own option, is read before the rest.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import modloader
from notes_app.app import ENV_PREFIX
from notes_app.app import NAMESPACE
from notes_app.app import NotesApp
from notes_app.app import default_config_path
from notes_app.app import default_data_dir

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """The ``notes-app`` console script; returns the exit status."""
    own = argparse.ArgumentParser(add_help=False)
    own.add_argument("--data", metavar="DIR", type=Path)
    known, rest = own.parse_known_args(argv)
    app = NotesApp(data_dir=known.data)
    return modloader.main(
        rest,
        prog="notes-app",
        namespace=NAMESPACE,
        default_config_path=default_config_path(),
        env_prefix=ENV_PREFIX,
        host_factory=app.make_host,
        core_init=app.open_store,
        description="A notes application whose storage and filters are modloader modules.",
        epilog=f"--data DIR says where the notes are kept (default {default_data_dir()}).",
    )
