"""``notes-app``: run the application, or talk to a running one.

* ``notes-app`` runs it in the foreground with its control socket
  (``-c``: with the modloader console), until ``core stop`` or a signal.
* ``notes-app -x CMD`` starts it, runs one command, and stops it.
* ``notes-app -r [-x CMD]`` attaches to the running one (the same as
  ``modloader -n notes_app.modules -r``).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from modloader import ConfigError
from modloader import ModLoaderError
from notes_app.app import NAMESPACE
from notes_app.app import SHIPPED_CONFIG
from notes_app.app import NotesApp
from notes_app.app import user_config_path

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="notes-app", description=__doc__.splitlines()[0])
    parser.add_argument(
        "-C",
        "--config",
        metavar="MODULES_CONF",
        help=f"modules.conf to read (default {user_config_path()}, else {SHIPPED_CONFIG.name} "
        "shipped with notes-app)",
    )
    parser.add_argument("--data", metavar="DIR", type=Path, help="where the notes are kept")
    parser.add_argument("-s", "--socket", metavar="SOCKET", help="control socket path")
    parser.add_argument("-x", "--execute", metavar="CMD", help="run CMD and exit")
    parser.add_argument("-c", "--console", action="store_true", help="run with a console")
    parser.add_argument("-r", "--remote", action="store_true", help="attach to the running app")
    parser.add_argument("--json", action="store_true", help="structured output (with -x)")
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """The ``notes-app`` console script; returns the exit status."""
    args = _parser().parse_args(argv)
    if args.remote:
        from modloader._cli import main as modloader_main

        forward = ["-n", NAMESPACE, "-r"]
        forward += ["-s", args.socket] if args.socket else []
        forward += ["--json"] if args.json else []
        forward += ["-x", args.execute] if args.execute is not None else []
        return modloader_main(forward)
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="[%(asctime)s] %(levelname)s: %(message)s",
        stream=sys.stderr,
    )
    app = NotesApp(config=args.config, data_dir=args.data)
    try:
        app.start()
    except ModLoaderError as exc:
        print(f"notes-app: {exc}", file=sys.stderr)
        for issue in exc.issues if isinstance(exc, ConfigError) else []:
            print(f"  {issue}", file=sys.stderr)
        return exc.exit_code
    if args.execute is not None:
        try:
            result = app.host.run(args.execute)
        finally:
            app.stop()
        print(json.dumps(result.data, indent=2) if args.json else result.output)
        return result.exit_code
    from modloader._cli.serve import Foreground

    foreground = Foreground(app, socket_path=args.socket, namespace=NAMESPACE, console=args.console)
    app.host.on_stop_request(foreground.request_stop)
    return foreground.run()
