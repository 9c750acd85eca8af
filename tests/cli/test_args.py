"""Command-line parsing and the in-process ``-x`` path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from modloader._cli import main
from modloader._cli.args import DEFAULT_EXIT_TIMEOUT
from modloader._cli.args import DEFAULT_NAMESPACE
from modloader._cli.args import Options
from modloader._cli.args import parse_args
from modloader._cli.local import default_config_path
from modloader._version import __version__


def test_defaults() -> None:
    assert parse_args([]) == Options(namespace=DEFAULT_NAMESPACE)


def test_every_option() -> None:
    options = parse_args(
        ["-n", "app.mods", "-C", "m.conf", "-x", "module show", "--json", "-s", "/s"]
    )
    assert options == Options(
        namespace="app.mods", config="m.conf", execute="module show", socket="/s", json=True
    )
    assert parse_args(["-rx", "module show"]) == Options(remote=True, execute="module show")
    assert parse_args(["-R"]) == Options(remote=True, reconnect=True)


def test_version_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert parse_args(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"modloader {__version__}"
    assert parse_args(["--help"]) == 0
    assert "Exit status" in capsys.readouterr().out


def test_usage_errors_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert parse_args(["--bogus"]) == 1
    assert parse_args(["-c", "-x", "module show"]) == 1
    assert "-x and -c cannot be combined" in capsys.readouterr().err
    assert parse_args(["-R", "-x", "module show"]) == 1
    assert "-R keeps a console attached: use -rx CMD" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["-s", "", "-rx", "module show"], "argument -s/--socket: expected a socket path, not ''"),
        (["-s", "", "-r"], "argument -s/--socket: expected a socket path"),
        (["-n", "", "-rx", "module show"], "argument -n/--namespace: expected an entry-point"),
        (["-n", " ", "-rx", "module show"], "argument -n/--namespace: expected an entry-point"),
        (["-rx", " "], "-x needs a command"),
        (["-r", "-x", ""], "-x needs a command"),
    ],
    ids=["socket-rx", "socket-console", "namespace-empty", "namespace-blank", "rx", "r-x"],
)
def test_empty_remote_arguments_are_usage_errors(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """``-s "$SOCK"`` with the variable unset must not reach the default namespace's host:
    the thin -rx path hands what the full parser refuses to it, before anything is sent."""
    assert main(argv) == 1
    out, err = capsys.readouterr()
    assert out == "" and message in err and "Unable to connect" not in err


def test_default_config_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert default_config_path("app.mods") == tmp_path / "modloader" / "app.mods" / "modules.conf"
    assert default_config_path("modloader.demo").name == "demo.conf"
    # A relative one would name a modules.conf under whatever folder the command runs in.
    monkeypatch.setenv("XDG_CONFIG_HOME", "config")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    expected = tmp_path / "home" / ".config" / "modloader" / "app.mods" / "modules.conf"
    assert default_config_path("app.mods") == expected


def test_execute_in_process(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    conf = tmp_path / "modules.conf"
    conf.write_text("[modules]\nautoload = no\n")
    assert main(["-n", "nothing.here", "-C", str(conf), "-x", "module show"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "0 modules loaded"
    assert main(["-n", "nothing.here", "-C", str(conf), "--json", "-x", "module show"]) == 0
    assert json.loads(capsys.readouterr().out)["data"] == {"modules": [], "count": 0}
    assert main(["-n", "nothing.here", "-C", str(conf), "-x", "module unload x"]) == 1
    conf.write_text("[modules]\nautoload = maybe\n")
    assert main(["-n", "nothing.here", "-C", str(conf), "-x", "module show"]) == 1
    assert f"{conf}:2:" in capsys.readouterr().err


def test_json_startup_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    conf = tmp_path / "modules.conf"
    conf.write_text("[modules]\nload = x\nnoload = x\nrequire = x\n")
    assert main(["-n", "nothing.here", "-C", str(conf), "--json", "-x", "module show"]) == 1
    error = json.loads(capsys.readouterr().out)["error"]
    assert error["code"] == "config" and error["exit_code"] == 1
    assert error["issues"] == [
        f"{conf}:3: x is configured with 'require' and 'noload', this is impossible."
    ]


def test_cache_show_and_clear(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODLOADER_CACHE_DIR", str(tmp_path / "cache"))
    conf = tmp_path / "modules.conf"
    conf.write_text("[modules]\nautoload = yes\n")
    assert main(["-n", "nothing.here", "-C", str(conf), "-x", "module show"]) == 0
    capsys.readouterr()
    assert main(["--cache", "show"]) == 0
    shown = capsys.readouterr().out.splitlines()
    assert shown[:2] == [f"cache folder: {tmp_path / 'cache'}", "cache: on"]
    assert {line.split()[0] for line in shown[2:]} == {"config", "entrypoints"}
    assert main(["--cache", "clear"]) == 0
    assert capsys.readouterr().out.startswith(f"removed {len(shown) - 2} entries")
    monkeypatch.setenv("MODLOADER_NO_CACHE", "1")
    assert main(["--cache", "show"]) == 0
    assert capsys.readouterr().out.splitlines()[1].startswith("cache: off")


def test_cache_show_into_a_reader_that_stops_early(tmp_path: Path) -> None:
    # `modloader --cache show | head -1`: no traceback when the pipe closes.
    kind = tmp_path / "cache" / "config"
    kind.mkdir(parents=True)
    for number in range(3000):  # far more than a pipe holds
        (kind / f"{number:032x}.json").write_text("{}")
    env = {**os.environ, "MODLOADER_CACHE_DIR": str(tmp_path / "cache")}
    command = [sys.executable, "-m", "modloader", "--cache", "show"]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    ) as process:
        assert process.stdout is not None and process.stderr is not None
        assert process.stdout.readline().startswith(b"cache folder: ")
        process.stdout.close()
        error = process.stderr.read().decode()
        status = process.wait(timeout=60)
    assert (status, error) == (0, "")


def test_config_dir_must_be_a_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "etc" / "myapp"
    assert parse_args(["--config-dir", str(missing), "--check"]) == 1
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"modloader: error: --config-dir {missing}: no such folder"
    )
    missing.mkdir(parents=True)
    assert parse_args(["--config-dir", str(missing)]) == Options(config_dir=str(missing))


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["-n", ""], "argument -n/--namespace: expected an entry-point group, not ''"),
        (
            ["-n", "  ", "-x", "module show"],
            "argument -n/--namespace: expected an entry-point group, not '  '",
        ),
        (["-C", ""], "argument -C/--config: expected a file, not ''"),
    ],
)
def test_an_empty_namespace_or_config_is_a_usage_error(
    argv: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert parse_args(argv) == 1
    assert capsys.readouterr().err.splitlines()[-1] == f"modloader: error: {said}"


def test_an_empty_namespace_starts_nothing_and_says_so_in_a_line(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "modloader", "-n", "", "-x", "module show"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert done.stderr.splitlines()[-1] == (
        "modloader: error: argument -n/--namespace: expected an entry-point group, not ''"
    )


def test_empty_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert parse_args(["-x", "  "]) == 1
    assert "-x needs a command" in capsys.readouterr().err


def test_use_before_start_says_the_host_is_not_started() -> None:
    from modloader import Host
    from modloader import HostStateError
    from modloader import ModulesConfig
    from modloader import StaticDiscovery

    host = Host("ns", discovery=StaticDiscovery("ns", {"a": object()}), config=ModulesConfig())
    with pytest.raises(HostStateError, match=r"cannot use\('a'\): the host is created"):
        host.use("a")


def test_dir_lists_the_public_names() -> None:
    import modloader

    assert dir(modloader) == sorted(modloader.__all__)


def test_exit_timeout(capsys: pytest.CaptureFixture[str]) -> None:
    assert parse_args([]) == Options(exit_timeout=DEFAULT_EXIT_TIMEOUT)
    assert parse_args(["--exit-timeout", "2.5"]) == Options(exit_timeout=2.5)
    assert parse_args(["--exit-timeout", "0"]) == Options(exit_timeout=0.0)
    capsys.readouterr()
    for bad in ("-1", "soon", "inf", "nan", "1e300"):  # 1e300: longer than a thread can wait
        for option in ("--exit-timeout", "--module-timeout"):
            assert parse_args([option, bad]) == 1
            err = capsys.readouterr().err
            assert f"expected a number of seconds (0 to 9.22337e+09), not '{bad}'" in err


def test_help_names_the_signals_and_their_statuses(capsys: pytest.CaptureFixture[str]) -> None:
    assert parse_args(["--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "--exit-timeout SECONDS" in text
    assert "128+N a second signal N cut a graceful stop short" in text
    assert "SIGHUP reloads every module" in text
