"""The garbage collector paused while objects that live as long as the process are made.

Importing the framework and starting a host make many objects and next to no
garbage: each pass of the collector over them finds nothing, and the later
full collections would walk them all again. :class:`CollectorPaused` turns
the collector off; when it resumes, what exists is frozen (:func:`gc.freeze`)
so that later collections skip it. Removing a module thaws it (see
``drop_code``), so that its code can be collected.
"""

from __future__ import annotations

import gc

__all__ = ["CollectorPaused"]


class CollectorPaused:
    """The collector off from :meth:`pause` (or ``with``) until :meth:`resume`.

    Nested pauses are harmless: only the one that found the collector on turns
    it back on. :meth:`resume` may be called early (the ``modloader`` command
    resumes just before its host starts, which pauses again) and more than once.
    """

    __slots__ = ("paused",)

    def __init__(self) -> None:
        self.paused = False

    def pause(self) -> CollectorPaused:
        self.paused = gc.isenabled()
        gc.disable()
        return self

    def resume(self) -> None:
        if self.paused:
            self.paused = False
            gc.freeze()
            gc.enable()

    def __enter__(self) -> CollectorPaused:
        return self.pause()

    def __exit__(self, *exc_info: object) -> None:
        self.resume()
