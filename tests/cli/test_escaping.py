"""What the console, the host's log and the modloader command print is escaped.

The escaping itself: tests/test_text.py.
"""

import io
import logging

import pytest
from prompt_toolkit.application import create_app_session
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from modloader._cli.console import run_console
from modloader._commands.base import CommandResult


class _Hostile:
    def __init__(self):
        self.log = logging.getLogger("hostile.module")

    def execute(self, line):
        self.log.warning("from a module: \x1b[8mhidden\x1b[0m")
        return CommandResult(line=line, output="\x1b]0;owned\x07out\tok")

    def complete(self, line):
        return []


def test_the_console_escapes_output_and_log_lines(tmp_path):
    out = io.StringIO()
    with create_pipe_input() as pipe, create_app_session(input=pipe, output=DummyOutput()):
        pipe.send_text("anything\rexit\r")
        run_console(
            _Hostile(),
            history_path=str(tmp_path / "history"),
            stdout=out,
            input=pipe,
            output=DummyOutput(),
            logger=logging.getLogger("hostile"),
        )
    shown = out.getvalue()
    assert "\x1b" not in shown and "\x07" not in shown
    assert "\\x1b]0;owned\\x07out\tok\n" in shown
    assert "from a module: \\x1b[8mhidden\\x1b[0m" in shown


def test_the_host_log_on_stderr_escapes_what_a_module_logs(capsys):
    from modloader._cli.args import Options
    from modloader._cli.local import configure_logging

    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    try:
        configure_logging(Options())
        logging.getLogger("res_files").warning("read %s", "name\x1b[2J\x07.txt")
        try:
            raise ValueError("bad\x1b]0;t\x07")
        except ValueError:
            logging.getLogger("res_files").exception("failed")
    finally:
        root.handlers[:], _ = saved
        root.setLevel(saved[1])
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\x07" not in err
    assert "WARNING: read name\\x1b[2J\\x07.txt\n" in err
    assert "\nValueError: bad\\x1b]0;t\\x07" in err  # the traceback keeps its lines


@pytest.mark.parametrize(
    ("conf", "shown"),
    [
        ("[modules]\nautoload = maybe\x1b[2J\x07\n", "Invalid value 'maybe\\x1b[2J\\x07'"),
        ("[modules]\nload => res_x\x1b[2J\n", "res_x\\x1b[2J"),
    ],
    ids=["config-error", "module-name-in-show-and-log"],
)
def test_the_modloader_command_escapes_text_from_a_file(tmp_path, conf, shown):
    import os
    import subprocess
    import sys
    from pathlib import Path

    import modloader

    path = tmp_path / "modules.conf"
    path.write_text(conf)
    env = {
        **os.environ,
        "PYTHONPATH": str(Path(modloader.__file__).parents[1]),
        "MODLOADER_CACHE_DIR": str(tmp_path / "cache"),
    }
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from modloader._cli import main; raise SystemExit(main())",
            *("-n", "nothing.here", "-C", str(path), "-x", "module show"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "\x1b" not in done.stdout + done.stderr
    assert "\x07" not in done.stdout + done.stderr
    assert shown in done.stdout + done.stderr
