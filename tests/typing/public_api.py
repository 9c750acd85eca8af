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
    assert_type(host.use("res_x", holder="me"), ModuleHandle[Any])
    assert_type(host.run("module show"), modloader.CommandResult)
    assert_type(host.run("module show").exit_code, int)
    assert_type(host.complete("module lo"), list[str])
    assert_type(host.list_modules(), list[modloader.ModuleInfo])
    assert_type(host.get_module("res_x").holders, tuple[str, ...])
    assert_type(host.get_module("res_x").to_dict(), dict[str, Any])
    assert_type(host.run("module show").data, dict[str, Any] | None)
    assert_type(host.load("res_x"), modloader.LoadOutcome)
    assert_type(host.unload("res_x", modloader.UnloadMode.FIRM), modloader.UnloadOutcome)
    assert_type(host.reload(), modloader.ReloadOutcome)
    assert_type(host.refresh("res_x", recursive=True), modloader.RefreshOutcome)
    assert_type(host.extensions.names(), list[str])
    assert_type(host.is_running("res_x"), bool)
    assert_type(host.module_settings("res_x"), modloader.ModuleSettingsInfo)
    assert_type(host.list_hooks(), list[modloader.HookInfo])
    assert_type(host.list_hooks()[0].modules, tuple[modloader.HookImplInfo, ...])
    assert_type(host.module_settings("res_x").values, tuple[modloader.SettingValue, ...])
    assert_type(host.module_settings("res_x").errors, tuple[modloader.ConfigIssue, ...])
    with host.use("res_x") as handle:
        assert_type(handle, ModuleHandle[Any])
        assert_type(handle.obj, Any)
    typed: ModuleHandle[Mod] = host.use("res_mod")
    assert_type(typed.obj, Mod)


def remote_api() -> None:
    with modloader.RemoteHost("myapp.modules", pid=4242, timeout=None) as remote:
        assert_type(remote, modloader.RemoteHost)
        assert_type(remote.pid, int | None)
        assert_type(remote.run("module show"), modloader.CommandResult)
        assert_type(remote.list_modules(), list[modloader.ModuleInfo])
        assert_type(remote.get_module("res_x"), modloader.ModuleInfo)
        assert_type(remote.load("res_x"), modloader.LoadOutcome)
        assert_type(remote.unload("res_x", modloader.UnloadMode.HARD), modloader.UnloadOutcome)
        assert_type(remote.reload("res_x"), modloader.ReloadOutcome)
        assert_type(remote.refresh("res_x", recursive=True), modloader.RefreshOutcome)
        assert_type(remote.is_running("res_x"), bool)
        assert_type(remote.list_hooks(), list[modloader.HookInfo])
    assert_type(modloader.RemoteHost(path="/run/x.sock").path, str)
    assert_type(modloader.RemoteHost.every("myapp.modules"), list[modloader.RemoteHost])
    assert_type(modloader.ModuleInUseError("x", 1, ()).to_dict(), dict[str, Any])


def module_api(ctx: ModuleContext) -> None:
    assert_type(ctx.name, str)
    assert_type(ctx.use("res_dep"), ModuleHandle[Any])
    assert_type(ctx.host, Host)
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
    if isinstance(exc, modloader.ModuleInUseError):
        assert_type(exc.use_count, int)
        assert_type(exc.holders, tuple[str, ...])
    if isinstance(exc, modloader.NoSuchModuleError):
        assert_type(exc.suggestion, str | None)
    if isinstance(exc, modloader.DependencyError):
        assert_type(exc.missing, dict[str, str])
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


def settings_reload(host: Host) -> None:
    outcome = host.reload("res_store")
    assert_type(outcome.unchanged, tuple[str, ...])
    assert_type(outcome.settings, tuple[modloader.SettingsReload, ...])
    swap = outcome.settings[0]
    assert_type(swap.status, modloader.ReloadStatus)
    assert_type(swap.errors, tuple[modloader.ConfigIssue, ...])
    assert_type(swap.error(), modloader.ReloadError | None)
    try:
        host.reload("res_store")
    except modloader.InvalidSettingsError as exc:
        assert_type(exc.errors, tuple[modloader.ConfigIssue, ...])
    except modloader.ReloadError as exc:
        assert_type(exc.settings, modloader.ReloadStatus | None)
