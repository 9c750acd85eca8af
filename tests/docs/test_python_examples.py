"""Every ```python block of docs/*.md compiles, imports what exists, and runs or quotes its source.

A block runs unless it is an excerpt of a repository file (checked against the
file) or is marked ``% example: fragment`` (compiled and its imports checked
only). A block that defines a module (a docstring starting ``NAME: ``) is saved
as ``NAME.py`` for the page's later blocks; a block of ``test_`` functions runs
under pytest with the modloader plugin, as a reader's would.
"""

import ast
import importlib
import re
import subprocess
import sys

import pytest

from tests.docs._examples import REPO
from tests.docs._examples import Example
from tests.docs._examples import examples
from tests.docs._examples import excerpt_source

PYTHON = examples("python")
#: Python blocks that are neither run nor checked against a source: keep this short.
MAX_FRAGMENTS = 12


def by_id(found):
    return pytest.mark.parametrize("example", found, ids=[e.id for e in found])


def test_the_docs_have_python_examples_and_few_fragments():
    assert len(PYTHON) > 15
    fragments = [e.id for e in PYTHON if e.mark == "fragment"]
    assert len(fragments) <= MAX_FRAGMENTS, fragments
    assert {e.mark for e in PYTHON} <= {None, "fragment"}


@by_id(PYTHON)
def test_compiles_and_imports_only_what_exists(example: Example):
    tree = ast.parse(example.text, filename=example.id)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("modloader"):
            module = importlib.import_module(node.module)
            for alias in node.names:
                assert hasattr(module, alias.name), f"{example.id}: {node.module}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("modloader"):
                    importlib.import_module(alias.name)


@by_id([e for e in PYTHON if e.mark is None and e.text.startswith("# ")])
def test_an_excerpt_names_its_file_and_what_it_quotes_is_there(example: Example):
    named = re.match(r"#\s*([\w./-]+\.py)\b", example.text)
    assert named, f"{example.id}: a first-line comment should name the file it quotes"
    source = excerpt_source(example)
    if source is None:  # shortened or simplified: its definitions must still be there
        text = (REPO / named.group(1)).read_text()
        defined = re.findall(r"^\s*(?:def|class) (\w+)", example.text, re.MULTILINE)
        missing = [name for name in defined if not re.search(rf"(def|class) {name}\b", text)]
        assert not missing, f"{example.id}: {named.group(1)} has no {missing}"


def runnable():
    return [
        e
        for e in PYTHON
        if e.mark is None and not e.text.startswith("# ") and excerpt_source(e) is None
    ]


@pytest.mark.parametrize(
    "page", sorted({e.page for e in runnable()}), ids=lambda page: page.removesuffix(".md")
)
def test_runs_as_written(page, tmp_path):
    tests = []
    for example in [e for e in runnable() if e.page == page]:
        module = re.match(r'"""(\w+): ', example.text)
        if module:
            (tmp_path / f"{module.group(1)}.py").write_text(example.text)
        elif re.search(r"^def test_", example.text, re.MULTILINE):
            path = tmp_path / f"test_example_{example.line}.py"
            path.write_text(example.text)
            tests.append(path.name)
        else:
            script = tmp_path / f"example_{example.line}.py"
            script.write_text(example.text)
            done = run([sys.executable, str(script)], tmp_path)
            assert done.returncode == 0, f"{example.id}:\n{done.stdout}{done.stderr}"
    if tests:
        done = run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests], tmp_path
        )
        assert done.returncode == 0, f"{page}:\n{done.stdout}{done.stderr}"


def run(command, cwd):
    return subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def test_every_public_method_of_host_is_in_the_api_reference():
    # autodoc leaves out a member without a docstring: the reference would not name it.
    import modloader

    members = vars(modloader.Host).items()
    public = [(name, value) for name, value in members if not name.startswith("_")]
    assert len(public) > 10
    assert [name for name, value in public if not getattr(value, "__doc__", None)] == []


def test_the_embedding_page_gives_hosts_signature_as_it_is():
    import inspect

    import modloader

    page = (REPO / "docs" / "embedding.md").read_text(encoding="utf-8")
    written = re.search(r"^\| `(Host\(namespace, \*, [^`]*\))` \|", page, re.MULTILINE)
    assert written is not None
    actual = []
    for name, param in inspect.signature(modloader.Host).parameters.items():
        if param.kind is param.KEYWORD_ONLY:
            default = param.default
            actual.append(f"{name}={default!r}".replace("'", '"'))
        elif name != "self":
            actual.append(name)
    assert written.group(1) == "Host(" + ", ".join([actual[0], "*", *actual[1:]]) + ")"
