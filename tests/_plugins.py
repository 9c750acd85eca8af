"""Plugin distributions for end-to-end tests: real ``.dist-info`` folders with generated code.

Every generated module appends one line per event to the file named by the
``ITEST_TRACE`` environment variable (when it is set): ``import NAME`` when
its code is imported, ``load NAME`` when ``load()`` is called (before it
returns), ``unload NAME`` when ``unload()`` is called. ``NAME`` is the
entry point's name as published, whatever spelling the configuration used;
when ``ctx.name`` differs from it, ``load()`` adds ``named NAME CTX_NAME``.
Reading the file back tells what was imported and in which order modules
started and stopped, in this process or in a ``modloader`` subprocess.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["SCENARIOS", "TRACE_VAR", "Plugin", "install", "install_all", "read_trace", "write_conf"]

#: The environment variable naming the trace file.
TRACE_VAR = "ITEST_TRACE"

#: How ``load()`` ends: the statement that closes its body.
_RESULTS = {
    "none": "return None",
    "success": "return LoadResult.SUCCESS",
    "decline": "return LoadResult.DECLINE",
    "declined": "raise ModuleDeclined({reason!r})",
    "raise": "raise RuntimeError({reason!r})",
    "failure": "return LoadResult.FAILURE",
}

#: Ways the plugin's code itself is broken (before ``load()`` is ever reached).
_BROKEN = {
    "import-error": "import itest_no_such_module_anywhere  # noqa: F401\n",
    "system-exit": "raise SystemExit(3)\n",
    "missing-attribute": "",  # the entry point names an attribute the module lacks
}

_TEMPLATE = """\
import os

from modloader import LoadResult
from modloader import ModuleDeclined


def _trace(event, extra=""):
    path = os.environ.get({var!r})
    if path:
        with open(path, "a", encoding="utf-8") as out:
            out.write(event + " " + {name!r} + extra + "\\n")


_trace("import")
{broken}

class Plugin:
{attributes}
    def load(self, ctx):
        _trace("load")
        if ctx.name != {name!r}:
            _trace("named", " " + ctx.name)
{command}        {ending}

    def unload(self, ctx):
        _trace("unload")
"""


@dataclass(frozen=True, slots=True)
class Plugin:
    """One module, published by its own distribution."""

    #: The entry point's name: the module's name.
    name: str
    priority: int | None = None
    requires: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    enhances: tuple[str, ...] = ()
    #: One of ``none``, ``success``, ``decline``, ``declined`` (raises ModuleDeclined),
    #: ``raise`` (RuntimeError), ``failure``.
    result: str = "none"
    #: The decline or exception message for ``declined`` and ``raise``.
    reason: str = "not today"
    description: str | None = None
    support: str | None = None
    #: ``import-error``, ``system-exit`` or ``missing-attribute``; ``None`` for sound code.
    broken: str | None = None
    #: The publishing distribution (default ``<namespace>-<name>``, dots as underscores).
    dist: str | None = None
    version: str = "1.0"
    summary: str | None = None
    #: Words of a console command registered by ``load()``; it prints ``hello from NAME ARGS``.
    command: str | None = None

    def source(self) -> str:
        lines = []
        if self.description is not None:
            lines.append(f"    description = {self.description!r}")
        if self.support is not None:
            lines.append(f"    support_level = {self.support!r}")
        if self.priority is not None:
            lines.append(f"    load_priority = {self.priority!r}")
        for attr, value in (
            ("requires", self.requires),
            ("optional_modules", self.optional),
            ("enhances", self.enhances),
        ):
            if value:
                lines.append(f"    {attr} = {list(value)!r}")
        return _TEMPLATE.format(
            var=TRACE_VAR,
            name=self.name,
            broken=_BROKEN[self.broken] if self.broken else "",
            attributes="\n".join(lines) + "\n" if lines else "",
            ending=_RESULTS[self.result].format(reason=self.reason),
            command=(
                f"        ctx.register_command({self.command!r}, lambda args: "
                f"'hello from {self.name} ' + ' '.join(args))\n"
                if self.command
                else ""
            ),
        )


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def install(add: Callable[..., Any], namespace: str, plugins: Iterable[Plugin]) -> None:
    """Lay one distribution per plugin with ``add`` (``FakeSite.add`` or ``make_distribution``).

    ``add(dist_name, version, entry_points=..., files=..., summary=...)``.
    """
    for plugin in plugins:
        dist = plugin.dist or f"{_slug(namespace)}-{_slug(plugin.name)}"
        module = _slug(dist)
        attr = "Missing" if plugin.broken == "missing-attribute" else "Plugin"
        add(
            dist,
            plugin.version,
            entry_points={namespace: {plugin.name: f"{module}:{attr}"}},
            files={f"{module}.py": plugin.source()},
            summary=plugin.summary,
        )


def write_conf(path: Path, text: str) -> Path:
    """Write a modules.conf (dedented lines, ``[modules]`` added if the text has no section)."""
    lines = [line.strip() for line in text.strip().splitlines()]
    if not any(line.startswith("[") for line in lines):
        lines.insert(0, "[modules]")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def read_trace(path: Path) -> list[str]:
    """The trace file's lines; ``[]`` when nothing wrote it."""
    if not path.exists():
        return []
    return path.read_text(encoding="utf-8").splitlines()


