"""filter_upper: a notes-app filter (a plain Python module implementing one hook)."""

from __future__ import annotations

from typing import Any

from modloader import hookimpl

description = "Writes every note in capitals"


@hookimpl
def filter_note(note: Any) -> None:
    """notes-app calls this for each new note, before storing it."""
    note.text = note.text.upper()
