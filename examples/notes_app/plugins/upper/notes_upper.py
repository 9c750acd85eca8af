"""filter_upper: a notes-app filter (a plain Python module, no hooks)."""

description = "Writes every note in capitals"


def filter_note(text: str) -> str:
    """What notes-app calls for each new note."""
    return text.upper()
