"""The public markers: :data:`modloader.hookspec` and :data:`modloader.hookimpl`.

Every host uses the one project name ``modloader``, so a publisher imports the
markers from modloader itself whatever the app: a hook is matched to its
specification by name, and a host that asks for strict checking refuses
implementations of hooks it does not declare.
"""

from __future__ import annotations

import pluggy

__all__ = ["PROJECT_NAME", "hookimpl", "hookspec"]

#: The pluggy project name shared by every modloader host.
PROJECT_NAME = "modloader"

#: Marks a hook specification on a class or module the host passes as ``hookspecs=``.
hookspec = pluggy.HookspecMarker(PROJECT_NAME)

#: Marks a module's hook implementation (a method of its object, or a function of its module).
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)
