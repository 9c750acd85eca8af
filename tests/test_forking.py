"""A fork while module code runs: the child never inherits a module busy for good.

Each case runs in a process of its own (``os.fork`` in the test process would
copy pytest's threads), which prints what its child saw as JSON.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from typing import Any

import pytest

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="no os.fork here")

COMMON = """
import json, os, sys, threading, time
import modloader

def child_report(host, pipe_w, forked_at):
    info = {"fork_seconds": time.perf_counter() - forked_at}
    info["states"] = {m.name: m.state for m in host.list_modules()}
    info["reload"] = host.run("module reload res_slow").output.strip()
    began = time.perf_counter()
    info["stopped"] = host.stop()
    info["stop_seconds"] = time.perf_counter() - began
    os.write(pipe_w, json.dumps(info).encode())
    os._exit(0)

def parent_wait(pid, pipe_r):
    os.waitpid(pid, 0)
    data = b""
    while chunk := os.read(pipe_r, 65536):
        data += chunk
    return json.loads(data)
"""

DURING_RELOAD = """
class Slow(modloader.Module):
    def reload(self, ctx):
        time.sleep(0.6)

host = modloader.Host(
    "t.fork",
    discovery=modloader.StaticDiscovery("t.fork", {"res_slow": Slow}),
    config=modloader.ModulesConfig(),
    module_timeout=20,
)
host.start()
worker = threading.Thread(target=host.run, args=("module reload res_slow",))
worker.start()
time.sleep(0.2)  # its reload() runs now, in its call thread
r, w = os.pipe()
forked_at = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.close(r)
    child_report(host, w, forked_at)
os.close(w)
report = parent_wait(pid, r)
worker.join()
host.stop()
print(json.dumps(report))
"""

FROM_LOAD = """
found = {}

class Forks(modloader.Module):
    def load(self, ctx):  # module code that forks (multiprocessing does, on Linux)
        began = time.perf_counter()
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)
        found["fork_seconds"] = time.perf_counter() - began

host = modloader.Host(
    "t.fork",
    discovery=modloader.StaticDiscovery("t.fork", {"res_forks": Forks}),
    config=modloader.ModulesConfig(),
)
host.start()
found["state"] = host.get_module("res_forks").state
host.stop()
print(json.dumps(found))
"""


def run(body: str) -> dict[str, Any]:
    code = textwrap.dedent(COMMON) + textwrap.dedent(body)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def test_a_fork_waits_for_module_code_running_in_another_thread() -> None:
    child = run(DURING_RELOAD)
    # The fork waited for reload() to return: the child's copy is settled.
    assert 0.2 < child["fork_seconds"] < 10
    assert child["states"] == {"res_slow": "running"}
    assert child["reload"] == "Module 'res_slow' reloaded successfully."
    assert child["stopped"] == ["res_slow"]
    assert child["stop_seconds"] < 2  # not the whole time limit, waiting for a call gone


def test_a_fork_made_by_module_code_does_not_wait_for_its_own_call() -> None:
    found = run(FROM_LOAD)
    assert found["state"] == "running"
    assert found["fork_seconds"] < 2  # not LOCK_WAIT (10 s)
