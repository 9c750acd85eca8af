"""Reading is bounded: include depth, files and bytes read, and regular files only."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

from modloader import ConfigError
from modloader import load_config
from modloader._config import read_modules_conf
from modloader._config._parser import MAX_BYTES
from modloader._config._parser import MAX_FILES
from modloader._config._parser import MAX_INCLUDE_DEPTH

Write = Callable[..., Path]
T = TypeVar("T")


def test_documented_limits() -> None:
    assert (MAX_INCLUDE_DEPTH, MAX_FILES, MAX_BYTES) == (32, 1000, 4 * 1024 * 1024)


def _chain(write: Write, length: int) -> None:
    """modules.conf includes c1.conf, which includes c2.conf, ... up to c<length>.conf."""
    write("modules.conf", "[modules]\nload => m0\n#include c1.conf\n")
    for i in range(1, length + 1):
        write(f"c{i}.conf", f"load => m{i}\n#include c{i + 1}.conf\n" if i < length else "")


def test_includes_nested_32_files_deep_are_read(write: Write, chdir_tmp: Path) -> None:
    _chain(write, 31)
    parsed = read_modules_conf("modules.conf")
    assert parsed.errors == ()
    assert len(parsed.files) == 32


def test_deeper_nesting_is_an_error_at_the_include_line(write: Write, chdir_tmp: Path) -> None:
    _chain(write, 300)
    parsed = read_modules_conf("modules.conf")
    assert [str(i) for i in parsed.errors] == [
        "c31.conf:2: #include 'c32.conf': files are nested more than 32 deep (c32.conf)"
    ]
    assert parsed.errors[0].kind == "include-limit"
    assert [e.name for e in parsed.entries] == [f"m{i}" for i in range(32)]
    with pytest.raises(ConfigError, match=r"^c31\.conf:2: #include 'c32\.conf': files are nested"):
        load_config(path="modules.conf", environ={})


def test_exponential_fan_out_stops_at_the_file_limit(write: Write, chdir_tmp: Path) -> None:
    # Each file includes the next one twice: 2**30 inclusions if nothing stopped them.
    write("modules.conf", "[modules]\n#include f1.conf\n#include f1.conf\n")
    for i in range(1, 30):
        write(f"f{i}.conf", f"load => m{i}\n#include f{i + 1}.conf\n#include f{i + 1}.conf\n")
    write("f30.conf", "load => m30\n")
    started = time.monotonic()
    parsed = read_modules_conf("modules.conf")
    assert time.monotonic() - started < 30  # generous: it takes well under a second
    (issue,) = parsed.errors
    assert issue.kind == "include-limit"
    assert issue.message.endswith(": more than 1000 files read in all (each inclusion counts)")
    assert str(issue).split(":", 1)[0] in {f"f{i}.conf" for i in range(1, 30)}
    with pytest.raises(ConfigError, match="more than 1000 files read in all"):
        load_config(path="modules.conf", environ={})


def test_a_glob_past_the_file_limit_is_said_once(write: Write, chdir_tmp: Path) -> None:
    """It was said once for every file the glob matched past the limit (4,001 lines)."""
    write("modules.conf", "[modules]\n#include d/*.conf\n")
    for i in range(1200):
        write(f"d/{i:04d}.conf", f"load => m{i}\n")
    parsed = read_modules_conf("modules.conf")
    assert [str(i) for i in parsed.errors] == [
        "modules.conf:2: #include 'd/*.conf': more than 1000 files read in all "
        "(each inclusion counts)"
    ]
    assert len(parsed.entries) == 999  # modules.conf is the thousandth file


def test_the_file_itself_over_the_byte_limit(write: Write, chdir_tmp: Path) -> None:
    write("modules.conf", "[modules]\n" + ";" * MAX_BYTES)
    (issue,) = read_modules_conf("modules.conf").errors
    assert (
        str(issue)
        == "modules.conf: Cannot read 'modules.conf': more than 4194304 bytes read in all"
    )


def test_includes_over_the_byte_limit_in_all(write: Write, chdir_tmp: Path) -> None:
    write("big.conf", "load => big\n" + ";" * (MAX_BYTES // 2))
    write("modules.conf", "[modules]\n#include big.conf\n#include big.conf\nload => after\n")
    parsed = read_modules_conf("modules.conf")
    assert [str(i) for i in parsed.errors] == [
        "modules.conf:3: #include 'big.conf': more than 4194304 bytes read in all (big.conf)"
    ]
    # Nothing more is included once a limit is reached; the including file goes on.
    assert [e.name for e in parsed.entries] == ["big", "after"]


def _within(seconds: float, work: Callable[[], T]) -> T:
    """``work()``, failing (not hanging) when it blocks."""
    result: list[T] = []
    thread = threading.Thread(target=lambda: result.append(work()), daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "reading blocked"
    return result[0]


def test_include_of_a_fifo_is_not_a_regular_file_and_does_not_block(
    write: Write, chdir_tmp: Path
) -> None:
    os.mkfifo("pipe.conf")
    write("modules.conf", "[modules]\n#include pipe.conf\n#tryinclude pipe.conf\nload => a\n")
    parsed = _within(10, lambda: read_modules_conf("modules.conf"))
    assert [str(i) for i in parsed.errors] == [
        "modules.conf:2: #include 'pipe.conf': not a regular file (pipe.conf)",
        "modules.conf:3: #tryinclude 'pipe.conf': not a regular file (pipe.conf)",
    ]
    assert {i.kind for i in parsed.errors} == {"not-regular-file"}


def test_configuration_file_that_is_a_fifo(chdir_tmp: Path) -> None:
    os.mkfifo("modules.conf")

    def load() -> str:
        with pytest.raises(ConfigError) as info:
            load_config(path="modules.conf", environ={})
        return str(info.value)

    message = _within(10, load)
    assert message == "modules.conf: Cannot read 'modules.conf': not a regular file"


@pytest.mark.parametrize("device", ["/dev/null", "/dev/zero", "/dev/stdin"])
def test_include_of_a_device(write: Write, chdir_tmp: Path, device: str) -> None:
    if not os.path.exists(device) or os.path.isfile(device):
        pytest.skip(f"{device} is not a device here")
    write("modules.conf", f"[modules]\n#include {device}\n")
    parsed = _within(10, lambda: read_modules_conf("modules.conf"))
    assert [str(i) for i in parsed.errors] == [
        f"modules.conf:2: #include '{device}': not a regular file ({device})"
    ]


def test_include_of_a_folder(write: Write, chdir_tmp: Path) -> None:
    (chdir_tmp / "sub").mkdir()
    write("modules.conf", "[modules]\n#include sub\n")
    assert [str(i) for i in read_modules_conf("modules.conf").errors] == [
        "modules.conf:2: #include 'sub': not a regular file (sub)"
    ]


def test_glob_skips_what_is_not_a_regular_file(write: Write, chdir_tmp: Path) -> None:
    write("d/a.conf", "load => a\n")
    os.mkfifo("d/b.conf")
    write("modules.conf", "[modules]\n#include d/*.conf\n")
    parsed = _within(10, lambda: read_modules_conf("modules.conf"))
    assert [e.name for e in parsed.entries] == ["a"]


def test_an_unreadable_include_is_reported_where_it_is_included(
    write: Write, chdir_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Permission denied, say (root reads every file: the read is made to fail)."""
    from modloader._config import _parser

    real = _parser._read_regular

    def read(path: str, limit: int) -> bytes:
        if os.path.basename(path) == "unread.conf":
            raise PermissionError(13, "Permission denied", path)
        return real(path, limit)

    monkeypatch.setattr(_parser, "_read_regular", read)
    write("unread.conf", "load => hidden\n")
    write(
        "modules.conf",
        '[modules]\n#include unread.conf\n#include "nosuch*.conf"\n#tryinclude unread.conf\n',
    )
    assert [str(i) for i in read_modules_conf("modules.conf").errors] == [
        "modules.conf:2: #include 'unread.conf': Permission denied (unread.conf)",
        "modules.conf:3: #include 'nosuch*.conf': no such file (nosuch*.conf)",
        "modules.conf:4: #tryinclude 'unread.conf': Permission denied (unread.conf)",
    ]
