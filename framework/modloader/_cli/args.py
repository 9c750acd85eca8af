"""Command-line parsing for ``modloader`` (argparse: in the standard library, cheap to import)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from modloader._version import __version__

__all__ = ["DEFAULT_NAMESPACE", "DEMO_NAMESPACE", "Options", "Profile", "parse_args"]

#: The namespace the ``modloader`` command reads when ``-n`` is not given.
DEFAULT_NAMESPACE = "modloader.modules"
#: The namespace of the example plugins, with a modules.conf shipped in the package.
DEMO_NAMESPACE = "modloader.demo"


@dataclass(frozen=True, slots=True)
class Profile:
    """Whose command this is: ``modloader`` itself, or an application's (``modloader.main``)."""

    #: The command's name, in ``--help`` and in its messages.
    prog: str = "modloader"
    #: The application's namespace; ``None``: ``-n`` chooses it (``modloader`` itself).
    namespace: str | None = None
    #: Read if it exists when ``-C`` is not given; ``None``: modloader's per-namespace path.
    default_config_path: str | None = None
    env_prefix: str = "MODLOADER_"
    #: Called as ``host_factory(namespace, config_path=, default_config_path=, env_prefix=)``.
    host_factory: Callable[..., Any] | None = None
    #: Passed to ``host.start(core_init=...)``.
    core_init: Callable[[Any], None] | None = None
    description: str | None = None
    epilog: str | None = None


@dataclass(frozen=True, slots=True)
class Options:
    """The parsed command line."""

    namespace: str = DEFAULT_NAMESPACE
    config: str | None = None
    execute: str | None = None
    console: bool = False
    remote: bool = False
    socket: str | None = None
    json: bool = False
    verbose: int = 0
    quiet: bool = False
    cache: str | None = None
    #: ``--module-timeout``: seconds a module call may take (0: no limit); ``None``: the default.
    module_timeout: float | None = None
    profile: Profile = field(default_factory=Profile)


_EXIT_STATUS = (
    "Exit status: 0 success; 1 configuration or usage error, a failed command, "
    "or no host to connect to; 2 a required module failed at startup."
)


def _parser(profile: Profile) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=profile.prog,
        description=profile.description or "Run a modloader host, or talk to a running one.",
        epilog=f"{profile.epilog} {_EXIT_STATUS}" if profile.epilog else _EXIT_STATUS,
    )
    if profile.namespace is None:
        parser.add_argument(
            "-n",
            "--namespace",
            default=DEFAULT_NAMESPACE,
            help=f"entry-point group to read modules from (default {DEFAULT_NAMESPACE})",
        )
    parser.add_argument(
        "-C", "--config", metavar="MODULES_CONF", help="modules.conf to read (it must exist)"
    )
    parser.add_argument(
        "-x", "--execute", metavar="CMD", help="run CMD and exit (with -r: on the running host)"
    )
    parser.add_argument(
        "-c", "--console", action="store_true", help="run the host with an interactive console"
    )
    parser.add_argument(
        "-r",
        "--remote",
        action="store_true",
        help="attach to a running host over its control socket",
    )
    parser.add_argument(
        "-s",
        "--socket",
        metavar="SOCKET",
        help="control socket path (default: derived from the namespace)",
    )
    parser.add_argument("--json", action="store_true", help="structured output instead of text")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    parser.add_argument(
        "--module-timeout",
        type=_seconds,
        metavar="SECONDS",
        help="how long a module's load(), unload() or reload() may run before the host "
        "stops waiting for it (default 30; 0: no limit)",
    )
    parser.add_argument(
        "--cache",
        choices=["show", "clear"],
        help="show or clear modloader's cache (discovery and validated configuration), then exit",
    )
    version = f"modloader {__version__}"
    if profile.prog != "modloader":
        version = f"{profile.prog} (modloader {__version__})"
    parser.add_argument("-V", "--version", action="version", version=version)
    return parser


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be 0 (no limit) or more seconds: {text!r}")
    return value


def parse_args(argv: Sequence[str], profile: Profile | None = None) -> Options | int:
    """Parse ``argv``; an ``int`` is the exit status when nothing is left to run."""
    profile = Profile() if profile is None else profile
    parser = _parser(profile)
    try:
        ns = parser.parse_args(list(argv))
    except SystemExit as exc:  # argparse printed help, the version, or a usage error
        return 0 if exc.code in (0, None) else 1
    if ns.execute is not None and not ns.execute.strip():
        parser.print_usage(sys.stderr)
        print(f"{profile.prog}: error: -x needs a command, e.g. -x 'module show'", file=sys.stderr)
        return 1
    if ns.execute is not None and ns.console and not ns.remote:
        parser.print_usage(sys.stderr)
        print(f"{profile.prog}: error: -x and -c cannot be combined", file=sys.stderr)
        return 1
    return Options(
        namespace=ns.namespace if profile.namespace is None else profile.namespace,
        config=ns.config,
        execute=ns.execute,
        console=ns.console,
        remote=ns.remote,
        socket=ns.socket,
        json=ns.json,
        verbose=ns.verbose,
        quiet=ns.quiet,
        cache=ns.cache,
        module_timeout=ns.module_timeout,
        profile=profile,
    )
