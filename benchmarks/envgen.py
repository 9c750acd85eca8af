"""Synthetic environments: N plugin distributions among M installed distributions.

Each distribution is what an installer leaves behind: a ``NAME-VERSION.dist-info``
folder (METADATA with a long description, WHEEL, RECORD, INSTALLER,
top_level.txt and, for many, entry_points.txt) next to a tiny package. Plugins
publish in :data:`GROUP`; the other distributions carry entry points of other
groups (console_scripts, pytest11, flake8.extension, ...) as a real environment
does. Some plugins require others, through the ``requires`` attribute of the
class their entry point names.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "GROUP",
    "SIZES",
    "Env",
    "Size",
    "ensure_env",
    "install_plugin",
    "leaves",
    "remove_plugin",
    "settle",
]

#: The namespace the plugins publish in.
GROUP = "bench.modules"
#: Bump when the layout changes, so that environments are made again.
_LAYOUT = 2

_OTHER_GROUPS = (
    "console_scripts",
    "pytest11",
    "flake8.extension",
    "sphinx.builders",
    "babel.extractors",
    "gui_scripts",
)
_DESCRIPTION = "\n".join(
    f"Paragraph {i}: this distribution does something useful for somebody." for i in range(60)
)


@dataclass(frozen=True)
class Size:
    """An environment size: ``plugins`` of ``dists`` distributions publish in the group."""

    label: str
    plugins: int
    dists: int


#: The named sizes S, M and L, and the points of the scaling run between them and past L.
SIZES = {
    size.label: size
    for size in (
        Size("S", 20, 100),
        Size("100", 100, 400),
        Size("M", 200, 700),
        Size("500", 500, 1200),
        Size("L", 1000, 2000),
        Size("2000", 2000, 3500),
        Size("5000", 5000, 7000),
    )
}


@dataclass(frozen=True)
class Env:
    """A generated environment."""

    size: Size
    root: Path

    @property
    def site(self) -> Path:
        return self.root / "site"

    @property
    def modules_conf(self) -> Path:
        return self.root / "modules.conf"

    @property
    def plugin_modules(self) -> Path:
        """One plugin module name per line (for the no-discovery floor)."""
        return self.root / "plugin_modules.txt"


def ensure_env(size: Size, base: Path) -> Env:
    """The environment of ``size`` under ``base``, made if missing or out of date."""
    env = Env(size, base / f"env-{size.label}")
    stamp = env.root / "stamp.json"
    want = {"layout": _LAYOUT, "plugins": size.plugins, "dists": size.dists}
    try:
        if json.loads(stamp.read_text()) == want:
            return env
    except (OSError, ValueError):
        pass
    if env.root.exists():
        shutil.rmtree(env.root)
    env.site.mkdir(parents=True)
    modules = []
    for index in range(size.dists):
        if index < size.plugins:
            modules.append(_write_plugin(env.site, index))
        else:
            _write_other(env.site, index)
    env.plugin_modules.write_text("\n".join(modules) + "\n")
    env.modules_conf.write_text("[modules]\nautoload = yes\n")
    stamp.write_text(json.dumps(want))
    return env


def leaves(size: Size) -> list[str]:
    """Names of plugins that no other plugin requires, in order."""
    return [f"plug_{i:04d}" for i in range(size.plugins) if i % 5 == 4]


def install_plugin(site: Path, index: int) -> str:
    """Install a new plugin distribution ``fresh_NNNN`` into ``site``; return its module name."""
    return _write_plugin(site, index, "fresh")


def remove_plugin(site: Path, index: int) -> None:
    """Remove what :func:`install_plugin` installed, if it is there."""
    module = f"bench_fresh_{index:04d}"
    shutil.rmtree(site / module, ignore_errors=True)
    shutil.rmtree(site / f"{module}-1.0.0.dist-info", ignore_errors=True)


def settle(env: Env, margin: float = 3.5) -> None:
    """Wait until the newest file is older than the scan cache's racy window."""
    newest = max(p.stat().st_ctime for p in (env.root / "stamp.json", env.plugin_modules, env.site))
    time.sleep(max(0.0, newest + margin - time.time()))


def _write_plugin(site: Path, index: int, stem: str = "plug") -> str:
    module = f"bench_{stem}_{index:04d}"
    requires = []
    if stem == "plug" and index % 5 == 4:  # every fifth depends on the one or two before
        requires.append(f"plug_{index - 1:04d}")
        if index % 10 == 9:
            requires.append(f"plug_{index - 2:04d}")
    source = (
        f'"""Synthetic plugin {index}."""\n\n\n'
        "class Module:\n"
        f"    description = 'benchmark plugin {index}'\n"
        f"    requires = {requires!r}\n\n"
        "    def load(self, ctx):\n"
        "        return None\n\n"
        "    def unload(self, ctx):\n"
        "        return None\n"
    )
    eps = f"[{GROUP}]\n{stem}_{index:04d} = {module}:Module\n"
    if index % 3 == 0:
        eps += f"\n[console_scripts]\n{stem}-{index:04d} = {module}:main\n"
    _write_dist(site, f"bench-{stem}-{index:04d}", module, source, eps)
    return module


def _write_other(site: Path, index: int) -> None:
    module = f"bench_other_{index:04d}"
    eps = ""
    if index % 5 in (0, 1):  # about 40% of real distributions publish entry points
        groups = [_OTHER_GROUPS[index % len(_OTHER_GROUPS)], "console_scripts"]
        for group in dict.fromkeys(groups):
            eps += f"[{group}]\n"
            eps += "".join(f"other-{index:04d}-{k} = {module}:run{k}\n" for k in range(2))
            eps += "\n"
    _write_dist(site, f"bench-other-{index:04d}", module, '"""Filler."""\n', eps)


def _write_dist(site: Path, name: str, module: str, source: str, eps: str) -> None:
    version = "1.0.0"
    pkg = site / module
    pkg.mkdir()
    (pkg / "__init__.py").write_text(source)
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    files = {
        "METADATA": (
            "Metadata-Version: 2.1\n"
            f"Name: {name}\n"
            f"Version: {version}\n"
            f"Summary: The {name} distribution\n"
            "Requires-Python: >=3.11\n"
            "License: MIT\n"
            "Description-Content-Type: text/markdown\n"
            "\n" + _DESCRIPTION + "\n"
        ),
        "WHEEL": (
            "Wheel-Version: 1.0\nGenerator: envgen\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
        "INSTALLER": "pip\n",
        "top_level.txt": f"{module}\n",
    }
    if eps:
        files["entry_points.txt"] = eps
    for fname, text in files.items():
        (info / fname).write_text(text)
    record = [f"{module}/__init__.py,,"] + [f"{info.name}/{f},," for f in files]
    record.append(f"{info.name}/RECORD,,")
    (info / "RECORD").write_text("\n".join(record) + "\n")


if __name__ == "__main__":
    import sys

    where = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("benchmarks/results/envs")
    for size in SIZES.values():
        made = ensure_env(size, where)
        print(f"{size.label}: {made.site} ({size.plugins} of {size.dists})", file=sys.stderr)
        os.sync()
