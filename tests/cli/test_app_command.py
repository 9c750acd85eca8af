"""``modloader.main(...)``: an application's own command, as its console script runs it.

The application is a script of its own (public API only) over real installed
distributions: its namespace, its modules.conf, its environment prefix, its
host factory (a built-in module with a command) and its ``core_init``.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

import modloader
from tests import _apps
from tests._apps import AppEnv
from tests._apps import wait_for_socket

APP = textwrap.dedent(
    """
    import os
    import sys

    import modloader


    class CoreApp:
        description = "The application's own commands"

        def load(self, ctx):
            ctx.register_command("app hello", lambda args: "hello from the app")


    def make_host(namespace, **options):
        return modloader.Host(namespace, builtins={"core_app": CoreApp()}, **options)


    def core_init(host):
        running = [n for n in ("res_base", "res_user") if host.is_running(n)]
        print("core_init, running:", running, file=sys.stderr, flush=True)


    def cli():
        return modloader.main(
            prog="itest-app",
            namespace="itest.served",
            default_config_path=os.environ["APP_CONF"],
            env_prefix="APP_",
            host_factory=make_host,
            core_init=core_init,
            description="The itest application.",
        )


    if __name__ == "__main__":
        sys.exit(cli())
    """
)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _apps.lay_plugins(tmp_path_factory.mktemp("site-packages"))


@pytest.fixture
def app_env(site: Path, tmp_path: Path) -> Iterator[AppEnv]:
    with _apps.app_env(site, tmp_path) as env:
        env.env["APP_CONF"] = str(env.conf)
        (tmp_path / "app.py").write_text(APP, encoding="utf-8")
        yield env


def _app(env: AppEnv) -> list[str]:
    return [sys.executable, str(env.tmp / "app.py")]


def test_x_runs_the_apps_host_with_its_factory_and_core_init(app_env: AppEnv) -> None:
    done = app_env.run([*_app(app_env), "-x", "module show"])
    assert done.returncode == 0, done.stderr
    rows = {line.split()[0] for line in done.stdout.splitlines()[1:-1]}
    assert rows == {"core_app", "res_base", "res_user"}
    # core_init ran between the (empty) preload phase and the load phase.
    assert "core_init, running: []" in done.stderr
    assert app_env.lifecycle() == [
        "load res_base",
        "load res_user",
        "unload res_user",
        "unload res_base",
    ]
    hello = app_env.run([*_app(app_env), "-x", "app hello"])
    assert (hello.returncode, hello.stdout) == (0, "hello from the app\n")


def test_the_apps_env_prefix_and_default_config(app_env: AppEnv) -> None:
    app_env.env["APP_NOLOAD"] = "res_user"
    done = app_env.run([*_app(app_env), "-x", "module show", "--json"])
    assert done.returncode == 0, done.stderr
    names = {m["name"] for m in json.loads(done.stdout)["data"]["modules"]}
    assert names == {"core_app", "res_base"}
    _apps.p.write_conf(app_env.conf, "autoload = no\nload = res_base")
    del app_env.env["APP_NOLOAD"]
    done = app_env.run([*_app(app_env), "-x", "module show", "--json"])
    names = {m["name"] for m in json.loads(done.stdout)["data"]["modules"]}
    assert names == {"core_app", "res_base"}


def test_served_app_answers_its_own_rx_and_modloaders(app_env: AppEnv) -> None:
    proc = app_env.popen(_app(app_env))
    try:
        wait_for_socket(app_env.socket, proc)
        # The application's command, through the fast path and the full client.
        mine = app_env.run([*_app(app_env), "-rx", "app hello"])
        assert (mine.returncode, mine.stdout) == (0, "hello from the app\n"), mine.stderr
        structured = app_env.run([*_app(app_env), "-rx", "module show", "--json"])
        assert structured.returncode == 0, structured.stderr
        assert json.loads(structured.stdout)["data"]["count"] == 3
        # modloader's own command finds it by the namespace.
        theirs = app_env.rx("app hello")
        assert (theirs.returncode, theirs.stdout) == (0, "hello from the app\n")
        stop = app_env.run([*_app(app_env), "-rx", "core stop gracefully"])
        assert (stop.returncode, stop.stdout) == (0, "Stopping gracefully.\n")
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert app_env.lifecycle()[-2:] == ["unload res_user", "unload res_base"]


def test_the_apps_command_has_no_namespace_option(app_env: AppEnv) -> None:
    for argv in (["-n", "x", "-x", "help"], ["-n", "x", "-rx", "help"]):
        done = app_env.run([*_app(app_env), *argv])
        assert done.returncode == 1
        assert "itest-app: error: unrecognized arguments: -n" in done.stderr
    helped = app_env.run([*_app(app_env), "--help"])
    assert helped.returncode == 0
    assert helped.stdout.startswith("usage: itest-app ")
    assert "The itest application." in helped.stdout
    assert "--namespace" not in helped.stdout


def test_a_configuration_error_names_the_app(app_env: AppEnv) -> None:
    done = app_env.run([*_app(app_env), "-C", str(app_env.tmp / "nope.conf"), "-x", "help"])
    assert done.returncode == 1
    assert done.stderr.startswith("itest-app: configuration error, nothing was started:")
    assert str(app_env.tmp / "nope.conf") in done.stderr


# -- the arguments, in this process ------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"namespace": {"a": 1}}, r"main\(namespace=...\) must be a str or None, not dict"),
        ({"prog": None}, r"main\(prog=...\) must be a str, not NoneType"),
        ({"env_prefix": 3}, r"main\(env_prefix=...\) must be a str, not int"),
        ({"default_config_path": 1.5}, r"main\(default_config_path=...\) must be a path"),
        ({"host_factory": "Host"}, r"main\(host_factory=...\) must be callable, not str"),
        ({"core_init": 0}, r"main\(core_init=...\) must be callable, not int"),
    ],
)
def test_wrong_argument_types_name_the_parameter(
    arguments: dict[str, object], message: str
) -> None:
    with pytest.raises(TypeError, match=message):
        modloader.main(["-x", "help"], **arguments)  # type: ignore[arg-type]


def test_argv_must_not_be_a_string() -> None:
    with pytest.raises(TypeError, match=r"main\(argv=...\) must be a sequence"):
        modloader.main("-x help")


def test_an_empty_namespace_is_refused() -> None:
    with pytest.raises(ValueError, match=r"main\(namespace=...\) must not be empty"):
        modloader.main(["-x", "help"], namespace=" ")


def test_a_factory_that_returns_no_host() -> None:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level  # the command sets up logging
    try:
        with pytest.raises(
            TypeError, match=r"host_factory must return a modloader\.Host, not dict"
        ):
            modloader.main(["-x", "help"], namespace="itest.none", host_factory=lambda ns, **kw: {})
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def test_the_modloader_command_is_main_with_defaults() -> None:
    done = subprocess.run(
        [*_apps.modloader_command(), "--help"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0
    assert done.stdout.startswith("usage: modloader ")
    assert "--namespace" in done.stdout
