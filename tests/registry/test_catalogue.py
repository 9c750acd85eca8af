"""The catalogue: scans of the namespace, whole or for one name, and who waits for whom."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import pytest

from modloader._discovery.base import Candidate
from modloader._registry.catalogue import Catalogue

GROUP = "test.catalogue"


def _candidate(name: str, version: str = "1.0") -> Candidate:
    return Candidate(name, f"pkg_{name}:Plugin", GROUP, f"dist-{name}", version)


class SlowDiscovery:
    """A whole scan waits for ``release``; a name's scan answers at once."""

    namespace = GROUP

    def __init__(self) -> None:
        self.installed = {"a": _candidate("a"), "b": _candidate("b")}
        self.release = threading.Event()
        self.whole_scans = 0

    def scan(self) -> list[Candidate]:
        self.whole_scans += 1
        self.release.wait(10)
        return list(self.installed.values())

    def scan_for(self, name: str) -> list[Candidate]:
        found = self.installed.get(name)
        return [] if found is None else [found]

    def load(self, candidate: Candidate) -> Any:
        raise AssertionError("not imported here")

    def top_level_modules(self, candidate: Candidate) -> frozenset[str]:
        return frozenset()


def test_a_names_scan_does_not_wait_for_a_whole_scan_in_progress() -> None:
    discovery = SlowDiscovery()
    catalogue = Catalogue(discovery)
    whole = threading.Thread(target=catalogue.rescan)
    whole.start()
    try:
        time.sleep(0.1)  # the whole scan is in progress
        discovery.installed["a"] = _candidate("a", "2.0")
        started = time.perf_counter()
        catalogue.rescan("a")
        assert time.perf_counter() - started < 2
        found = catalogue.candidate("a")
        assert found is not None and found.version == "2.0"
    finally:
        discovery.release.set()
        whole.join(10)
    assert catalogue.candidate("b") is not None


def test_a_name_not_found_by_its_scan_falls_back_to_a_whole_scan() -> None:
    discovery = SlowDiscovery()
    discovery.release.set()
    catalogue = Catalogue(discovery)
    catalogue.rescan()
    discovery.installed["c"] = _candidate("c")
    catalogue.rescan("c")
    assert discovery.whole_scans == 1  # found by the name's scan alone
    del discovery.installed["b"]
    catalogue.rescan("b")  # gone: only a whole scan can say so
    assert discovery.whole_scans == 2
    assert catalogue.candidate("b") is None
    assert catalogue.installed_names() == ["a", "c"]


def test_whole_scans_asked_for_meanwhile_share_the_next_one() -> None:
    discovery = SlowDiscovery()
    catalogue = Catalogue(discovery)
    first = threading.Thread(target=catalogue.rescan)
    first.start()
    time.sleep(0.1)
    waiting = [threading.Thread(target=catalogue.rescan) for _ in range(5)]
    for thread in waiting:
        thread.start()
    time.sleep(0.1)
    discovery.release.set()
    for thread in [first, *waiting]:
        thread.join(10)
    assert discovery.whole_scans == 2  # the first, and one for the five that asked during it


@pytest.mark.parametrize("name", ["", "  ", ".so", ".SO"])
def test_an_entry_point_without_a_module_name_is_ignored_and_said(
    name: str, caplog: pytest.LogCaptureFixture
) -> None:
    # `= pkg:Plugin` is an entry point importlib.metadata reads, named "": no
    # command or call could name such a module (".so" is "" once matched).
    discovery = SlowDiscovery()
    discovery.installed[name] = Candidate(name, "odd:Plugin", GROUP, "dist-odd", "2.0")
    discovery.release.set()
    catalogue = Catalogue(discovery)
    with caplog.at_level(logging.WARNING, logger="modloader"):
        catalogue.rescan()
    assert catalogue.installed_names() == ["a", "b"]
    assert caplog.messages == [
        f"dist-odd 2.0 publishes an entry point without a module name in '{GROUP}' "
        f"({name!r} = odd:Plugin); it is ignored"
    ]


def test_the_installed_count_counts_each_name_once_conflicting_ones_too() -> None:
    class Twice(SlowDiscovery):
        def scan(self) -> list[Candidate]:
            return [*super().scan(), Candidate("B", "other:Plugin", GROUP, "dist-other", "1.0")]

    discovery = Twice()
    discovery.release.set()
    catalogue = Catalogue(discovery)
    catalogue.rescan()
    assert catalogue.conflict("b") is not None
    assert catalogue.installed_names() == ["a", "b"]
    assert catalogue.installed_count() == 2
    discovery.installed["c"] = _candidate("c")
    catalogue.rescan("c")
    assert catalogue.installed_count() == len(catalogue.installed_names()) == 3
