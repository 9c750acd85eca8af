"""Printing a command's result (``modloader -x``, ``-rx``) into a reader that has gone."""

from __future__ import annotations

import os

import pytest

from modloader import CommandResult
from modloader._cli.local import print_result


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_a_closed_pipe_is_not_an_error(as_json: bool) -> None:
    """``modloader -x "module show" | head -1``: no BrokenPipeError, then or at exit."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader has gone: writing raises EPIPE
    with os.fdopen(write_end, "w") as out:
        result = CommandResult("module show", output="x" * 100_000)
        print_result(result, as_json=as_json, stdout=out)
        # The stream now points at nothing, so the final flush at exit cannot fail either.
        out.write("more")
        out.flush()
