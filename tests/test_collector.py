"""The garbage collector paused while the command imports and starts its host.

The unit tests drive :class:`CollectorPaused` itself; the others run the real
``modloader`` command over a distribution whose module reports, from inside
the host, how many collections had run and whether the collector is on.
"""

from __future__ import annotations

import gc
import logging
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from modloader._cli import main
from modloader._collector import CollectorPaused
from modloader.testing import make_distribution

NAMESPACE = "collector.test"

MODULE = textwrap.dedent(
    """
    import gc


    def _state():
        return (
            f"enabled={gc.isenabled()} collections={gc.get_stats()[0]['collections']} "
            f"frozen={gc.get_freeze_count() > 0}"
        )


    class Probe:
        def load(self, ctx):
            print("load:", _state(), flush=True)
            ctx.register_command("probe gc", lambda args: "command: " + _state())
    """
)

# The command as an application's console script runs it, with the collections
# counted as main() is called: the first line it prints. The young generation is
# emptied first, so that the little main() allocates before its pause cannot start
# a collection of its own.
COMMAND = textwrap.dedent(
    """
    import gc, sys
    from modloader._cli import main
    gc.collect()
    print("main:", gc.get_stats()[0]["collections"], flush=True)
    sys.exit(main())
    """
)


@pytest.fixture(autouse=True)
def _collector_on() -> Iterator[None]:
    """Each test starts, and leaves the process, with the collector on."""
    gc.enable()
    yield
    assert gc.isenabled()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("site-packages")
    make_distribution(
        folder,
        "collector-probe",
        entry_points={NAMESPACE: {"res_probe": "collector_probe:Probe"}},
        files={"collector_probe.py": MODULE},
    )
    return folder


def _run(site: Path, tmp_path: Path, *arguments: str) -> list[str]:
    conf = tmp_path / "modules.conf"
    conf.write_text("[modules]\nautoload = yes\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODLOADER_")}
    env["PYTHONPATH"] = os.pathsep.join([str(site), *sys.path])
    env["MODLOADER_CACHE_DIR"] = str(tmp_path / "cache")
    proc = subprocess.run(
        [sys.executable, "-c", COMMAND, "-n", NAMESPACE, "-C", str(conf), *arguments],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()


def test_no_collection_runs_before_the_host_has_started(site: Path, tmp_path: Path) -> None:
    """The command's imports and its host's startup run no collection (some twenty before)."""
    lines = _run(site, tmp_path, "-x", "probe gc")
    at_main = int(lines[0].removeprefix("main: "))
    load = next(line for line in lines if line.startswith("load:"))
    # The command's imports were frozen as the host started; startup has paused it again.
    assert load == f"load: enabled=False collections={at_main} frozen=True"
    # Running: on again, and what startup made (the command's imports too) is frozen.
    command = next(line for line in lines if line.startswith("command:"))
    assert command.startswith("command: enabled=True collections=")
    assert command.endswith("frozen=True")


@pytest.mark.parametrize(
    "argv",
    [["--version"], ["--help"], ["--no-such-option"], ["-n", NAMESPACE, "-C", "/nonexistent/x"]],
    ids=["version", "help", "usage-error", "config-error"],
)
def test_every_way_out_of_main_turns_it_on_again(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    root = logging.getLogger()
    kept, level = root.handlers[:], root.level
    try:
        main(argv)
        assert gc.isenabled()
    finally:  # the configuration error's run set up the command's log: the suite's back
        for handler in root.handlers:
            if handler not in kept:
                handler.close()
        root.handlers[:] = kept
        root.setLevel(level)


def test_a_remote_console_runs_with_it_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """``-r`` may run for hours: the collector is on before the client starts."""
    seen: list[bool] = []

    def run_remote(options: object) -> int:
        seen.append(gc.isenabled())
        return 0

    monkeypatch.setattr("modloader._cli.remote.run_remote", run_remote)
    assert main(["-s", "/nonexistent/socket", "-r"]) == 0
    assert seen == [True]


def test_a_pause_freezes_what_exists_when_it_resumes() -> None:
    gc.unfreeze()
    with CollectorPaused() as pause:
        assert not gc.isenabled()
        kept = [[] for _ in range(10)]  # containers: objects the collector tracks
        assert all(gc.is_tracked(x) for x in kept)
        pause.resume()
        assert gc.isenabled()
        assert gc.get_freeze_count() >= len(kept)
        pause.resume()  # harmless again, and on leaving the block
    assert gc.isenabled()
    gc.unfreeze()


def test_only_the_pause_that_found_it_on_turns_it_on() -> None:
    with CollectorPaused():
        with CollectorPaused():
            pass
        assert not gc.isenabled()  # the inner pause found it off: it leaves it off
    assert gc.isenabled()
    gc.unfreeze()


def test_a_pause_of_a_collector_already_off_leaves_it_off() -> None:
    gc.disable()
    try:
        gc.unfreeze()
        with CollectorPaused():
            pass
        assert not gc.isenabled()
        assert gc.get_freeze_count() == 0  # nothing frozen either
    finally:
        gc.enable()
