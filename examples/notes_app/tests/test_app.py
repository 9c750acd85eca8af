"""notes-app in process: its plugins published from their own pyproject.toml, no pip run."""

from __future__ import annotations

import os
from collections.abc import Callable
from collections.abc import Iterator
from pathlib import Path

import pytest
from notes_app import NotesApp

from modloader import StartupError
from modloader.pytest_plugin import FakeSite

HERE = Path(__file__).resolve().parents[1]
PLUGINS = [HERE / "plugins" / "sqlite", HERE / "plugins" / "upper"]

StartT = Callable[..., NotesApp]


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No user configuration and no NOTES_APP_* variable leaks in."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config-home"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data-home"))
    for name in [n for n in os.environ if n.startswith("NOTES_APP_")]:
        monkeypatch.delenv(name)


@pytest.fixture
def start(fake_distributions: FakeSite, tmp_path: Path) -> Iterator[StartT]:
    """``start(conf_lines=None)``: a started app (``None``: the shipped modules.conf)."""
    for project in PLUGINS:
        fake_distributions.add_project(project)
    apps: list[NotesApp] = []

    def factory(conf: str | None = None) -> NotesApp:
        config = None
        if conf is not None:
            config = tmp_path / "modules.conf"
            config.write_text(f"[modules]\n{conf}\n")
        app = NotesApp(config=str(config) if config else None, data_dir=tmp_path / "data")
        apps.append(app)
        app.start()
        return app

    yield factory
    for app in apps:
        app.stop()


def test_notes_go_through_the_filter_into_the_store(start: StartT, tmp_path: Path) -> None:
    host = start().host
    assert host.get_module("res_notes_sqlite")["holders"] == ["notes store"]
    assert host.run("notes add buy milk").output == "note 1 added"
    assert host.run("module unload filter_upper").ok
    assert host.run("notes add call Ada").output == "note 2 added"
    assert host.run("notes list").output == "   1  BUY MILK\n   2  call Ada\n2 notes"
    refused = host.run("module unload res_notes_sqlite")
    assert "has use count 1 (held by notes store)" in refused.output
    assert (tmp_path / "data" / "notes.sqlite3").is_file()


def test_a_filter_loaded_at_run_time_joins_the_hot_path(
    start: StartT, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOTES_APP_NOLOAD", "filter_upper")
    app = start()
    assert app.filters == []
    assert app.host.run("module load filter_upper").ok
    assert app.filters == ["filter_upper"]
    assert app.host.run("notes add hi").ok
    assert app.notes() == [(1, "HI")]


def test_without_a_preloaded_backend_it_does_not_start(start: StartT) -> None:
    with pytest.raises(StartupError, match="no storage backend is running; preload one"):
        start("load = res_notes_sqlite")


def test_stop_closes_the_store_and_unloads_everything(start: StartT) -> None:
    app = start()
    store = app.store
    assert store is not None
    app.stop()
    assert getattr(store, "closed", False)
    assert app.host.list_modules() == []


def test_module_show_hooks_lists_the_filters_and_the_backend(start: StartT) -> None:
    lines = start().host.run("module show hooks").output.splitlines()
    assert lines[1].split() == ["filter_note", "filter_upper"]
    assert lines[2].split() == ["open_store", "firstresult", "res_notes_sqlite"]
