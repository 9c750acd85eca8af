"""A module that replaces or closes ``sys.stdout``/``sys.stderr`` does not take the
command's own output with it: real ``modloader`` processes over a real distribution."""

import io
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from modloader._cli.streams import KeptStreams
from modloader._cli.streams import TerminalHandler
from modloader._cli.streams import reopened
from tests._dists import make_dist

FRAMEWORK = Path(__file__).resolve().parents[2] / "framework"

#: What careless modules do to the standard streams in their ``load()``.
CARELESS = {
    "res_quiet": "sys.stdout = io.StringIO()",  # to quiet a chatty library; never put back
    "res_none": "sys.stdout = None",
    "res_closes_out": "sys.stdout.close()",
    "res_closes_err": "sys.stderr.close()\n        ctx.logger.warning('said after closing stderr')",
    "res_both": "sys.stdout = sys.stderr = io.StringIO()",
}

MODULE = """
import io
import sys


class Module:
    def load(self, ctx):
        {action}

    def unload(self, ctx):
        {action}
"""


#: A module whose ``load()`` fails: a line of the log to look for.
FAILS = "class Module:\n    def load(self, ctx):\n        raise RuntimeError('no')\n"


def add(site, name, code):
    """Install ``name`` (one Python module, ``name:Module``) into ``site``."""
    make_dist(
        site,
        name.replace("_", "-"),
        "1",
        {"careless.modules": {name: f"{name}:Module"}},
        {f"{name}.py": code},
    )


def make_site(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    for name, action in CARELESS.items():
        add(site, name, MODULE.format(action=action))
    add(site, "res_fine", "class Module:\n    pass\n")
    return site


def environment(tmp_path, site):
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(site), str(FRAMEWORK)]),
        "MODLOADER_CACHE_DIR": str(tmp_path / "cache"),
    }


