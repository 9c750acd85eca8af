"""Command-line parsing for ``modloader`` (argparse: in the standard library, cheap to import)."""

# Annotations evaluated, not strings: typing.NamedTuple compiles string ones (docs/design.md).

import argparse
import functools
import os
import sys
import threading
from collections.abc import Callable
from collections.abc import Sequence
from typing import Any
from typing import NamedTuple

from modloader._cli.output import write
from modloader._version import __version__

# The names only: the module itself (and shtab) is imported when completing.
SHELLS = ("bash", "zsh", "tcsh")
TOPICS = ("namespaces", "command")

__all__ = [
    "DEFAULT_EXIT_TIMEOUT",
    "DEFAULT_NAMESPACE",
    "DEMO_NAMESPACE",
    "EXIT_INTERRUPTED",
    "Options",
    "Profile",
    "parse_args",
]

#: The namespace the ``modloader`` command reads when ``-n`` is not given.
DEFAULT_NAMESPACE = "modloader.modules"
#: Seconds the process waits, after the host stopped, for threads that modules left running.
DEFAULT_EXIT_TIMEOUT = 10.0
#: The namespace of the example plugins, with a modules.conf shipped in the package.
DEMO_NAMESPACE = "modloader.demo"
#: The exit status after Ctrl-C, as a shell reports it.
EXIT_INTERRUPTED = 130


class Profile(NamedTuple):
    """Whose command this is: ``modloader`` itself, or an application's (``modloader.main``)."""

    #: The command's name, in ``--help`` and in its messages.
    prog: str = "modloader"
    #: The application's namespace; ``None``: ``-n`` chooses it (``modloader`` itself).
    namespace: str | None = None
    #: Read if it exists when ``-C`` is not given; ``None``: modloader's per-namespace path.
    default_config_path: str | None = None
    env_prefix: str = "MODLOADER_"
    #: Called as ``host_factory(namespace, config_path=, default_config_path=, env_prefix=)``
    #: (and ``config_dir=`` when ``--config-dir`` is given).
    host_factory: Callable[..., Any] | None = None
    #: Passed to ``host.start(core_init=...)``.
    core_init: Callable[[Any], None] | None = None
    description: str | None = None
    epilog: str | None = None


class Options(NamedTuple):
    """The parsed command line."""

    namespace: str = DEFAULT_NAMESPACE
    config: str | None = None
    execute: str | None = None
    console: bool = False
    remote: bool = False
    #: ``-R``: a remote console that reconnects when the host goes away (Asterisk's ``-R``).
    reconnect: bool = False
    socket: str | None = None
    json: bool = False
    verbose: int = 0
    quiet: bool = False
    cache: str | None = None
    #: Seconds to wait, after the host stopped, for threads that modules left running.
    exit_timeout: float = DEFAULT_EXIT_TIMEOUT
    #: ``--module-timeout``: seconds a module call may take (0: no limit); ``None``: the default.
    module_timeout: float | None = None
    profile: Profile = Profile()
    log_file: str | None = None
    check: bool = False
    config_dir: str | None = None
    #: ``-p PID``: talk to this one of the namespace's processes only.
    pid: int | None = None
    #: ``--timeout``: seconds each process has to answer ``-rx``.
    timeout: float | None = None


_EXIT_STATUS = (
    "Exit status: 0 success, or a stop asked for by SIGTERM or SIGINT; 1 configuration or "
    "usage error, a failed command, or no host to connect to; 2 a required module failed at "
    "startup, or a module returned FAILURE; 128+N a second signal N cut a graceful stop "
    "short, or -x was interrupted by signal N. SIGHUP reloads every module."
)


_FORMATTER_WHILE_BUILDING = functools.partial(argparse.HelpFormatter, width=80)


