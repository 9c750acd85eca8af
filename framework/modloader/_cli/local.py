"""``modloader [-x CMD | -c]``: run a host in this process."""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from modloader._cli.args import DEMO_NAMESPACE
from modloader._cli.args import Options
from modloader.errors import ConfigError
from modloader.errors import ModLoaderError
from modloader.errors import SocketInUseError
from modloader.errors import StartupError

if TYPE_CHECKING:
    from modloader._host import Host

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


def make_host(options: Options) -> Host:
    """The host of the command line: the application's ``host_factory``, else :class:`Host`."""
    from modloader._host import Host

    profile = options.profile
    if options.config:
        default: str | Path | None = None
    elif profile.default_config_path is not None:
        default = profile.default_config_path
    else:
        default = default_config_path(options.namespace)
    factory = Host if profile.host_factory is None else profile.host_factory
    host = factory(
        options.namespace,
        config_path=options.config,
        default_config_path=default,
        env_prefix=profile.env_prefix,
    )
    if not isinstance(host, Host):
        raise TypeError(f"host_factory must return a modloader.Host, not {type(host).__name__}")
    if options.module_timeout is not None:
        host.module_timeout = options.module_timeout or None  # 0: no limit
    return host


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


def _report_start_error(exc: ModLoaderError, as_json: bool, prog: str = "modloader") -> None:
    """Say why the host did not start: text on stderr, or the structured form on stdout."""
    issues = [str(issue) for issue in exc.issues] if isinstance(exc, ConfigError) else []
    if as_json:
        error = {"code": exc.code, "message": exc.message, "exit_code": exc.exit_code}
        if issues:
            error["issues"] = issues
        print(json.dumps({"ok": False, "error": error}, indent=2))
    elif isinstance(exc, ConfigError):
        print(f"{prog}: configuration error, nothing was started:", file=sys.stderr)
        for issue in issues:
            print(f"  {issue}", file=sys.stderr)
    elif isinstance(exc, StartupError):
        # The lines before were logged as they happened; this one is the verdict.
        print(f"{prog}: startup failed: {exc}", file=sys.stderr)
    else:
        print(f"{prog}: {exc}", file=sys.stderr)


def run_local(options: Options) -> int:
    """Start a host; run ``-x`` and stop, or serve it in the foreground (``-c``: with a console)."""
    from modloader._cli.remote import print_result
    from modloader._cli.remote import socket_path

    configure_logging(options)
    if options.execute is None:
        from modloader._control.unix import is_listening

        path = socket_path(options)
        if is_listening(path):  # refuse before starting any module (SPEC 7)
            print(SocketInUseError(path), file=sys.stderr)
            return SocketInUseError.exit_code
    host = make_host(options)
    try:
        host.start(core_init=options.profile.core_init)
    except ModLoaderError as exc:
        _report_start_error(exc, options.json, options.profile.prog)
        return exc.exit_code
    if options.execute is None:
        from modloader._cli.serve import Foreground

        foreground = Foreground(
            host, socket_path=options.socket, namespace=options.namespace, console=options.console
        )
        return foreground.run()
    try:
        result = host.run(options.execute)
    finally:
        # ``-x "core stop now"`` asks for a stop without unloading; honour it.
        host.stop(graceful=host.wait_for_stop(0) is not False)
    print_result(result, as_json=options.json)
    return result.exit_code
