"""Types the public API promises, checked by mypy (the ``typing`` nox session); never run."""

from __future__ import annotations

from typing import Any
from typing import assert_type

import modloader
from modloader import Host
from modloader import ModuleContext
from modloader import ModuleHandle


def host_api(host: Host) -> None:
    assert_type(host.start(), modloader.StartupReport)
    assert_type(host.stop(), list[str])
    assert_type(host.use("res_x", holder="me"), ModuleHandle)
    assert_type(host.run("module show"), modloader.CommandResult)
    assert_type(host.run("module show").exit_code, int)
    assert_type(host.complete("module lo"), list[str])
    assert_type(host.list_modules(), list[dict[str, Any]])
    assert_type(host.is_running("res_x"), bool)
    with host.use("res_x") as handle:
        assert_type(handle, ModuleHandle)
        assert_type(handle.obj, Any)


def module_api(ctx: ModuleContext) -> None:
    assert_type(ctx.name, str)
    assert_type(ctx.use("res_dep"), ModuleHandle)
    ctx.register_command("hello", lambda args: "hi", summary="Say hi", usage="hello")
    ctx.register("timer", lambda: None)


class Mod(modloader.Module):
    load_priority = modloader.LoadPriority.CHANNEL_DRIVER
    requires = ("res_dep",)

    def load(self, ctx: ModuleContext) -> modloader.LoadResult | None:
        if not ctx.name:
            raise modloader.ModuleDeclined("no name")
        return modloader.LoadResult.SUCCESS


def errors(exc: modloader.ModLoaderError) -> None:
    assert_type(exc.exit_code, int)
    assert_type(exc.code, str)
    if isinstance(exc, modloader.ConfigError):
        assert_type(exc.issues, tuple[modloader.ConfigIssue, ...])


class StoreSettings(modloader.ModuleSettings):
    capacity: int = 5


class Store(modloader.Module):
    settings_model = StoreSettings

    def load(self, ctx: ModuleContext[StoreSettings]) -> None:
        assert_type(ctx.settings, StoreSettings)
        assert_type(ctx.settings.capacity, int)


def untyped_settings(ctx: ModuleContext) -> None:
    assert_type(ctx.settings, Any)


def settings_api(host: Host) -> None:
    report = host.check()
    assert_type(report, modloader.CheckReport)
    assert_type(report.ok, bool)
    assert_type(report.errors, tuple[modloader.ConfigIssue, ...])
    assert_type(host.config_dir, str | None)
