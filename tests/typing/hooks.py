"""Types of the hook API, checked by mypy (the ``typing`` nox session); never run."""

from __future__ import annotations

from typing import Any
from typing import assert_type

import pluggy

from modloader import Host
from modloader import hookimpl
from modloader import hookspec
from modloader.demo import DemoSpecs


class Specs:
    @hookspec(firstresult=True)
    def open_store(self, url: str) -> object | None:
        """The first module that answers opens the store."""


class Impl:
    @hookimpl(tryfirst=True)
    def open_store(self, url: str) -> object | None:
        return None


def hook_api() -> None:
    host = Host("ns", hookspecs=[Specs, DemoSpecs], strict_hooks=True)
    assert_type(host.hook, pluggy.HookRelay)
    assert_type(host.hook.open_store, pluggy.HookCaller)
    assert_type(host.hook.open_store(url="x"), Any)
    assert_type(hookspec, pluggy.HookspecMarker)
    assert_type(hookimpl, pluggy.HookimplMarker)