def console_environment(tmp_path, site):
    """What a console on a terminal of its own (``Terminal``) is started with."""
    return {
        "PYTHONPATH": os.pathsep.join([str(site), str(FRAMEWORK)]),
        "MODLOADER_CACHE_DIR": str(tmp_path / "cache"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "XDG_RUNTIME_DIR": str(tmp_path),
    }


def run(tmp_path, site, *args, load=(), command=None):
    """``modloader -n careless.modules -C modules.conf ARGS`` (or ``command``), with
    ``load`` the modules it loads."""
    conf = tmp_path / "modules.conf"
    conf.write_text("[modules]\nautoload = no\n" + "".join(f"load = {n}\n" for n in load))
    command = command or [sys.executable, "-m", "modloader", "-n", "careless.modules"]
    return subprocess.run(
        [*command, "-C", str(conf), *args],
        capture_output=True,
        text=True,
        env=environment(tmp_path, site),
        timeout=60,
        check=False,
        cwd=tmp_path,
    )


@pytest.mark.parametrize("name", list(CARELESS))
def test_a_module_that_replaces_or_closes_a_standard_stream(tmp_path, name):
    """Before: ``module show`` went into the module's buffer (exit 0, nothing printed), or
    the command died (``ValueError: I/O operation on closed file``, ``lost sys.stderr``)."""
    site = make_site(tmp_path)
    done = run(tmp_path, site, "-x", "module show", load=[name, "res_fine"])
    assert done.returncode == 0, done.stderr
    rows = {n: f"{n:<30} {n:<40} 0          Running           unknown" for n in (name, "res_fine")}
    assert done.stdout.splitlines()[1:] == [*(rows[n] for n in sorted(rows)), "2 modules loaded"]
    stream = "stderr" if name == "res_closes_err" else "stdout"
    what = "closed" if name.startswith("res_closes") else "replaced"
    assert f"WARNING: module code {what} sys.{stream} during startup; put back" in done.stderr
    assert f"WARNING: module code {what} sys.{stream} during the stop; put back" in done.stderr
    if name == "res_closes_err":
        assert "said after closing stderr" in done.stderr
    assert "Traceback" not in done.stderr


LOGGING_CARELESS = {
    "res_clears": "logging.getLogger().handlers.clear()",
    "res_mutes": "logging.disable(logging.CRITICAL)",
}


@pytest.mark.parametrize("name", list(LOGGING_CARELESS))
def test_a_module_that_removes_the_log_or_switches_it_off(tmp_path, name):
    """Before: every later line of the log (a module failing, the stop) was lost, on the
    terminal and in ``--log-file``. The log is put back when the phase that changed it
    ends (here startup): what was logged in between is lost."""
    site = tmp_path / "site"
    site.mkdir()
    code = "import logging\n\nclass Module:\n    def load(self, ctx):\n        {}\n"
    add(site, name, code.format(LOGGING_CARELESS[name]))
    add(site, "res_late", FAILS)
    log = tmp_path / "modloader.log"
    done = run(tmp_path, site, "-x", "module load res_late", "--log-file", str(log), load=[name])
    assert done.returncode == 1
    what = "switched logging off" if name == "res_mutes" else "removed the log's handlers"
    assert f"WARNING: module code {what} during startup" in done.stderr
    for shown in (done.stderr, log.read_text()):
        assert "res_late: load() raised RuntimeError: no" in shown


def test_json_output_too(tmp_path):
    import json

    site = make_site(tmp_path)
    done = run(tmp_path, site, "-x", "module show", "--json", load=["res_both"])
    assert done.returncode == 0, done.stderr
    assert [m["name"] for m in json.loads(done.stdout)["data"]["modules"]] == ["res_both"]


CHATTY = """
import os
import subprocess
import sys


class Module:
    def load(self, ctx):
        print("printed by load()")
        os.write(1, b"written to descriptor 1\\n")
        subprocess.run([sys.executable, "-c", "print('a child process')"], check=True)
"""


@pytest.mark.parametrize("line", ["module show", "module load res_chatty"])
def test_json_output_is_json_alone_whatever_modules_print(tmp_path, line):
    """Module code printing to standard output (print, the descriptor, a child process)
    made the JSON of ``-x ... --json`` unreadable; it goes to standard error instead."""
    import json

    site = make_site(tmp_path)
    add(site, "res_chatty", CHATTY)
    load = ["res_fine"] if line.startswith("module load") else ["res_chatty"]
    done = run(tmp_path, site, "-x", line, "--json", load=load)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["ok"] is True
    for said in ("printed by load()", "written to descriptor 1", "a child process"):
        assert said in done.stderr
    plain = run(tmp_path, site, "-x", "module show", load=["res_chatty"])
    assert "printed by load()" in plain.stdout  # without --json, where a module prints


def test_a_command_that_replaces_one(tmp_path):
    """``-x "module load ..."``: the module's code runs in the command itself."""
    site = make_site(tmp_path)
    done = run(tmp_path, site, "-x", "module load res_quiet", load=["res_fine"])
    assert done.returncode == 0, done.stderr
    assert done.stdout == "Loaded res_quiet\n"
    assert "module code replaced sys.stdout during 'module load res_quiet'" in done.stderr


# -- in process -----------------------------------------------------------------------------


def test_restore_puts_back_and_says_so(monkeypatch, caplog):
    mine = io.StringIO()
    monkeypatch.setattr(sys, "stdout", mine)
    kept = KeptStreams()
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    with caplog.at_level(logging.WARNING, logger="modloader"):
        kept.restore("startup")
        kept.restore("startup")  # nothing more to say
    assert sys.stdout is mine
    assert caplog.messages == ["module code replaced sys.stdout during startup; put back"]


def test_a_closed_stream_is_opened_again_over_its_descriptor(tmp_path):
    """In the encoding it had (``PYTHONIOENCODING`` may have chosen one)."""
    path = tmp_path / "out"
    with open(path, "w") as target:
        stream = open(target.fileno(), "w", encoding="latin-1", closefd=False)
        stream.close()
        again = reopened(stream)
        again.write("still h\u00e9re \u20ac\n")
        again.flush()
    assert path.read_bytes() == b"still h\xe9re \\u20ac\n"


def test_a_stream_whose_descriptor_is_unknown_writes_nowhere():
    stream = io.StringIO()
    stream.close()
    with reopened(stream) as again:
        assert again.name == os.devnull
        again.write("lost, not an error\n")


def test_the_terminal_handler_survives_its_stream_being_closed(tmp_path):
    path = tmp_path / "log"
    with open(path, "w") as target:
        stream = open(target.fileno(), "w", closefd=False)
        handler = TerminalHandler(stream)
        stream.close()
        handler.handle(logging.makeLogRecord({"msg": "after the close", "levelno": 30}))
        handler.flush()
    assert path.read_text() == "after the close\n"


def test_the_terminal_handler_closes_what_it_opened(tmp_path):
    """The stream it opened in place of a closed one (``/dev/null`` here) goes with it;
    left open, it was a file the process never closed (an in-process ``main()`` twice)."""
    stream = io.StringIO()
    handler = TerminalHandler(stream)
    stream.close()
    handler.handle(logging.makeLogRecord({"msg": "lost", "levelno": 30}))
    opened = handler.stream
    assert opened.name == os.devnull and not opened.closed
    handler.close()
    assert opened.closed


def test_the_console_keeps_printing_after_a_module_replaces_stdout(tmp_path):
    """``modloader -c`` on a real terminal: ``module load res_quiet`` at the prompt
    replaced the console's own output, and every later reply went into that buffer."""
    from tests.cli.test_console import Terminal

    site = make_site(tmp_path)
    conf = tmp_path / "modules.conf"
    conf.write_text("[modules]\nautoload = no\nload = res_fine\n")
    argv = [sys.executable, "-m", "modloader", "-n", "careless.modules", "-C", str(conf), "-c"]
    env = console_environment(tmp_path, site)
    term = Terminal(tmp_path / "history", argv, env)
    try:
        term.expect("*CLI>")
        term.type("module load res_quiet\r")
        term.expect("Loaded res_quiet")
        term.expect("module code replaced sys.stdout during 'module load res_quiet'; put back")
        term.expect("*CLI>")
        term.type("module show like res_\r")
        term.expect("2 modules loaded")
        term.expect("*CLI>")
        term.type("\x04")
        assert term.proc.wait(20) == 0
    finally:
        term.close()


def test_the_console_puts_stdout_back_after_a_command_over_the_socket(tmp_path):
    """``modloader -c`` serves its socket too: a module loaded there with ``-rx`` that
    replaces stdout is put back then, not at the console's next command (which the
    warning blamed), and the console's echo of that command is not lost."""
    from tests.cli.test_console import Terminal

    site = make_site(tmp_path)
    conf = tmp_path / "modules.conf"
    conf.write_text("[modules]\nautoload = no\nload = res_fine\n")
    sock = str(tmp_path / "h.sock")
    command = [sys.executable, "-m", "modloader", "-n", "careless.modules"]
    env = console_environment(tmp_path, site)
    term = Terminal(tmp_path / "history", [*command, "-C", str(conf), "-s", sock, "-c"], env)
    try:
        term.expect("*CLI>")
        remote = subprocess.run(
            [*command, "-s", sock, "-rx", "module load res_quiet"],
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert remote.stdout == "Loaded res_quiet\n", remote
        term.expect("module code replaced sys.stdout during res_quiet (loaded); put back")
        term.type("module show like res_\r")
        term.expect("2 modules loaded")
        term.expect("*CLI>")
        term.type("\x04")
        assert term.proc.wait(20) == 0
    finally:
        term.close()


def _serve_and_send(tmp_path, site, conf_text, lines):
    """``modloader -s SOCK`` over ``site``, ``-rx`` each of ``lines`` in turn (each must
    succeed when ``lines`` says so), then SIGTERM; the host's standard error."""
    import signal
    import time

    conf = tmp_path / "modules.conf"
    conf.write_text(conf_text)
    sock = tmp_path / "h.sock"
    env = environment(tmp_path, site)
    command = [sys.executable, "-m", "modloader", "-n", "careless.modules"]
    host = subprocess.Popen(
        [*command, "-C", str(conf), "-s", str(sock)],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    try:
        deadline = time.monotonic() + 30
        while not sock.exists():
            assert host.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        for line, must_succeed in lines:
            done = subprocess.run(
                [*command, "-s", str(sock), "-rx", line],
                env=env,
                timeout=60,
                capture_output=True,
                text=True,
            )
            assert done.returncode == 0 or not must_succeed, done.stderr
    finally:
        host.send_signal(signal.SIGTERM)
        _, err = host.communicate(timeout=30)
    return str(err)


def test_a_serving_host_puts_the_log_back_after_an_operation_over_the_socket(tmp_path):
    """``modloader -s SOCK`` for days: a module loaded with ``-rx`` that removes the log's
    handlers no longer leaves the host mute until it stops."""
    site = tmp_path / "site"
    site.mkdir()
    code = "import logging\n\nclass Module:\n    def load(self, ctx):\n        {}\n"
    add(site, "res_clears", code.format(LOGGING_CARELESS["res_clears"]))
    add(site, "res_late", FAILS)
    lines = [("module load res_clears", True), ("module load res_late", False)]
    err = _serve_and_send(tmp_path, site, "[modules]\nautoload = no\n", lines)
    assert "module code removed the log's handlers during res_clears (loaded)" in err
    assert "res_late: load() raised RuntimeError: no" in err


QUIETING_COMMAND = """
import io
import sys


class Module:
    def load(self, ctx):
        ctx.register_command("quiet down", self.quiet)

    def quiet(self, args):
        sys.stdout = io.StringIO()
        return "quiet now"
"""


def test_a_serving_host_blames_the_command_that_replaced_stdout(tmp_path):
    """A module's command over the socket replaced ``sys.stdout``: it was put back at the
    next module operation, and the warning named that operation's innocent module."""
    site = tmp_path / "site"
    site.mkdir()
    add(site, "res_quieting", QUIETING_COMMAND)
    add(site, "res_fine", "class Module:\n    pass\n")
    conf = "[modules]\nautoload = no\nload = res_quieting\n"
    lines = [("quiet down", True), ("module load res_fine", True)]
    err = _serve_and_send(tmp_path, site, conf, lines)
    assert "module code replaced sys.stdout during 'quiet down'; put back" in err
    assert "during res_fine" not in err


APP = """
import logging
import sys

import modloader


def own_log():
    # The application's own log, set up in its code: not module code's doing.
    logging.basicConfig(force=True, stream=sys.stderr, format="APP %(levelname)s %(message)s")


def init(host):
    own_log()


def factory(namespace, **options):
    own_log()
    return modloader.Host(namespace, **options)


hook = {WHERE!r}
sys.exit(
    modloader.main(
        prog="myapp",
        namespace="careless.modules",
        core_init=init if hook == "core_init" else None,
        host_factory=factory if hook == "host_factory" else None,
    )
)
"""


@pytest.mark.parametrize("where", ["core_init", "host_factory"])
def test_what_the_application_sets_up_is_kept(tmp_path, where):
    site = tmp_path / "site"
    site.mkdir()
    add(site, "res_late", FAILS)
    app = tmp_path / "app.py"
    app.write_text(APP.replace("{WHERE!r}", repr(where)))
    command = [sys.executable, str(app)]
    done = run(tmp_path, site, "-x", "module show", load=["res_late"], command=command)
    assert done.returncode == 0, done.stderr
    assert "APP WARNING res_late: load() raised RuntimeError: no" in done.stderr
    assert "module code" not in done.stderr  # no warning, and the command's handler not back
    assert "] WARNING:" not in done.stderr


def test_the_check_prints_its_verdict_after_an_import_that_replaces_stdout(tmp_path):
    """``--check`` imports the modules (never calling ``load()``): one that replaces
    ``sys.stdout`` at import made it print nothing and exit 0."""
    site = tmp_path / "site"
    site.mkdir()
    add(site, "res_import_quiet", "import io\nimport sys\n\nsys.stdout = io.StringIO()\n\n" + FAILS)
    done = run(tmp_path, site, "--check", load=["res_import_quiet"])
    assert done.returncode == 0, done.stderr
    assert done.stdout == "check OK: 1 module would start, 0 with settings\n"
    assert "module code replaced sys.stdout during the check; put back" in done.stderr
