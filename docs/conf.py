"""Sphinx configuration: Markdown pages (MyST), the API from docstrings, no network.

Build with ``nox -s docs``, which fails on any warning (``-W -n``).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from modloader import __version__

if TYPE_CHECKING:
    from sphinx.application import Sphinx

project = "modloader"
author = "The modloader developers"
copyright = f"%Y, {author}"
version = release = __version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.viewcode",
    "sphinxcontrib.mermaid",
]
source_suffix = {".md": "markdown"}
exclude_patterns = ["_build"]
root_doc = "index"

# MyST: ::: fences for directives, definition lists, and #anchors on headings
# down to ### so pages can link to each other's sections.
myst_enable_extensions = ["colon_fence", "deflist", "fieldlist"]
myst_heading_anchors = 3

# The API reference: members in source order, types shown in the signature.
autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_member_order = "bysource"
autodoc_typehints = "signature"

# Every cross-reference must resolve. With no intersphinx (the docs build offline),
# targets in the standard library cannot; neither can names the public API shows
# but documents elsewhere.
nitpicky = True
nitpick_ignore_regex = [
    ("py:class", r"(collections\.abc|enum|logging|pathlib|typing|os)\.\w+"),
    ("py:class", r"(Sequence|Callable|Mapping|Iterable|Iterator|ClassVar)"),
    ("py:class", r"(modloader\._\w+(\.\w+)*\.)?(ModuleContext|ModuleHandle|Discovery|LoaderPort)"),
    ("py:class", r"list\[tuple\[int"),  # autodoc splits list[tuple[int, str]] at the comma
    ("py:class", r"dict\[str"),  # and dict[str, Any] too
    ("py:class", r"Mapping\[str"),  # and Mapping[str, Mapping[str, Any]]
    ("py:func", r"sys\.\w+"),  # the standard library, without intersphinx
    ("py:class", r"(stevedore\.extension\.)?ExtensionManager"),  # stevedore's, no intersphinx
    ("py:class", r"modloader\._control\.unix\.ControlServer"),  # ControlSocket's private server
    ("py:(class|obj)", r"modloader\._registry\.refs\.T"),  # ModuleHandle's type variable
    # ControlSocket's constructor takes the private server; users get one from Host.serve().
    ("py:class", r"(modloader\._control\.unix\.)?ControlServer"),
    ("py:class", r"(types\.)?ModuleType|pluggy\.\w+"),  # pluggy documents its own classes
    # Instance attributes of the errors, set in __init__ without a ``#:`` comment
    # (autodoc documents only commented ones); drop each once it has one.
    ("py:attr", r"(output|issues|name|possibilities)"),
    # ModuleSettings' signature is pydantic-settings' own (BaseSettings.__init__).
    ("py:class", r"(pydantic_settings\.[\w.]+|PydanticBaseSettingsSource|CliSettingsSource)"),
    ("py:class", r"(EnvPrefixTarget|DotenvType|PathType)"),
    ("py:(class|obj)", r"modloader\._registry\.context\.SettingsT"),
]

# The benchmark tables are generated as a document of their own and included in a
# section of benchmarks.md, so their headings start below the top level.
suppress_warnings = ["myst.header"]

# Mermaid diagrams are kept as text and drawn by the reader's browser; the man
# page shows their source.
mermaid_output_format = "raw"

# `man modloader`: the operator's pages, built with ``sphinx-build -b man``.
man_pages = [
    (
        "operators-console",
        "modloader",
        "run a modloader host, or talk to a running one",
        [author],
        1,
    ),
]
man_show_urls = False

html_theme = "furo"
html_title = f"modloader {release}"
html_static_path: list[str] = []

#: The toctree of ``index.md`` may name pages that are not written yet; they are
#: left out until they exist. A page that exists but is in no toctree still fails
#: the build, so a misspelt entry is caught.
_TOCTREE = re.compile(r"^(```\{toctree\}\n)(.*?)(^```$)", re.MULTILINE | re.DOTALL)


def _leave_out_unwritten_pages(app: Sphinx, docname: str, source: list[str]) -> None:
    if docname != root_doc:
        return

    def keep(entry: str) -> bool:
        name = entry.strip()
        return not name or name.startswith(":") or name in app.env.found_docs

    def filter_toctree(match: re.Match[str]) -> str:
        lines = match.group(2).splitlines(keepends=True)
        return match.group(1) + "".join(line for line in lines if keep(line)) + match.group(3)

    source[0] = _TOCTREE.sub(filter_toctree, source[0])


#: Public modules with a section of their own in ``api.md``. What ``modloader``
#: re-exports from them is documented there, not twice.
_DOCUMENTED_APART = frozenset({"modloader.module", "modloader.errors"})
#: The module ``automodule`` is documenting now (its docstring comes before its members).
_documenting: list[str] = [""]


def _note_module(
    app: Sphinx, what: str, name: str, obj: object, options: object, lines: list[str]
) -> None:
    if what == "module":
        _documenting[0] = name
    elif _FIELD_ALIAS.fullmatch(" ".join(lines).strip()):
        lines.clear()  # a named tuple's field: its ``#:`` comment, else nothing


#: The docstring :mod:`collections` gives a named tuple's field that has none of its own.
_FIELD_ALIAS = re.compile(r"Alias for field number \d+")


def _skip_reexport(
    app: Sphinx, what: str, name: str, obj: object, skip: bool, options: object
) -> bool | None:
    home = getattr(obj, "__module__", None)
    if what == "module" and home in _DOCUMENTED_APART and home != _documenting[0]:
        return True
    return None


def setup(app: Sphinx) -> None:
    app.connect("source-read", _leave_out_unwritten_pages)
    app.connect("autodoc-process-docstring", _note_module)
    app.connect("autodoc-skip-member", _skip_reexport)
