"""docs/asyncio.md: its examples do what the page says.

The first example says what it prints in a ``# comment`` after each
``print(...)``; the output must be those lines. The serving example (a module,
``myapp_main``) runs as an application of its own, stopped by the real
``modloader -rx "core stop gracefully|now"``. Excerpts (a first line naming a
repository file) are the docs tests' to check against their files.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from tests import _apps

PAGE = Path(__file__).resolve().parents[2] / "docs" / "asyncio.md"
FENCE = re.compile(r"^```python\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def fences() -> list[str]:
    """The runnable examples: the excerpts (``# path`` first) left out."""
    return [f for f in FENCE.findall(PAGE.read_text(encoding="utf-8")) if not f.startswith("# ")]


def expected_output(code: str) -> list[str]:
    return [line.rpartition("# ")[2] for line in code.splitlines() if "print(" in line]


def test_the_page_has_its_examples() -> None:
    first, served = fences()
    assert "asyncio.run(main())" in first
    assert served.startswith('"""myapp_main: ')


def test_the_first_example_prints_what_it_says(tmp_path: Path) -> None:
    code = fences()[0]
    script = tmp_path / "example.py"
    script.write_text(code, encoding="utf-8")
    with _apps.app_env(tmp_path, tmp_path) as env:
        done = env.run([sys.executable, str(script)])
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == expected_output(code)


@pytest.mark.parametrize("line", ["core stop gracefully", "core stop now"])
def test_the_serving_example_serves_until_core_stop(tmp_path: Path, line: str) -> None:
    script = tmp_path / "served.py"
    script.write_text(fences()[1], encoding="utf-8")
    with _apps.app_env(tmp_path, tmp_path) as env:
        env.socket = env.socket.replace(_apps.NAMESPACE, "myapp.modules")
        proc = env.popen([sys.executable, str(script)])
        try:
            _apps.wait_for_socket(env.socket, proc)
            shown = env.run([*_apps.modloader_command(), "-n", "myapp.modules", "-rx", line])
            assert shown.returncode == 0, shown.stderr
            _, err = proc.communicate(timeout=60)
        finally:
            proc.kill()
    assert proc.returncode == 0, err
    assert not Path(env.socket).exists()
