"""``AsyncHost.serve()``: the control socket of an asyncio application, driven by ``modloader``.

The operator is the real ``modloader -rx`` command in another process, on the
real socket; the application's loop keeps running while commands are served,
and a module's ``async def unload`` requested over the socket runs on it.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

import modloader
from modloader import AsyncControlSocket
from modloader import AsyncHost
from modloader import ModuleContext
from modloader import ModulesConfig
from modloader import StaticDiscovery
from modloader.errors import SocketInUseError
from tests import _apps
from tests._apps import AppEnv
from tests._apps import modloader_command
from tests._apps import wait_for_socket


@pytest.fixture
def socket_path() -> Iterator[str]:
    folder = tempfile.mkdtemp(prefix="mlt-")  # short: a socket path holds 103 bytes at most
    try:
        yield os.path.join(folder, "aio.sock")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


async def rx(path: str, line: str) -> tuple[int, str, str]:
    """``modloader -s PATH -rx LINE`` in another process, awaited without blocking the loop."""
    framework = Path(modloader.__file__).resolve().parents[1]
    env = dict(os.environ, PYTHONPATH=str(framework))
    proc = await asyncio.create_subprocess_exec(
        *modloader_command(),
        "-s",
        path,
        "-rx",
        line,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


class Web:
    description = "Adds routes"

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None

    async def load(self, ctx: ModuleContext) -> None:
        await asyncio.sleep(0)

    async def unload(self, ctx: ModuleContext) -> None:
        self.loop = asyncio.get_running_loop()


def test_rx_reaches_the_loop_and_core_stop_wakes_wait_for_stop(socket_path: str) -> None:
    web = Web()

    async def main() -> tuple[bool, list[str]]:
        host = AsyncHost(
            "test.aio", discovery=StaticDiscovery("test.aio", {"web": web}), config=ModulesConfig()
        )
        await host.start()
        control = await host.serve(socket_path)
        assert isinstance(control, AsyncControlSocket)
        assert control.path == socket_path
        code, out, err = await rx(socket_path, "module show")
        assert code == 0, err
        assert "web" in out and "Adds routes" in out and "Running" in out
        code, out, err = await rx(socket_path, "module unload web")
        assert (code, out) == (0, "Unloaded web\n"), err
        assert web.loop is asyncio.get_running_loop()  # the async unload ran on this loop
        code, out, err = await rx(socket_path, "module load web")
        assert (code, out) == (0, "Loaded web\n"), err
        code, out, err = await rx(socket_path, "core stop gracefully")
        assert (code, out) == (0, "Stopping gracefully.\n"), err
        graceful = await asyncio.wait_for(host.wait_for_stop(), 30)
        stopped = await host.stop(graceful=graceful)
        assert control.closed
        return graceful, stopped

    assert asyncio.run(main()) == (True, ["web"])
    assert not os.path.exists(socket_path)


def test_a_second_host_on_a_live_socket_is_refused(socket_path: str) -> None:
    async def main() -> None:
        hosts = [
            AsyncHost("test.aio", discovery=StaticDiscovery("test.aio", {}), config=ModulesConfig())
            for _ in range(2)
        ]
        for host in hosts:
            await host.start()
        async with await hosts[0].serve(socket_path):
            with pytest.raises(SocketInUseError):
                await hosts[1].serve(socket_path)
        for host in hosts:
            await host.stop()

    asyncio.run(main())


#: An asyncio application: the snippet of docs/asyncio.md that serves operators.
APP = textwrap.dedent(
    """
    import asyncio
    import signal
    import sys

    import modloader


    async def main() -> None:
        host = modloader.AsyncHost("itest.served", config_path=sys.argv[1], env_prefix="APP_")
        await host.start()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, host.request_stop)
        await host.serve()  # modloader -n itest.served -rx "module show"
        graceful = await host.wait_for_stop()  # core stop gracefully|now, or a signal
        print("stopped:", await host.stop(graceful=graceful), flush=True)


    asyncio.run(main())
    """
)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _apps.lay_plugins(tmp_path_factory.mktemp("site-packages"))


@pytest.fixture
def app_env(site: Path, tmp_path: Path) -> Iterator[AppEnv]:
    with _apps.app_env(site, tmp_path) as env:
        yield env


@pytest.mark.parametrize("how", ["core stop gracefully", "SIGTERM"])
def test_an_asyncio_application_served_to_its_operators(app_env: AppEnv, how: str) -> None:
    script = app_env.tmp / "app.py"
    script.write_text(APP, encoding="utf-8")
    proc = app_env.popen([sys.executable, str(script), str(app_env.conf)])
    try:
        wait_for_socket(app_env.socket, proc)
        greeted = app_env.rx("itest greet ada")
        assert (greeted.returncode, greeted.stdout) == (0, "hello from res_user ada\n")
        if how == "SIGTERM":
            proc.terminate()
        else:
            assert app_env.rx(how).returncode == 0
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert (proc.returncode, out) == (0, "stopped: ['res_user', 'res_base']\n"), err
    assert not os.path.exists(app_env.socket)
