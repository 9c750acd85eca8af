"""Types AsyncHost promises, checked by mypy (the ``typing`` nox session); never run."""

from __future__ import annotations

from typing import Any
from typing import assert_type

import pluggy

import modloader
from modloader import AsyncControlSocket
from modloader import AsyncHost
from modloader import ModuleHandle


class Mod:
    async def load(self, ctx: modloader.ModuleContext) -> None: ...


async def core_init(host: AsyncHost) -> None: ...


async def async_host_api(host: AsyncHost) -> None:
    assert_type(await host.start(core_init), modloader.StartupReport)
    assert_type(await host.start(lambda h: None), modloader.StartupReport)
    assert_type(await host.load("res_x"), modloader.LoadOutcome)
    assert_type(await host.unload("res_x", modloader.UnloadMode.HARD), modloader.UnloadOutcome)
    assert_type(await host.reload(), modloader.ReloadOutcome)
    assert_type(await host.refresh("res_x", recursive=True), modloader.RefreshOutcome)
    assert_type(await host.run("module show"), modloader.CommandResult)
    assert_type(host.get_module("res_x"), modloader.ModuleInfo)
    assert_type(host.list_modules(), list[modloader.ModuleInfo])
    assert_type(await host.module_settings("res_x"), modloader.ModuleSettingsInfo)
    assert_type(await host.list_hooks(), list[modloader.HookInfo])
    assert_type(host.host, modloader.Host)
    assert_type(host.time_limit, float | None)
    assert_type(host.hook, pluggy.HookRelay)
    async with host.use("res_x") as handle:
        assert_type(handle, ModuleHandle[Any])
    typed: ModuleHandle[Mod] = host.use("res_mod")
    assert_type(typed.obj, Mod)
    control = await host.serve()
    assert_type(control, AsyncControlSocket)
    async with control:
        assert_type(control.path, str)
    assert_type(await host.wait_for_stop(), bool)
    assert_type(await host.stop(graceful=False), list[str])


def async_host_arguments() -> None:
    AsyncHost("myapp.modules", time_limit=5, hookspecs=[Mod], config_dir="/etc/myapp")
    AsyncHost("myapp.modules", hookspec=[Mod])  # type: ignore[call-arg]
    AsyncHost("myapp.modules", time_limit="5")  # type: ignore[arg-type]
