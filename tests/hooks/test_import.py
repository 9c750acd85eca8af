"""pluggy is imported only by hosts that declare hooks (checked in a fresh interpreter)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import modloader

FRAMEWORK = str(Path(modloader.__file__).resolve().parent.parent)

SCRIPT = """
import sys
from modloader import Host, ModulesConfig, StaticDiscovery

class Plain:
    def load(self, ctx):
        ctx.register_command("plain", lambda args: "ok")

discovery = StaticDiscovery("ns", {"res_plain": Plain})
host = Host("ns", discovery=discovery, config=ModulesConfig(){extra})
host.start()
for line in ("module show", "module show hooks", "plain", "module refresh res_plain"):
    assert host.run(line).ok, line
host.extensions
host.stop()
print("pluggy" in sys.modules)
"""


def run(extra: str = "") -> str:
    code = textwrap.dedent(SCRIPT).replace("{extra}", extra)
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PYTHONPATH": FRAMEWORK, "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_a_host_without_hookspecs_never_imports_pluggy() -> None:
    assert run() == "False"


def test_a_host_with_hookspecs_imports_it() -> None:
    specs = (
        ", hookspecs=[type('S', (), {'h': __import__('modloader').hookspec(lambda self: None)})]"
    )
    assert run(specs) == "True"
