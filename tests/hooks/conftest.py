"""Hook tests run over real distributions laid in a site folder on ``sys.path``.

The app's specifications live in their own distribution (``hookapp``), as an
app's would; each module is a distribution whose code the test writes.
"""

from __future__ import annotations

import importlib
import textwrap
from collections.abc import Callable
from collections.abc import Iterable
from typing import Any

import pytest

from modloader import Host
from modloader.pytest_plugin import FakeSite

NAMESPACE = "hooktest.modules"

SPECS = '''
from modloader import hookspec

CALLS = []


class AppSpecs:
    @hookspec
    def filter_note(self, text):
        """Return the text changed."""

    @hookspec(firstresult=True)
    def open_store(self, url):
        """The first module that handles url returns a store."""

    @hookspec(historic=True)
    def app_ready(self, app):
        """The app has started."""

    @hookspec
    def wrapped(self, value):
        """For wrappers."""
'''

#: Code every generated module starts with: a trace of what reached it.
PRELUDE = """
from modloader import hookimpl, LoadResult
from hookapp.specs import CALLS
"""


def module_source(name: str, body: str) -> str:
    return PRELUDE + textwrap.dedent(body).replace("NAME", repr(name))


#: A module that tags the notes it filters and remembers the app it was told about.
TAGGER = """
class Module:
    def __init__(self):
        self.apps = []
        self.unloading = False

    @hookimpl
    def filter_note(self, text):
        assert not self.unloading, "called after unload() started"
        CALLS.append(NAME)
        return text + "|" + NAME

    @hookimpl
    def app_ready(self, app):
        self.apps.append(app)

    def unload(self, ctx):
        self.unloading = True
"""


class HookSite:
    """The fake site with the app's specs installed, and a way to add hook modules."""

    def __init__(self, site: FakeSite) -> None:
        self.site = site
        site.add("hookapp", files={"hookapp/__init__.py": "", "hookapp/specs.py": SPECS})

    @property
    def specs(self) -> Any:
        return importlib.import_module("hookapp.specs")

    def add(self, name: str, body: str = TAGGER, version: str = "1.0", **extra: str) -> None:
        package = f"hookmod_{name.lower()}"
        files = {f"{package}/__init__.py": "", f"{package}/module.py": module_source(name, body)}
        files.update(extra)
        self.site.add(
            package.replace("_", "-"),
            version,
            entry_points={NAMESPACE: {name: f"{package}.module:Module"}},
            files=files,
        )


@pytest.fixture
def hook_site(fake_distributions: FakeSite) -> Iterable[HookSite]:
    site = HookSite(fake_distributions)
    yield site
    site.specs.CALLS.clear()


@pytest.fixture
def app_host(hook_site: HookSite, modloader_host: Any) -> Callable[..., Host]:
    """A started host of the namespace, declaring the app's specs."""

    def factory(**options: Any) -> Host:
        options.setdefault("hookspecs", [hook_site.specs.AppSpecs])
        host: Host = modloader_host(namespace=NAMESPACE, **options)
        return host

    return factory


def obj(host: Host, name: str) -> Any:
    from modloader.testing import module_object

    return module_object(host, name)
