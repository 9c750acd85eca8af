"""Hooks: app authors declare them, running modules implement them, pluggy calls them.

modloader owns the lifecycle (a module joins the host's plugin manager when it
becomes running and leaves it before its ``unload()`` is called); pluggy owns
the calling (order, ``firstresult``, wrappers, historic hooks). pluggy is
imported only by hosts that declare hooks and by modules that implement them.
"""