def _parser(profile: Profile | None = None) -> argparse.ArgumentParser:
    profile = Profile() if profile is None else profile
    parser = argparse.ArgumentParser(
        prog=profile.prog,
        description=profile.description or "Run a modloader host, or talk to a running one.",
        epilog=f"{profile.epilog} {_EXIT_STATUS}" if profile.epilog else _EXIT_STATUS,
        # add_argument makes a help formatter to check each metavar, and the default one
        # asks the terminal for its width through shutil (which brings bz2, lzma and zlib,
        # about 1 ms of every start): a set width while the parser is built...
        formatter_class=_FORMATTER_WHILE_BUILDING,
    )
    if profile.namespace is None:
        parser.add_argument(
            "-n",
            "--namespace",
            default=DEFAULT_NAMESPACE,
            type=_namespace,
            help=f"entry-point group to read modules from (default {DEFAULT_NAMESPACE})",
        )
    parser.add_argument(
        "-C",
        "--config",
        metavar="MODULES_CONF",
        type=_file,
        help="modules.conf to read (it must exist)",
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
        "-R",
        "--reconnect",
        action="store_true",
        help="as -r, and when the host goes away (a restart), reconnect to it for 30 s",
    )
    parser.add_argument(
        "-s",
        "--socket",
        metavar="SOCKET",
        type=_socket,
        help="control socket path (default: derived from the namespace)",
    )
    parser.add_argument(
        "-p",
        "--pid",
        type=int,
        metavar="PID",
        help="with -r/-rx: only this process of the namespace (default: every one)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="with -rx: seconds each process has to answer (default 60); with -r: each "
        "command (default: as long as it takes)",
    )
    parser.add_argument("--json", action="store_true", help="structured output instead of text")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    parser.add_argument(
        "--exit-timeout",
        type=_seconds,
        default=DEFAULT_EXIT_TIMEOUT,
        metavar="SECONDS",
        help="after the host stopped, wait at most this long for threads that modules left "
        f"running, then exit anyway, naming them (default {DEFAULT_EXIT_TIMEOUT:g})",
    )
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
    parser.add_argument(
        "--log-file",
        metavar="PATH",
        help="also append the log to PATH, at least at INFO whatever -q or -x say",
    )
    parser.add_argument(
        "--print-completion",
        choices=SHELLS,
        metavar="SHELL",
        help=f"print the shell completion script for SHELL ({', '.join(SHELLS)}) and exit",
    )
    # Asked by the completion script at Tab time; not for people.
    parser.add_argument("--complete", choices=TOPICS, help=argparse.SUPPRESS)
    parser.add_argument("words", nargs="*", help=argparse.SUPPRESS)
    parser.add_argument(
        "--config-dir",
        metavar="DIR",
        help="folder of the modules' own <name>.conf files (default: that of modules.conf)",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="validate modules.conf and every module's settings without starting any, then exit",
    )
    version = f"modloader {__version__}"
    if profile.prog != "modloader":
        version = f"{profile.prog} (modloader {__version__})"
    parser.add_argument("-V", "--version", action="version", version=version)
    parser.formatter_class = argparse.HelpFormatter  # ... and the terminal's for help
    return parser


def _namespace(text: str) -> str:
    """An entry-point group: not empty."""
    if not text.strip():
        raise argparse.ArgumentTypeError(f"expected an entry-point group, not {text!r}")
    return text


def _file(text: str) -> str:
    """A file's path: not empty (whether it exists is the configuration's to say)."""
    if not text:
        raise argparse.ArgumentTypeError(f"expected a file, not {text!r}")
    return text


def _socket(text: str) -> str:
    """A control socket's path: not empty (an unset variable in ``-s "$SOCK"`` must not
    reach the namespace's own host instead)."""
    if not text:
        raise argparse.ArgumentTypeError(f"expected a socket path, not {text!r}")
    return text


