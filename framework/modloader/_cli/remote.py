"""``modloader -r`` and ``modloader -rx CMD``: talk to a running host (SPEC 7).

A thin client: ``-rx`` imports the standard library, the protocol and the
error tree, and nothing else (no pydantic, stevedore, importlib_metadata or
prompt_toolkit); ``-r`` adds prompt_toolkit for the console.
"""

from __future__ import annotations

import json
import socket
import sys

from modloader._cli.args import Options
from modloader._cli.local import print_result
from modloader._control.client import ControlClient
from modloader._control.client import RemoteExecutor
from modloader._control.paths import default_socket_path
from modloader._control.terminal import escape_controls
from modloader.errors import ControlError

__all__ = ["run_remote", "socket_path"]

#: The exit status after Ctrl-C, as a shell reports it.
EXIT_INTERRUPTED = 130


def socket_path(options: Options) -> str:
    """The socket ``-s`` names, else the default one of ``-n NAMESPACE``."""
    return options.socket or default_socket_path(options.namespace)


def _report(exc: ControlError, *, as_json: bool) -> int:
    print(escape_controls(str(exc)), file=sys.stderr)
    if as_json:
        error = {"ok": False, "error": {"code": exc.code, "message": exc.message}}
        print(json.dumps(error, indent=2))
    return exc.exit_code


def run_remote(options: Options) -> int:
    """Run ``-rx CMD`` (one command) or ``-r`` (a console) against a running host.

    :returns: 0 on success; 1 when the command failed or no host answered.
    """
    path = socket_path(options)
    client = ControlClient(path, private_folder=options.socket is None)
    try:
        if options.execute is not None:
            return _execute(client, options.execute, as_json=options.json)
        return _console(client, options)
    except ControlError as exc:
        return _report(exc, as_json=options.json)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


def _execute(client: ControlClient, line: str, *, as_json: bool) -> int:
    with client:
        result = client.execute(line, structured=as_json)
    print_result(result, as_json=as_json)
    return result.exit_code


def _console(client: ControlClient, options: Options) -> int:
    from modloader._cli.console import run_console  # prompt_toolkit: only for -r

    with client:
        hello = client.hello()
        banner = escape_controls(
            f"Connected to {hello.server or 'modloader'} currently running on "
            f"{socket.gethostname()} (pid = {hello.pid})"
        )
        run_console(RemoteExecutor(client, structured=options.json), banner=banner)
    return 0
