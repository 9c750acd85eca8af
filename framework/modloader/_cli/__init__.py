"""The ``modloader`` command (SPEC 7), and the same command for an application.

This package is imported by the remote client (``-r``/``-rx``), which must
start in about the time Python itself takes: import nothing heavy here, and
import the host machinery only on the paths that run a host.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # not ``typing.TYPE_CHECKING``: see modloader/__init__.py
if TYPE_CHECKING:
    from collections.abc import Callable
    from collections.abc import Sequence
    from typing import Any

    from modloader._host import Host

__all__ = ["main"]

_REMOTE_FLAGS = ("-rx", "-r", "--remote", "-xr")


def main(
    argv: Sequence[str] | None = None,
    *,
    prog: str = "modloader",
    namespace: str | None = None,
    default_config_path: str | os.PathLike[str] | None = None,
    env_prefix: str = "MODLOADER_",
    host_factory: Callable[..., Host] | None = None,
    core_init: Callable[[Host], None] | None = None,
    description: str | None = None,
    epilog: str | None = None,
) -> int:
    """The ``modloader`` command, or your application's own; returns the exit status.

    With no keyword, this is the ``modloader`` console script. An application
    gives its operators the same command (``-x CMD``, ``-c``, ``-r``, ``-rx CMD``,
    ``-C``, ``-s``, ``--json``, ``-v``, ``-q``, ``--check``, ``--config-dir``) over
    its own host by calling it from its console script::

        def cli() -> int:  # [project.scripts] myapp = "myapp.cli:cli"
            return modloader.main(
                prog="myapp",
                namespace="myapp.modules",
                default_config_path="/etc/myapp/modules.conf",
                env_prefix="MYAPP_",
                core_init=init_my_core,
            )

    :param argv: the arguments (``None``: ``sys.argv[1:]``).
    :param prog: the command's name, in ``--help`` and in its messages.
    :param namespace: the application's entry-point group. When given, the
        command has no ``-n`` option; ``None`` (the ``modloader`` command): ``-n``
        chooses it, default ``modloader.modules``.
    :param default_config_path: the modules.conf read if it exists when ``-C`` is
        not given (``None``: ``$XDG_CONFIG_HOME/modloader/<namespace>/modules.conf``).
    :param env_prefix: environment variables under this prefix override the file.
    :param host_factory: makes the host, called as ``host_factory(namespace,
        config_path=..., default_config_path=..., env_prefix=...)``, plus
        ``config_dir=...`` when ``--config-dir`` is given, and returning a
        :class:`~modloader.Host` (default: :class:`~modloader.Host` itself). Use it
        to add built-in modules or settings.
    :param core_init: passed to :meth:`Host.start <modloader.Host.start>`: called
        between the preload and load phases.
    :param description: the first paragraph of ``--help``.
    :param epilog: a paragraph at the end of ``--help``, before the exit statuses.
    :raises TypeError: an argument of the wrong type, naming it.
    """
    _check_arguments(
        prog=prog,
        namespace=namespace,
        default_config_path=default_config_path,
        env_prefix=env_prefix,
        host_factory=host_factory,
        core_init=core_init,
        description=description,
        epilog=epilog,
    )
    if isinstance(argv, str):
        raise TypeError("main(argv=...) must be a sequence of arguments, not a str")
    argv = sys.argv[1:] if argv is None else list(argv)
    _fill_closed_streams()
    from modloader._cli.output import OutputError

    try:
        return _run(
            argv,
            prog,
            namespace,
            default_config_path,
            env_prefix,
            host_factory,
            core_init,
            description,
            epilog,
        )
    except OutputError as exc:  # > /dev/full: said as ls says it, not as a traceback
        try:
            print(f"{prog}: write error: {exc}", file=sys.stderr, flush=True)
        except (OSError, ValueError):
            pass
        return 1


def _run(
    argv: list[str],
    prog: str,
    namespace: str | None,
    default_config_path: str | os.PathLike[str] | None,
    env_prefix: str,
    host_factory: Callable[..., Host] | None,
    core_init: Callable[[Host], None] | None,
    description: str | None,
    epilog: str | None,
) -> int:
    for stream in (sys.stdout, sys.stderr):
        # A module's text must never kill the command on a terminal that cannot show it.
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")
    if any(flag in argv for flag in _REMOTE_FLAGS):
        status = _fast_remote(argv, namespace, prog)
        if status is not None:
            return status
    config_path = None if default_config_path is None else os.fspath(default_config_path)
    # The command's imports and its host: see modloader._collector.
    from modloader._collector import CollectorPaused

    with CollectorPaused() as collector:
        from modloader._cli.args import Profile
        from modloader._cli.args import parse_args

        profile = Profile(
            prog=prog,
            namespace=namespace,
            default_config_path=config_path,
            env_prefix=env_prefix,
            host_factory=host_factory,
            core_init=core_init,
            description=description,
            epilog=epilog,
        )
        args = parse_args(argv, profile)
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

            collector.resume()  # a remote console may run for hours
            return run_remote(args)
        from modloader._cli.local import run_local

        return run_local(args, collector.resume)


def _fill_closed_streams() -> None:
    """A standard stream closed when the command started (``>&-``, some daemons) is
    ``None`` in Python: ``/dev/null`` takes its place, so that printing is not an
    ``AttributeError`` and no socket or file the command opens gets that descriptor."""
    for fd, name in ((0, "stdin"), (1, "stdout"), (2, "stderr")):
        if getattr(sys, name) is not None:
            continue
        try:
            os.fstat(fd)
        except OSError:  # closed: /dev/null in its place
            null = os.open(os.devnull, os.O_RDWR)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)
        stream = open(fd, "r" if fd == 0 else "w", encoding="utf-8", closefd=False)
        setattr(sys, name, stream)


def _fast_remote(argv: list[str], namespace: str | None, prog: str) -> int | None:
    """The plain ``-rx CMD`` fast path; ``None`` when the full client must decide."""
    from modloader._cli.rx import fast_remote

    if namespace is None:
        return fast_remote(argv, prog)
    if any(arg in ("-n", "--namespace") or arg.startswith("--namespace=") for arg in argv):
        return None  # an application's command has no -n: the full parser says so
    return fast_remote(["-n", namespace, *argv], prog)


def _check_arguments(**arguments: Any) -> None:
    """A ``TypeError`` naming the parameter, rather than a failure deep inside."""
    for name in ("prog", "env_prefix"):
        if not isinstance(arguments[name], str):
            raise TypeError(f"main({name}=...) must be a str, not {type(arguments[name]).__name__}")
    for name in ("namespace", "description", "epilog"):
        value = arguments[name]
        if value is not None and not isinstance(value, str):
            raise TypeError(f"main({name}=...) must be a str or None, not {type(value).__name__}")
    if arguments["namespace"] is not None and not arguments["namespace"].strip():
        raise ValueError("main(namespace=...) must not be empty")
    path = arguments["default_config_path"]
    if path is not None and not isinstance(path, (str, os.PathLike)):
        raise TypeError(
            f"main(default_config_path=...) must be a path or None, not {type(path).__name__}"
        )
    for name in ("host_factory", "core_init"):
        value = arguments[name]
        if value is not None and not callable(value):
            raise TypeError(f"main({name}=...) must be callable, not {type(value).__name__}")