def _seconds(text: str) -> float:
    """A number of seconds, 0 or more, and no more than a thread can wait."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= threading.TIMEOUT_MAX:
        raise argparse.ArgumentTypeError(
            f"expected a number of seconds (0 to {threading.TIMEOUT_MAX:g}), not {text!r}"
        )
    return value


def _parse(parser: argparse.ArgumentParser, argv: Sequence[str]) -> argparse.Namespace | int:
    """The parsed arguments, or the exit status once argparse printed help, the version
    or a usage error. Help that cannot be written (``> /dev/full``) is an
    :class:`~modloader._cli.output.OutputError`, as any other output."""
    try:
        return parser.parse_args(list(argv))
    except SystemExit as exc:
        if exc.code not in (0, None):
            return 1
        write(sys.stdout, "")  # flushes what argparse wrote
        return 0


def parse_args(argv: Sequence[str], profile: Profile | None = None) -> Options | int:
    """Parse ``argv``; an ``int`` is the exit status when nothing is left to run."""
    profile = Profile() if profile is None else profile
    parser = _parser(profile)
    ns = _parse(parser, argv)
    if isinstance(ns, int):
        return ns
    namespace = ns.namespace if profile.namespace is None else profile.namespace
    if ns.print_completion is not None or ns.complete is not None:
        from modloader._cli import completion

        if ns.complete is not None:
            completion.complete(ns.complete, ns.words, namespace=namespace, socket=ns.socket)
        else:
            completion.print_completion(parser, ns.print_completion)
        return 0
    if ns.words:  # only --complete takes words
        parser.print_usage(sys.stderr)
        print(
            f"{profile.prog}: error: unrecognized arguments: {' '.join(ns.words)}", file=sys.stderr
        )
        return 1
    if ns.execute is not None and not ns.execute.strip():
        parser.print_usage(sys.stderr)
        print(f"{profile.prog}: error: -x needs a command, e.g. -x 'module show'", file=sys.stderr)
        return 1
    if ns.execute is not None and ns.console and not ns.remote:
        parser.print_usage(sys.stderr)
        print(f"{profile.prog}: error: -x and -c cannot be combined", file=sys.stderr)
        return 1
    if ns.reconnect and ns.execute is not None:
        parser.print_usage(sys.stderr)
        print(f"{profile.prog}: error: -R keeps a console attached: use -rx CMD", file=sys.stderr)
        return 1
    ns.remote = ns.remote or ns.reconnect
    problem = _remote_problem(ns)
    if problem is None and ns.config_dir is not None and not os.path.isdir(ns.config_dir):
        # Like -C, which must exist: a misspelt folder would give every module its defaults.
        problem = f"--config-dir {ns.config_dir}: no such folder"
    if problem is not None:
        parser.print_usage(sys.stderr)
        print(f"{profile.prog}: error: {problem}", file=sys.stderr)
        return 1
    return Options(
        namespace=namespace,
        config=ns.config,
        execute=ns.execute,
        console=ns.console,
        remote=ns.remote,
        reconnect=ns.reconnect,
        socket=ns.socket,
        json=ns.json,
        verbose=ns.verbose,
        quiet=ns.quiet,
        cache=ns.cache,
        exit_timeout=ns.exit_timeout,
        module_timeout=ns.module_timeout,
        profile=profile,
        log_file=ns.log_file,
        check=ns.check,
        config_dir=ns.config_dir,
        pid=ns.pid,
        timeout=ns.timeout,
    )


def _remote_problem(ns: argparse.Namespace) -> str | None:
    """What is wrong with ``-p`` and ``--timeout``, or ``None``."""
    if ns.pid is not None:
        if not ns.remote:
            return "-p picks a running process: use it with -r or -rx"
        if ns.socket is not None:
            return "-p picks one of the namespace's processes; -s names one socket already"
        if ns.pid <= 0:
            return f"-p needs a process id, not {ns.pid}"
    if ns.timeout is not None and not 0 < ns.timeout <= threading.TIMEOUT_MAX:
        return (
            f"--timeout needs a positive number of seconds (at most "
            f"{threading.TIMEOUT_MAX:g}), not {ns.timeout:g}"
        )
    return None
