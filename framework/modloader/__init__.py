"""modloader: Asterisk's module loader for Python."""