#: The plugin sets of the end-to-end tests, one namespace each.
SCENARIOS: dict[str, tuple[Plugin, ...]] = {
    # Every modules.conf directive; all at the default priority.
    "itest.directives": (
        Plugin("res_a"),
        Plugin("res_b"),
        Plugin("res_listed"),
        Plugin("res_req"),
        Plugin("res_pre"),
        Plugin("res_prereq"),
        Plugin("res_late_noload"),
        Plugin("res_early_noload"),
        Plugin("res_never"),
    ),
    # Priority, config position, autoloaded-by-name, dependencies pulled forward.
    "itest.order": (
        Plugin("base", priority=150),
        Plugin("dep", priority=10, requires=("base",)),
        Plugin("p50", priority=50),
        Plugin("late", priority=200, command="itest hello"),
        Plugin("z_listed"),
        Plugin("m_listed"),
        Plugin("a_auto"),
        Plugin("b_auto"),
    ),
    # Dependencies: missing, noload'ed, cycle, optional, enhances, declined.
    "itest.deps": (
        Plugin("needs_ghost", requires=("ghost",)),
        Plugin("needs_off", requires=("res_off",)),
        Plugin("res_off"),
        Plugin("cyc_a", requires=("cyc_b",)),
        Plugin("cyc_b", requires=("CYC_A.so",)),
        Plugin("opt_user", optional=("opt_present", "opt_absent", "opt_declining")),
        Plugin("opt_present"),
        Plugin("opt_declining", result="decline"),
        Plugin("target"),
        Plugin("zz_enhancer", enhances=("target",)),
        Plugin("a_user", requires=("target",)),
        Plugin("declines", result="declined", reason="no licence"),
        Plugin("child_one", requires=("declines",)),
        Plugin("child_two", requires=("Declines.SO",)),
        Plugin("needs_unlisted", requires=("unlisted",)),
        Plugin("unlisted"),
    ),
    # Every way load() or the import can end.
    "itest.results": (
        Plugin("ok_none"),
        Plugin("ok_success", result="success"),
        Plugin("decl_result", result="decline"),
        Plugin("decl_exc", result="declined", reason="no licence"),
        Plugin("raises", result="raise", reason="boom"),
        Plugin("bad_import", broken="import-error"),
        Plugin("missing_attr", broken="missing-attribute"),
        Plugin("sys_exit", broken="system-exit"),
    ),
    # FAILURE aborts startup; what started is unloaded in reverse.
    "itest.failure": (
        Plugin("first", priority=10),
        Plugin("second", priority=20),
        Plugin("fails", priority=30, result="failure"),
        Plugin("never_reached", priority=40),
    ),
    # The preload phase pulls dependencies forward, whatever their priority.
    "itest.preload": (
        Plugin("needs_lib", requires=("LIB.so",)),
        Plugin("lib", priority=200),
        Plugin("early", priority=1),
        Plugin("broken_pre", broken="import-error"),
    ),
    # A preload entry requiring a module that another module enhances.
    "itest.enhance": (
        Plugin("pre_user", requires=("pre_target",)),
        Plugin("pre_target"),
        Plugin("pre_enhancer", enhances=("PRE_TARGET.so",)),
    ),
    # `module show`: descriptions, summaries, support levels, use counts.
    "itest.show": (
        Plugin("described", description="Shows its own description", support="core"),
        Plugin("summarised", summary="From the distribution summary", support="extended"),
        Plugin("bare"),
        Plugin("refuser", result="declined", reason="not configured", support="deprecated"),
        Plugin("user", requires=("described",), version="2.5"),
        Plugin(
            "wordy",
            description="A description far longer than the forty columns of the table\nand more",
            support="deprecated",
        ),
    ),
    # A summary that an ASCII terminal cannot show.
    "itest.unicode": (Plugin("res_cafe", summary="Caf\u00e9 \u2615 f\u00fcr alle"),),
    # Two distributions publish one name.
    "itest.conflict": (
        Plugin("res_dup", dist="dup-one", version="1.0"),
        Plugin("res_dup", dist="dup-two", version="2.0"),
        Plugin("res_solo"),
    ),
}


