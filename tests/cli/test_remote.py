import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from modloader._cli import main
from modloader._cli.args import Options
from modloader._cli.remote import run_remote
from modloader._control.unix import ControlServer

FAKE_HOST = Path(__file__).resolve().parents[1] / "control" / "fake_host.py"
HEAVY = ("pydantic", "pydantic_settings", "stevedore", "prompt_toolkit", "importlib_metadata")


@pytest.fixture
def host(tmp_path_factory):
    import importlib.util
    import shutil
    import tempfile

    spec = importlib.util.spec_from_file_location("fake_host_cli", FAKE_HOST)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    folder = tempfile.mkdtemp(prefix="mlr-", dir="/tmp")
    with ControlServer(module.FakeExecutor(), os.path.join(folder, "h.sock")) as server:
        yield server
    shutil.rmtree(folder, ignore_errors=True)


def test_rx_prints_the_output(host, capsys):
    assert main(["-s", host.path, "-rx", "module show like hello"]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines()[-2:] == [out.splitlines()[-2], "1 modules loaded"]
    assert out.splitlines()[-2].startswith("res_hello")
    assert err == ""


def test_rx_failed_command_exits_1(host, capsys):
    assert run_remote(Options(remote=True, socket=host.path, execute="bogus")) == 1
    assert capsys.readouterr().out.endswith("Command 'bogus' failed.\n")


def test_rx_json_prints_the_structured_form(host, capsys):
    assert main(["-s", host.path, "-rx", "echo a b", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "command": "echo a b",
        "ok": True,
        "exit_code": 0,
        "output": "a b",
        "data": ["a", "b"],
        "notes": [],
    }


def test_rx_without_a_host(tmp_path, capsys):
    path = str(tmp_path / "none.sock")
    assert main(["-s", path, "-rx", "module show"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err == f"Unable to connect to remote modloader (does {path} exist?)\n"


def test_rx_without_a_host_json(tmp_path, capsys):
    path = str(tmp_path / "none.sock")
    assert main(["-s", path, "-rx", "module show", "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["error"]["code"] == "connect"


def test_rx_default_socket_follows_the_namespace(monkeypatch, host, capsys):
    monkeypatch.setenv("XDG_RUNTIME_DIR", os.path.dirname(os.path.dirname(host.path)))
    folder = os.path.join(os.path.dirname(os.path.dirname(host.path)), "modloader")
    os.makedirs(folder, exist_ok=True)
    os.symlink(host.path, os.path.join(folder, "my.ns.sock"))
    try:
        assert main(["-n", "my.ns", "-rx", "echo found"]) == 0
    finally:
        os.unlink(os.path.join(folder, "my.ns.sock"))
    assert capsys.readouterr().out == "found\n"


def test_rx_imports_nothing_heavy(host):
    code = "import sys; from modloader._cli import main; sys.exit(main(sys.argv[1:]))"
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code, "-s", host.path, "-rx", "module show"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "4 modules loaded"
    imported = {
        line.split("|")[-1].strip().split(".")[0]
        for line in proc.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert "modloader" in imported  # the measurement works
    assert sorted(imported & set(HEAVY)) == []


def test_fast_path_parses_only_plain_rx() -> None:
    from modloader._cli.rx import _parse

    assert _parse(["-rx", "module show"]) == ("modloader.modules", "module show", None)
    assert _parse(["-n", "a.b", "-r", "-x", "core show help", "-s", "/s"]) == (
        "a.b",
        "core show help",
        "/s",
    )
    assert _parse(["-rx", "module show", "--json"]) is None
    assert _parse(["-r"]) is None  # the console is the full client's
    assert _parse(["-x", "module show"]) is None  # not remote
