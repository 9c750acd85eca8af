"""Which installed entry-point groups hold modules, and a hint for a namespace that holds none.

Read only when asked: by shell completion (``modloader --complete namespaces``)
and by a startup that found no module at all. Never on the warm startup path.
"""

from __future__ import annotations

__all__ = ["empty_namespace_message", "module_namespaces"]

#: Entry-point groups a plugin distribution may also publish in, never a namespace.
_TOOL_GROUPS = frozenset({"console_scripts", "gui_scripts", "pytest11"})


def module_namespaces() -> list[str]:
    """Installed entry-point groups that look like module namespaces, sorted.

    A group is one when it is named ``*.modules`` (the convention) or a
    distribution that publishes in it requires modloader (as plugins do).
    """
    import importlib.metadata
    import re

    found = set()
    for dist in importlib.metadata.distributions():
        requires = dist.requires or []
        plugin = any(re.match(r"modloader\b(?![-_.])", req.lower()) for req in requires)
        for ep in dist.entry_points:
            if ep.group.endswith(".modules") or (plugin and ep.group not in _TOOL_GROUPS):
                found.add(ep.group)
    return sorted(found)


def empty_namespace_message(namespace: str) -> str:
    """What to tell an operator whose host found no module in ``namespace``.

    Names the installed namespaces that look like it first, then the others
    that hold modules.
    """
    import difflib

    others = [n for n in module_namespaces() if n != namespace]
    close = difflib.get_close_matches(namespace, others, n=3, cutoff=0.6)
    rest = [n for n in others if n not in close]
    message = f"No module was found in the namespace '{namespace}'."
    if close:
        message += " Did you mean " + " or ".join(f"'{n}'" for n in close) + "?"
    if rest:
        shown = ", ".join(f"'{n}'" for n in rest[:8]) + (", ..." if len(rest) > 8 else "")
        which = "Other installed" if close else "Installed"
        message += f" {which} namespaces with modules: {shown}."
    if not others:
        message += " No installed distribution publishes modules in any namespace."
    return message
