"""func_plain: a module with no hooks at all.

The entry point names this Python module (``demo_func_plain``). It defines no
``load``, ``unload`` or ``reload`` and imports nothing from modloader: loading
it imports it, and it is running. Only ``description`` is set; without it,
``module show`` would print the distribution's summary. Other modules reach
:func:`shout` through ``ctx.use("func_plain").obj``.
"""

description = "Text functions for other modules (no hooks)"


def shout(text: str) -> str:
    """``text`` in capitals, with an exclamation mark."""
    return text.upper() + "!"
