"""notes-app: a notes application whose storage and filters are modloader modules.

Modules are found in the ``notes_app.modules`` entry-point group. See
:mod:`notes_app.app` for what the application asks of them.
"""

from notes_app.app import NAMESPACE
from notes_app.app import NotesApp

__all__ = ["NAMESPACE", "NotesApp"]
