"""pytest fixtures for testing modules and hosts (registered as the ``modloader`` pytest plugin).

``modloader_host``
    A factory: ``modloader_host({"res_x": MyModule})`` gives a started host over
    in-memory modules; ``modloader_host(namespace="myapp.modules", load=["res_x"],
    autoload=False)`` one over installed entry points. Every host is stopped
    at the end of the test.

``fake_distributions``
    A folder first on ``sys.path`` where ``add(name, version, entry_points=,
    files=, summary=)`` lays a real installed distribution,
    ``add_project(project_dir, version=None, groups=None)`` lays the one a
    project folder's ``pyproject.toml`` describes (its code imported from where
    Python finds it), and ``remove(name)`` takes one away; the Python modules
    they provided are dropped from ``sys.modules`` after the test.

The heavy imports happen inside the fixtures, so installing modloader does
not slow down pytest runs that never use them.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any

import pytest

if TYPE_CHECKING:
    from modloader._host import Host

__all__ = ["FakeSite", "fake_distributions", "modloader_host"]


@pytest.fixture
def modloader_host() -> Iterator[Callable[..., Host]]:
    from modloader.testing import module_host

    hosts: list[Host] = []

    def factory(modules: Any = None, **options: Any) -> Host:
        host = module_host(modules, **options)
        hosts.append(host)
        return host

    yield factory
    for host in reversed(hosts):
        host.stop()


class FakeSite:
    """A folder of real distributions on ``sys.path``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._tops: set[str] = set()

    def add(self, name: str, version: str = "1.0", **options: Any) -> Path:
        from modloader.testing import make_distribution

        info = make_distribution(self.path, name, version, **options)
        self._tops.update((info / "top_level.txt").read_text(encoding="utf-8").split())
        return info

    def add_project(self, project_dir: str | Path, **options: Any) -> Path:
        """Lay the distribution ``project_dir`` describes (see ``project_distribution``)."""
        from modloader.testing import project_distribution

        info = project_distribution(self.path, project_dir, **options)
        text = (info / "entry_points.txt").read_text(encoding="utf-8")
        for line in text.splitlines():
            name, sep, value = line.partition("=")
            if sep and not name.strip().startswith("["):
                self._tops.add(value.strip().partition(":")[0].partition(".")[0])
        return info

    def remove(self, name: str) -> bool:
        from modloader.testing import remove_distribution

        return remove_distribution(self.path, name)

    def purge(self) -> None:
        for module in [m for m in sys.modules if m.partition(".")[0] in self._tops]:
            del sys.modules[module]


@pytest.fixture
def fake_distributions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSite]:
    site = tmp_path / "site-packages"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    fake = FakeSite(site)
    yield fake
    fake.purge()
