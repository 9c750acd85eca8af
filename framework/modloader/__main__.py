"""``python -m modloader``: the ``modloader`` command."""

from modloader._cli import main

raise SystemExit(main())
