"""A real distribution whose module declares settings, and hosts over real files."""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from modloader import Host
from modloader.pytest_plugin import FakeSite

NAMESPACE = "itest.settings"

#: The plugin distribution's code: a store with every kind of field, and a plain module.
STORE_CODE = """
import os

from pydantic import BaseModel, SecretStr
from modloader import ModuleSettings, ReloadResult


class Limits(BaseModel):
    low: int = 0
    high: int = 10


class Peer(BaseModel):
    host: str
    port: int = 5060
    codecs: list[str] = []


class StoreSettings(ModuleSettings):
    capacity: int = 5
    label: str = "store"
    token: SecretStr = SecretStr("")
    tags: list[str] = []
    limits: Limits = Limits()
    peers: dict[str, Peer] = {}


LOADS = []


class Store:
    settings_model = StoreSettings

    def __init__(self):
        self.events = []

    def load(self, ctx):
        self.events.append(("load", ctx.settings))
        LOADS.append(ctx.name)
        if os.environ.get("ITEST_LOAD_TRACE"):
            with open(os.environ["ITEST_LOAD_TRACE"], "a") as out:
                out.write("load " + ctx.name + "\\n")

    def reload(self, ctx):
        self.events.append(("reload", ctx.settings))
        if ctx.settings.label == "fail":
            return ReloadResult.ERROR
        return None


class Fixed(BaseModel):
    mode: str = "a"


class NoReloadSettings(ModuleSettings):
    level: int = 1
    fixed: Fixed = Fixed()


class NoReload:
    settings_model = NoReloadSettings

    def load(self, ctx):
        self.seen = ctx.settings


class Plain:
    def load(self, ctx):
        self.ctx = ctx
"""


def install_store(site: FakeSite) -> None:
    """``res_store``, ``res_noreload`` and ``res_plain``: one real distribution."""
    site.add(
        "itest-settings-store",
        "1.0",
        entry_points={
            NAMESPACE: {
                "res_store": "itest_settings_store:Store",
                "res_noreload": "itest_settings_store:NoReload",
                "res_plain": "itest_settings_store:Plain",
            }
        },
        files={"itest_settings_store/__init__.py": STORE_CODE},
    )


HostMaker = Callable[..., Host]


@pytest.fixture
def conf_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "etc"
    folder.mkdir()
    (folder / "modules.conf").write_text("[modules]\nautoload = yes\n")
    return folder


@pytest.fixture
def make_host(fake_distributions: FakeSite, conf_dir: Path) -> Iterator[HostMaker]:
    """``make_host(**host_options)``: a started host over the real distribution and ``conf_dir``."""
    install_store(fake_distributions)
    hosts: list[Host] = []

    def factory(start: bool = True, **options: Any) -> Host:
        options.setdefault("env_prefix", "MYAPP_")
        host = Host(NAMESPACE, config_path=conf_dir / "modules.conf", **options)
        hosts.append(host)
        if start:
            host.start()
        return host

    yield factory
    for host in reversed(hosts):
        host.stop()
