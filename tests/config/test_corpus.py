"""Every real modules.conf of the corpus gives exactly what its expected/NNN.json says."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from modloader._config import read_modules_conf
from tests.conftest import shared_dir

_SHARED = shared_dir()
CORPUS = _SHARED / "corpus" / "modules-conf" if _SHARED is not None else None
FILES = sorted(CORPUS.glob("[0-9][0-9][0-9].conf")) if CORPUS and CORPUS.is_dir() else []


def _observed(path: Path) -> dict[str, Any]:
    parsed = read_modules_conf(path)
    return {
        "autoload": parsed.autoload,
        "entries": [
            {"name": e.name, "required": e.required, "preload": e.preload} for e in parsed.entries
        ],
        "noload": list(parsed.noload),
        "errors": [{"line": i.line, "kind": i.kind} for i in parsed.errors],
        "warnings": [{"line": i.line, "kind": i.kind} for i in parsed.warnings],
    }


@pytest.mark.skipif(not FILES, reason="the shared corpus (corpus/modules-conf) is not available")
def test_corpus_is_complete() -> None:
    assert len(FILES) == 40


@pytest.mark.skipif(not FILES, reason="the shared corpus (corpus/modules-conf) is not available")
@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_corpus_file(path: Path) -> None:
    expected = json.loads((path.parent / "expected" / f"{path.stem}.json").read_text("utf-8"))
    assert _observed(path) == expected


@pytest.mark.skipif(not FILES, reason="the shared corpus (corpus/modules-conf) is not available")
@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_corpus_errors_name_the_file(path: Path) -> None:
    parsed = read_modules_conf(path)
    for issue in (*parsed.errors, *parsed.warnings):
        assert issue.source == str(path)
        assert str(issue).startswith(f"{path}:{issue.line}: ")
