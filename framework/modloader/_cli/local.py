"""``modloader [-x CMD | -c]``: run a host in this process."""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path

from modloader._cli.args import DEMO_NAMESPACE
from modloader._cli.args import Options
from modloader.errors import ConfigError
from modloader.errors import ModLoaderError
from modloader.errors import SocketInUseError
from modloader.errors import StartupError

__all__ = ["configure_logging", "default_config_path", "make_host", "run_local"]


def default_config_path(namespace: str) -> Path:
    """Where the ``modloader`` command looks for modules.conf when ``-C`` is not given.

    ``$XDG_CONFIG_HOME/modloader/<namespace>/modules.conf`` (``~/.config/...``);
    for the demo namespace, the modules.conf shipped in the package when that
    file does not exist.
    """
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    path = Path(base) / "modloader" / namespace / "modules.conf"
    if namespace == DEMO_NAMESPACE and not path.exists():
        shipped = Path(__file__).resolve().parent.parent / "demo.conf"
        if shipped.exists():
            return shipped
    return path


def configure_logging(options: Options) -> None:
    """Messages to stderr, as ``[date] LEVEL: message``."""
    # ``-x`` prints what the command prints; startup's news is for -v (warnings still show).
    level = logging.WARNING if options.quiet or options.execute is not None else logging.INFO
    level = max(logging.DEBUG, level - 10 * options.verbose)  # each -v shows one level more
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        logging.Formatter("[%(asctime)s] %(levelname)s: %(message)s", datefmt="%b %d %H:%M:%S")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def make_host(options: Options) -> object:
    from modloader._host import Host

    hookspecs = None
    if options.namespace == DEMO_NAMESPACE:  # the demo host's hooks (``demo status``)
        from modloader.demo import DemoSpecs

        hookspecs = [DemoSpecs]
    return Host(
        options.namespace,
        config_path=options.config,
        default_config_path=None if options.config else default_config_path(options.namespace),
        hookspecs=hookspecs,
    )


def run_cache(action: str) -> int:
    """``modloader --cache show|clear``: what the cache holds, or empty it."""
    from modloader import _cachestore

    folder = _cachestore.cache_dir()
    if action == "clear":
        print(f"removed {_cachestore.clear()} entries from {folder}")
        return 0
    state = "on" if _cachestore.is_enabled() else "off (MODLOADER_NO_CACHE or a .disable file)"
    print(f"cache folder: {folder}")
    print(f"cache: {state}")
    for path in _cachestore.entries():
        print(f"  {path.parent.name:<12} {path.stat().st_size:>9} bytes  {path.name}")
    return 0


def _report_start_error(exc: ModLoaderError, as_json: bool) -> None:
    """Say why the host did not start: text on stderr, or the structured form on stdout."""
    issues = [str(issue) for issue in exc.issues] if isinstance(exc, ConfigError) else []
    if as_json:
        error = {"code": exc.code, "message": exc.message, "exit_code": exc.exit_code}
        if issues:
            error["issues"] = issues
        print(json.dumps({"ok": False, "error": error}, indent=2))
    elif isinstance(exc, ConfigError):
        print("modloader: configuration error, nothing was started:", file=sys.stderr)
        for issue in issues:
            print(f"  {issue}", file=sys.stderr)
    elif isinstance(exc, StartupError):
        # The lines before were logged as they happened; this one is the verdict.
        print(f"modloader: startup failed: {exc}", file=sys.stderr)
    else:
        print(f"modloader: {exc}", file=sys.stderr)


def run_local(options: Options) -> int:
    """Start a host; run ``-x`` and stop, or serve it in the foreground (``-c``: with a console)."""
    from modloader._cli.remote import print_result
    from modloader._cli.remote import socket_path
    from modloader._host import Host

    configure_logging(options)
    if options.execute is None:
        from modloader._control.unix import is_listening

        path = socket_path(options)
        if is_listening(path):  # refuse before starting any module (SPEC 7)
            print(SocketInUseError(path), file=sys.stderr)
            return SocketInUseError.exit_code
    host = make_host(options)
    assert isinstance(host, Host)
    try:
        host.start()
    except ModLoaderError as exc:
        _report_start_error(exc, options.json)
        return exc.exit_code
    if options.execute is None:
        from modloader._cli.serve import Foreground

        foreground = Foreground(
            host, socket_path=options.socket, namespace=options.namespace, console=options.console
        )
        host.on_stop_request(foreground.request_stop)
        return foreground.run()
    try:
        result = host.run(options.execute)
    finally:
        # ``-x "core stop now"`` asks for a stop without unloading; honour it.
        host.stop(graceful=host.wait_for_stop(0) is not False)
    print_result(result, as_json=options.json)
    return result.exit_code
