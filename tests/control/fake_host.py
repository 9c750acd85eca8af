"""A fake executor standing in for a host's command language, and a script to serve it.

    python fake_host.py serve SOCKET      serve on SOCKET until SIGTERM/SIGINT; prints "ready"
    python fake_host.py console HISTORY   run the console over the fake executor

Tests import it by path (see ``load_fake_host`` in the test modules).
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
import threading
import time
import warnings

from modloader._commands.base import CommandResult

MODULES = ("app_echo", "chan_pjsip", "res_cache", "res_hello")

TREE: dict[str, dict[str, tuple[str, ...]]] = {
    "module": {
        "show": ("like",),
        "load": MODULES,
        "unload": MODULES,
        "reload": MODULES,
        "refresh": MODULES,
    },
    "echo": {},
    "slow": {},
    "big": {},
    "log": {},
}

log = logging.getLogger("fake.host")


class FakeExecutor:
    """Knows ``module show [like X]``, ``echo``, ``slow S``, ``big N``, ``log TEXT``, ``boom``."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._lock = threading.Lock()

    def execute(self, line: str) -> CommandResult:
        with self._lock:
            self.lines.append(line)
        words = line.split()
        if words[:2] == ["module", "show"]:
            keyword = words[3].lower() if len(words) == 4 and words[2] == "like" else ""
            rows = [m for m in MODULES if keyword in m]
            text = [f"{'Module':<30} {'Description':<40} {'Use Count':<10}"]
            text += [f"{m:<30} {'The ' + m + ' module':<40} {0:<10}" for m in rows]
            text.append(f"{len(rows)} modules loaded")
            data = [{"name": m, "state": "running", "use_count": 0} for m in rows]
            return CommandResult(line=line, output="\n".join(text), data=data)
        if words and words[0] == "echo":
            return CommandResult(line=line, output=" ".join(words[1:]), data=words[1:])
        if words and words[0] == "slow":
            time.sleep(float(words[1]) if len(words) > 1 else 1.0)
            return CommandResult(line=line, output="done")
        if words and words[0] == "big":
            return CommandResult(line=line, output="x" * int(words[1]))
        if words and words[0] == "log":
            log.warning("%s", " ".join(words[1:]))
            return CommandResult(line=line, output="logged")
        if words and words[0] == "boom":
            raise RuntimeError("the executor broke")
        return CommandResult(
            line=line,
            ok=False,
            output=f"No such command '{line}' (type 'core show help' for help)\n"
            f"Command '{line}' failed.",
        )

    def complete(self, line: str) -> list[str]:
        words = line.split()
        if line and not line[-1].isspace() and words:
            context, word = words[:-1], words[-1]
        else:
            context, word = words, ""
        if not context:
            options: tuple[str, ...] = tuple(TREE)
        elif len(context) == 1 and context[0] in TREE:
            options = tuple(TREE[context[0]])
        elif len(context) == 2 and context[0] in TREE:
            options = TREE[context[0]].get(context[1], ())
        else:
            options = ()
        return sorted(o for o in options if o.startswith(word.lower()))


#: What the impostor answers: a terminal escape sequence retitling the window, and a bell.
IMPOSTOR_REPLY = b'{"v":1,"id":1,"ok":true,"output":"\\u001b]0;owned\\u0007pwned"}\n'


def impostor(path: str, uid: int = 65534):
    """Fork a process that becomes ``uid`` and listens on ``path``, as another local user would.

    It accepts one client, records every byte the client sends (for up to a
    second of silence) and answers :data:`IMPOSTOR_REPLY`. Returns
    ``finish()``, to call once the client is done, which gives what the
    client sent (``b""``: nothing, or it never connected). The
    child touches only already-imported built-ins, so forking here is safe.
    """
    ready_r, ready_w = os.pipe()
    out_r, out_w = os.pipe()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads (3.12+)
        pid = os.fork()
    if pid == 0:  # child
        try:
            os.close(ready_r)
            os.close(out_r)
            os.setgid(uid)
            os.setuid(uid)
            listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            listener.bind(path)
            listener.listen(1)
            os.write(ready_w, b"r")
            listener.settimeout(20)
            conn, _ = listener.accept()
            conn.settimeout(1.0)
            data = b""
            try:
                while chunk := conn.recv(65536):
                    data += chunk
            except OSError:
                pass
            try:
                conn.sendall(IMPOSTOR_REPLY)
                conn.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            os.write(out_w, b"sent:" + data)
        except BaseException as exc:
            os.write(out_w, f"child error: {exc!r}".encode())
        os._exit(0)
    os.close(ready_w)
    os.close(out_w)
    assert os.read(ready_r, 1) == b"r", "the impostor did not start"
    os.close(ready_r)

    def finish() -> bytes:
        # A client refused before it connected leaves the impostor waiting: end that wait.
        poke = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            poke.connect(path)
        except OSError:
            pass
        finally:
            poke.close()
        with os.fdopen(out_r, "rb") as out:
            result = out.read()
        os.waitpid(pid, 0)
        assert result.startswith(b"sent:"), result
        return result[len(b"sent:") :]

    return finish


def _serve(path: str) -> int:
    from modloader._control.unix import ControlServer

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with ControlServer(FakeExecutor(), path):
        print("ready", flush=True)
        while not stop.wait(0.5):
            pass
    return 0


def _console(history: str) -> int:
    from modloader._cli.console import run_console

    logging.basicConfig(level=logging.INFO)
    run_console(FakeExecutor(), history_path=history, logger=logging.getLogger())
    print("console left", flush=True)
    return 0


if __name__ == "__main__":
    mode, arg = sys.argv[1], sys.argv[2]
    sys.exit(_serve(arg) if mode == "serve" else _console(arg))
