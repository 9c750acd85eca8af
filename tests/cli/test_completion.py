"""Shell completion: scripts generated from the parser, and what Tab asks at run time."""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from modloader._cli.args import _parser
from tests._dists import make_dist

FRAMEWORK = Path(__file__).resolve().parents[2] / "framework"
FAKE_HOST = Path(__file__).resolve().parents[1] / "control" / "fake_host.py"


def modloader(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "modloader", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_the_script_names_every_option_of_the_parser(shell):
    done = modloader("--print-completion", shell)
    assert done.returncode == 0, done.stderr
    options = [option for action in _parser()._actions for option in action.option_strings]
    assert len(options) > 15
    missing = [option for option in options if option not in done.stdout]
    assert not missing


def test_a_tcsh_script_too():
    done = modloader("--print-completion", "tcsh")
    assert done.returncode == 0, done.stderr
    assert "complete modloader" in done.stdout


def test_an_unknown_shell_is_a_usage_error():
    done = modloader("--print-completion", "fish-and-chips")
    assert done.returncode == 1
    assert "invalid choice" in done.stderr


def test_neither_shtab_nor_the_completion_module_is_imported_on_startup():
    code = (
        "import sys; from modloader._cli import main; main(['-V']);"
        "from modloader._cli.args import parse_args; parse_args(['-n', 'x.modules']);"
        "print(sorted(m for m in sys.modules if 'shtab' in m or 'completion' in m))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.splitlines()[-1] == "[]"


def test_namespaces_are_the_groups_plugins_publish_in(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    make_dist(site, "kv-cache", "1", entry_points={"kvapp.plugin": {"res_kv": "kv:M"}})
    metadata = next(site.glob("kv_cache-*.dist-info")) / "METADATA"
    metadata.write_text(metadata.read_text() + "Requires-Dist: modloader>=0.1\n")
    make_dist(site, "by-name", "1", entry_points={"other.modules": {"res_x": "x:M"}})
    make_dist(site, "a-tool", "1", entry_points={"tool.hooks": {"hook": "t:h"}})
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(FRAMEWORK)])}
    done = modloader("--complete", "namespaces", env=env)
    assert done.returncode == 0, done.stderr
    listed = done.stdout.split()
    assert {"kvapp.plugin", "other.modules"} <= set(listed)
    assert "tool.hooks" not in listed


def test_a_command_is_completed_by_the_running_host_and_by_nothing_without_one(tmp_path):
    folder = tempfile.mkdtemp(prefix="mlc-")  # a socket path is limited to ~100 bytes
    socket = f"{folder}/host.sock"
    try:
        assert modloader("-s", socket, "--complete", "command", "--", "module l").stdout == ""
        host = subprocess.Popen(
            [sys.executable, str(FAKE_HOST), "serve", socket], stdout=subprocess.PIPE, text=True
        )
        try:
            assert host.stdout.readline().strip() == "ready"
            done = modloader("-s", socket, "--complete", "command", "--", "module unload res_")
            assert done.stdout.splitlines() == [
                "module unload res_cache",
                "module unload res_hello",
            ]
            assert bash_completes(tmp_path, ["-s", socket, "-rx", '"module unload app']) == [
                "module unload app_echo"
            ]
        finally:
            host.terminate()
            host.wait(10)
            host.stdout.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def bash_completes(tmp_path, words):
    """What bash's Tab offers after ``modloader WORDS`` with the printed script loaded."""
    if shutil.which("bash") is None:
        pytest.skip("bash is not installed")
    shim = tmp_path / "bin" / "modloader"
    shim.parent.mkdir(exist_ok=True)
    shim.write_text(f'#!/bin/sh\nexec {sys.executable} -m modloader "$@"\n')
    shim.chmod(0o755)
    quoted = " ".join("'" + word.replace("'", "'\\''") + "'" for word in ["modloader", *words])
    script = (
        "source <(modloader --print-completion bash)\n"
        f"COMP_WORDS=({quoted}); COMP_CWORD={len(words)}\n"
        '_modloader; printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    env = {**os.environ, "PATH": f"{shim.parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return [line for line in done.stdout.splitlines() if line]


def test_bash_completes_namespaces_and_options(tmp_path):
    assert "--log-file" in bash_completes(tmp_path, ["--log"])
    assert bash_completes(tmp_path, ["-C"]) is not None  # files: nothing to assert but no error