def install_all(add: Callable[..., Any], namespaces: Iterable[str] | None = None) -> None:
    """Lay the distributions of every scenario (or of ``namespaces``)."""
    for namespace in namespaces if namespaces is not None else SCENARIOS:
        install(add, namespace, SCENARIOS[namespace])


#: Every directive, both operators, `.so` suffixes and any case; noload before and after load.
DIRECTIVES_CONF = """
load => RES_LISTED.so
require = Res_Req
preload=res_pre
preload-require => res_prereq.SO
load = res_late_noload
noload = res_late_noload
noload = res_early_noload
load = res_early_noload
noload = res_never
noload = res_ghost
"""

#: DIRECTIVES_CONF with MODLOADER_AUTOLOAD=no and MODLOADER_NOLOAD=res_never.
DIRECTIVES_ENV_STARTS = [
    "res_pre",
    "res_prereq",
    "res_listed",
    "res_req",
    "res_late_noload",
    "res_early_noload",
]

#: Explicit entries in config order; the rest autoloaded by name.
ORDER_CONF = """
load = late
load = z_listed
load = m_listed
"""
#: base(150) is pulled before dep(10) which requires it; then by (priority, position).
ORDER_STARTS = ["base", "dep", "p50", "z_listed", "m_listed", "a_auto", "b_auto", "late"]

DEPS_CONF = "noload = res_off"
DEPS_STARTS = [
    "target",
    "zz_enhancer",
    "a_user",
    "declines",
    "unlisted",
    "needs_unlisted",
    "opt_declining",
    "opt_present",
    "opt_user",
]
DEPS_MESSAGES = [
    "cyc_a declined to load.",
    "cyc_a: dependency cycle: cyc_a -> cyc_b -> cyc_a",
    "cyc_b declined to load.",
    "cyc_b: dependency cycle: cyc_a -> cyc_b -> cyc_a",
    "declines declined to load.",
    "declines: no licence",
    "Declined modules which depend on declines: child_one, child_two",
    "needs_ghost declined to load.",
    "Failed to resolve dependencies for needs_ghost: 'ghost' is not installed",
    "needs_off declined to load.",
    "Failed to resolve dependencies for needs_off: 'res_off' is noload'ed",
    "opt_declining declined to load.",
    "opt_declining: load() returned DECLINE",
    "Some non-required modules failed to load.",
]
#: autoload = no leaves `unlisted` out; the enhancer is not listed either.
DEPS_LISTED_CONF = """
autoload = no
load = needs_unlisted
load = a_user
load = target
"""
UNLISTED_MESSAGE = (
    "Failed to resolve dependencies for needs_unlisted: "
    "'unlisted' is not in the load order (autoload is off and it is not listed)"
)

#: Why each module of itest.results is not running (None: running).
RESULTS_ERRORS: dict[str, str | None] = {
    "bad_import": "ModuleNotFoundError: No module named 'itest_no_such_module_anywhere'",
    "decl_exc": "no licence",
    "decl_result": "load() returned DECLINE",
    "missing_attr": (
        "AttributeError: module 'itest_results_missing_attr' has no attribute 'Missing'"
    ),
    "ok_none": None,
    "ok_success": None,
    "raises": "RuntimeError: boom",
    "sys_exit": "SystemExit: 3",
}

#: module show over itest.show, exactly (SPEC 5.1 column widths).
SHOW_TABLE = "\n".join(
    [
        "Module                         Description                              "
        "Use Count  Status      Support Level",
        "bare                           bare                                     "
        "0          Running           unknown",
        "described                      Shows its own description                "
        "1          Running              core",
        "refuser                        refuser                                  "
        "0          Not Running    deprecated",
        "summarised                     From the distribution summary            "
        "0          Running          extended",
        "user                           user                                     "
        "0          Running           unknown",
        "wordy                          A description far longer than the forty  "
        "0          Running        deprecated",
        "6 modules loaded",
    ]
)

#: Logged when a module whose support level is deprecated starts.
DEPRECATED_WARNING = "Module 'wordy' is deprecated and may be removed in a future version."
