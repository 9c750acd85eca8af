"""Every ```console block of docs/*.md that runs ``modloader`` runs against the demo.

The demo's plugins are installed in a fresh venv and its host serves at the
default socket of ``modloader.demo``. In a block, ``$ modloader ...`` lines run
(``-c`` and ``-r`` alone are interactive: their options are parsed only), the
lines after a command are its expected output, ``$ echo $?`` shows the exit
status, and other commands (``pip``, ``git``) are what the venv already did.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from modloader._cli.args import _parser
from tests._dists import EXAMPLE_PLUGINS
from tests._dists import Venv
from tests._dists import copy_venv
from tests._dists import venv_template_fixture  # noqa: F401 - what demo_venv copies
from tests.docs._examples import Example
from tests.docs._examples import examples
from tests.integration._served import Served
from tests.integration._served import clean_env

pytestmark = pytest.mark.slow

PLUGINS = sorted(p for p in EXAMPLE_PLUGINS.iterdir() if (p / "pyproject.toml").is_file())
#: Where the docs' samples say the runtime folder is.
SAMPLE_RUNTIME = "/run/user/1000"

CONSOLE = [e for e in examples("console") if e.mark is None and "$ modloader" in e.text]


def steps(example: Example) -> list[tuple[str, list[str]]]:
    """``(command, expected output lines)`` for each ``$`` line of the block."""
    found: list[tuple[str, list[str]]] = []
    for line in example.text.splitlines():
        if line.startswith("$ "):
            found.append((line[2:].split("  #")[0].strip(), []))
        elif found:
            found[-1][1].append(line)
    return found


@pytest.fixture(scope="module")
def demo_venv(venv_template: Venv, tmp_path_factory: pytest.TempPathFactory) -> Venv:
    venv = copy_venv(venv_template, tmp_path_factory.mktemp("docs") / "venv")
    venv.install(*PLUGINS)
    return venv


@pytest.fixture
def runtime() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="mld-"))  # a socket path is limited to ~100 bytes
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_the_docs_have_console_examples_to_run():
    assert len(CONSOLE) >= 3


@pytest.mark.parametrize("example", CONSOLE, ids=[e.id for e in CONSOLE])
def test_console_example(example: Example, demo_venv: Venv, runtime: Path, tmp_path: Path):
    env = clean_env(
        tmp_path,
        XDG_RUNTIME_DIR=str(runtime),
        DEMO_CHAN_DECLINES_CONF=str(tmp_path / "no-chan_declines.conf"),
    )
    modloader = [str(demo_venv.python), "-m", "modloader"]
    served = None
    if "-rx" in example.text and "-n modloader.demo" in example.text:
        socket = runtime / "modloader" / "modloader.demo.sock"
        served = Served([*modloader, "-n", "modloader.demo"], str(socket), env, client=modloader)
    try:
        status = 0
        for command, expected in steps(example):
            argv = shlex.split(command)
            if ">" in argv:  # the output goes to a file: run the command, compare nothing
                argv = argv[: argv.index(">")]
            if argv[0] == "echo" and argv[1:] == ["$?"]:
                assert expected == [str(status)], f"{example.id}: {command}"
                continue
            if argv[0] != "modloader":
                continue
            try:
                _parser().parse_args(argv[1:])  # every line's options exist
            except SystemExit as exc:  # --version, --help
                assert exc.code == 0, f"{example.id}: {command}"
            if not {"-x", "-rx", "--version", "--print-completion"} & set(argv):
                continue  # an interactive console
            done = subprocess.run(
                [*modloader, *argv[1:]],
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            status = done.returncode
            shown = (done.stdout + done.stderr).replace(str(runtime), SAMPLE_RUNTIME)
            if expected:
                assert shown.splitlines() == expected, f"{example.id}: {command}"
            elif not any(s[0] == "echo $?" for s in steps(example)):
                assert status == 0, f"{example.id}: {command}\n{shown}"
    finally:
        if served:
            served.kill()
