"""What the command prints: a failed write is said as ``ls`` says it, not as a traceback."""

from __future__ import annotations

import errno
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from modloader._cli.output import OutputError
from modloader._cli.output import write

FRAMEWORK = Path(__file__).resolve().parents[2] / "framework"


class _Failing(io.StringIO):
    def __init__(self, error: OSError) -> None:
        super().__init__()
        self.error = error

    def write(self, text: str) -> int:
        raise self.error

    def fileno(self) -> int:
        raise io.UnsupportedOperation("no descriptor")


def test_a_failed_write_is_an_output_error_and_a_reader_gone_is_not() -> None:
    with pytest.raises(OutputError) as caught:
        write(_Failing(OSError(errno.ENOSPC, "No space left on device")), "text")
    assert str(caught.value) == "No space left on device"
    assert caught.value.error.errno == errno.ENOSPC
    write(_Failing(BrokenPipeError(errno.EPIPE, "Broken pipe")), "text")  # | head: no error
    out = io.StringIO()
    write(out, "shown\n")
    assert out.getvalue() == "shown\n"


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize(
    "arguments",
    [
        ["-x", "module show"],
        ["-x", "module show", "--json"],
        ["--cache", "show"],
        ["--check"],
        ["--print-completion", "bash"],
        ["--help"],
        ["--version"],
    ],
    ids=["-x", "-x --json", "--cache show", "--check", "--print-completion", "--help", "-V"],
)
def test_output_to_a_full_disk_is_a_write_error(tmp_path: Path, arguments: list[str]) -> None:
    """``> /dev/full``: each of these ended in an ``OSError`` traceback, or (``--help``,
    ``--version``) exited 0 as though the text had been written."""
    env = {
        **os.environ,
        "PYTHONPATH": str(FRAMEWORK),
        "MODLOADER_CACHE_DIR": str(tmp_path / "cache"),
    }
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [sys.executable, "-m", "modloader", "-n", "itest.nothing", *arguments],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            timeout=60,
            check=False,
            cwd=tmp_path,
        )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr
    assert done.stderr.splitlines()[-1] == "modloader: write error: No space left on device"
