"""The warm path: a validated result reused by exactly its inputs, without pydantic."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from modloader import _cachestore
from modloader._config import load_config
from modloader._config import settings
from modloader.errors import ConfigError

Write = Callable[..., Path]


@pytest.fixture
def validations(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the validations that ran (cache misses)."""
    calls: list[int] = []
    real = settings.validate

    def counting(**kwargs: Any) -> settings.Validated:
        calls.append(1)
        return real(**kwargs)

    monkeypatch.setattr(settings, "validate", counting)
    return calls


def test_second_call_is_served_from_the_cache(write: Write, validations: list[int]) -> None:
    path = write("modules.conf", "[modules]\nload => a\n#pragma\n")
    first = load_config(path=path, environ={})
    second = load_config(path=path, environ={})
    assert first == second
    assert len(validations) == 1
    assert len(_cachestore.entries("config")) == 1


@pytest.mark.parametrize(
    "change",
    [
        "file-byte",
        "included-file",
        "glob-new-match",
        "tryinclude-appears",
        "env-var",
        "code-value",
        "builtins",
        "prefix",
    ],
)
def test_any_changed_input_is_recomputed(
    write: Write, tmp_path: Path, validations: list[int], change: str
) -> None:
    write("inc.conf", "load => inc_a\n")
    write("d/1.conf", "load => g1\n")
    path = write(
        "modules.conf",
        "[modules]\nload => a\n#include inc.conf\n#include d/*.conf\n#tryinclude t.conf\n",
    )
    kwargs: dict[str, Any] = {
        "path": path,
        "environ": {"MODLOADER_PRELOAD": "p"},
        "values": {"require": ["r"]},
    }
    before = load_config(**kwargs)
    assert load_config(**kwargs) == before
    assert len(validations) == 1
    if change == "file-byte":
        path.write_text(path.read_text().replace("load => a", "load => b"))
    elif change == "included-file":
        write("inc.conf", "load => inc_b\n")
    elif change == "glob-new-match":
        write("d/2.conf", "load => g2\n")
    elif change == "tryinclude-appears":
        write("t.conf", "load => t\n")
    elif change == "env-var":
        kwargs["environ"] = {"MODLOADER_PRELOAD": "q"}
    elif change == "code-value":
        kwargs["values"] = {"require": ["s"]}
    elif change == "builtins":
        kwargs["builtins"] = ["core"]
    else:
        kwargs["env_prefix"] = "OTHER_"
    after = load_config(**kwargs)
    assert len(validations) == 2
    assert after != before or change == "builtins"


def test_same_size_same_time_edit_is_seen(write: Write, validations: list[int]) -> None:
    path = write("modules.conf", "[modules]\nload => aaa\n")
    stat = path.stat()
    assert [e.name for e in load_config(path=path, environ={}).entries] == ["aaa"]
    path.write_text("[modules]\nload => bbb\n")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert [e.name for e in load_config(path=path, environ={}).entries] == ["bbb"]


def test_invalid_configuration_is_never_cached(write: Write, validations: list[int]) -> None:
    path = write("modules.conf", "[modules]\nlod => a\n")
    for _ in range(2):
        with pytest.raises(ConfigError, match="did you mean 'load'"):
            load_config(path=path, environ={})
    bad_env = {"MODLOADER_AUTOLOAD": "maybe"}
    good = write("good.conf", "[modules]\n")
    for _ in range(2):
        with pytest.raises(ConfigError, match="MODLOADER_AUTOLOAD"):
            load_config(path=good, environ=bad_env)
    assert _cachestore.entries("config") == []
    assert len(validations) == 4


def test_cache_switched_off(
    write: Write, validations: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODLOADER_NO_CACHE", "1")
    path = write("modules.conf", "[modules]\nload => a\n")
    load_config(path=path, environ={})
    load_config(path=path, environ={})
    assert len(validations) == 2


def test_unreadable_cache_entry_is_recomputed(write: Write, validations: list[int]) -> None:
    path = write("modules.conf", "[modules]\nload => a\n")
    expected = load_config(path=path, environ={})
    (entry,) = _cachestore.entries("config")
    entry.write_text(json.dumps({"autoload": True}))
    assert load_config(path=path, environ={}) == expected
    assert len(validations) == 2


_PROBE = """
import json, sys
from modloader._config import load_config
config = load_config(path=sys.argv[1], environ={"MODLOADER_NOLOAD": "x"})
print(json.dumps({"pydantic": any(m.split(".")[0] in {"pydantic", "pydantic_settings"}
                                   for m in sys.modules),
                  "entries": [e.name for e in config.entries]}))
"""


def test_warm_path_imports_no_pydantic(write: Write) -> None:
    path = write("modules.conf", "[modules]\nload => a\nrequire => b\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}

    def run() -> dict[str, Any]:
        done = subprocess.run(
            [sys.executable, "-c", _PROBE, str(path)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        result: dict[str, Any] = json.loads(done.stdout)
        return result

    cold, warm = run(), run()
    assert cold == {"pydantic": True, "entries": ["a", "b"]}
    assert warm == {"pydantic": False, "entries": ["a", "b"]}
