from __future__ import annotations

from collections.abc import Callable
from collections.abc import Mapping
from typing import Any

import pytest

from modloader import Host
from modloader import ModuleEntry
from modloader import ModulesConfig
from modloader import StaticDiscovery

HostFactory = Callable[..., Host]


def entries(*specs: str) -> tuple[ModuleEntry, ...]:
    """``"name"``, ``"name!"`` (required), ``"^name"`` (preload), ``"^name!"`` (both)."""
    out = []
    for spec in specs:
        preload = spec.startswith("^")
        required = spec.endswith("!")
        out.append(ModuleEntry(spec.strip("^!"), required=required, preload=preload))
    return tuple(out)


@pytest.fixture
def make_host() -> HostFactory:
    def factory(
        modules: Mapping[str, Any],
        *,
        autoload: bool = True,
        load: tuple[str, ...] = (),
        noload: tuple[str, ...] = (),
        builtins: Mapping[str, Any] | None = None,
    ) -> Host:
        discovery = StaticDiscovery("test.modules", modules)
        kept = tuple(e for e in entries(*load) if e.name not in noload)
        config = ModulesConfig(autoload=autoload, entries=kept, noload=noload)
        host = Host("test.modules", discovery=discovery, config=config, builtins=builtins)
        host.discovery = discovery  # type: ignore[attr-defined]
        return host

    return factory
