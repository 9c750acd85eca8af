"""open_regular: regular files only, and never a wait on a FIFO."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from modloader._files import NotRegularFileError
from modloader._files import open_appending
from modloader._files import open_regular
from modloader._files import xdg_folder
from tests._hostile import within


def test_reads_a_regular_file_as_text_or_bytes(tmp_path: Path) -> None:
    path = tmp_path / "f.txt"
    path.write_bytes("caf\u00e9\n\xff".encode("utf-8", "surrogateescape") + b"\xff")
    with open_regular(str(path)) as fh:
        assert fh.read() == path.read_bytes()
    with open_regular(str(path), "utf-8", "replace") as fh:
        assert fh.read() == "caf\u00e9\n\xff\ufffd"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_is_refused_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)

    def attempt() -> str:
        try:
            open_regular(str(fifo), "utf-8")
        except NotRegularFileError as exc:
            return str(exc)
        return "opened"

    assert within(10, attempt) == f"not a regular file: {fifo}"


def test_a_folder_and_a_device_are_refused(tmp_path: Path) -> None:
    with pytest.raises(NotRegularFileError):
        open_regular(str(tmp_path))
    if os.path.exists("/dev/zero"):
        with pytest.raises(NotRegularFileError):
            open_regular("/dev/zero", "utf-8")


def test_a_missing_file_is_an_oserror(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        open_regular(str(tmp_path / "absent"))


def test_no_descriptor_is_left_open(tmp_path: Path) -> None:
    if not os.path.isdir("/proc/self/fd"):
        pytest.skip("no /proc/self/fd here")
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(20):
        with pytest.raises(NotRegularFileError):
            open_regular(str(tmp_path))
    assert len(os.listdir("/proc/self/fd")) == before


def test_an_xdg_folder_is_taken_only_when_absolute(monkeypatch: pytest.MonkeyPatch) -> None:
    home = os.path.expanduser("~")
    assert xdg_folder("XDG_X_HOME", ".x", environ={"XDG_X_HOME": "/srv/x"}) == "/srv/x"
    for given in ("relative/x", "", "./x"):  # under the current folder: ignored
        assert xdg_folder("XDG_X_HOME", ".x", environ={"XDG_X_HOME": given}) == f"{home}/.x"
    monkeypatch.setenv("XDG_X_HOME", "/from/env")
    assert xdg_folder("XDG_X_HOME", ".local", "x") == "/from/env"
    monkeypatch.setenv("XDG_X_HOME", "x")
    assert xdg_folder("XDG_X_HOME", ".local", "x") == f"{home}/.local/x"


def test_open_appending_never_waits_on_a_fifo_nobody_reads(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(OSError, match="it is a FIFO that no process reads"):
        open_appending(str(fifo), 0o600)  # at once: an ordinary open waits here for good
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        fd = within(5, lambda: open_appending(str(fifo), 0o600))
        assert os.get_blocking(fd)  # writes block as usual once it is open
        os.write(fd, b"line\n")
        os.close(fd)
        assert os.read(reader, 100) == b"line\n"
    finally:
        os.close(reader)


def test_open_appending_creates_with_the_mode_and_appends(tmp_path: Path) -> None:
    path = tmp_path / "log"
    for text in (b"one\n", b"two\n"):
        fd = open_appending(str(path), 0o600)
        os.write(fd, text)
        os.close(fd)
    assert path.read_bytes() == b"one\ntwo\n"
    assert path.stat().st_mode & 0o777 == 0o600
