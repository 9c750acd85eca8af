"""The results page, rendered from a run's JSON: the targets and their verdicts, the tables, a plot.

:func:`write` puts ``benchmarks.md`` (included by ``docs/benchmarks.md``) and,
when matplotlib is installed, ``startup.svg`` (startup time against plugin
count) in a folder.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.hooks import CALLS
from benchmarks.hooks import MODULES
from benchmarks.runtime import CONSOLE_FLOOR
from benchmarks.timing import ratios
from benchmarks.timing import spread

__all__ = ["render", "write"]

#: The sides drawn in the plot, in the legend's order, with their legend.
PLOTTED = {
    "modloader": 'modloader -x "module show"',
    "stevedore": "stevedore ExtensionManager",
    "importlib": "importlib.metadata",
    "pluggy": "pluggy",
    "floor": "import by name (floor)",
}


@dataclass(frozen=True)
class Target:
    figure: str
    #: The figure must be at most this (``None``: reported only).
    limit: float | None
    #: Median, min and max, or an error message, or ``None`` when not measured.
    value: dict[str, float] | str | None
    unit: str = "x"


def _seconds(size: dict[str, Any], key: str) -> list[float]:
    return [s for s, _ in size["samples"].get(key, [])]


def _rss(size: dict[str, Any], key: str) -> list[float]:
    return [float(r) for _, r in size["samples"].get(key, [])]


def _ratio(size: dict[str, Any] | None, a: str, b: str, rss: bool = False) -> Any:
    if size is None:
        return None
    for key in (a, b):
        if key in size["errors"]:
            return f"{key}: {size['errors'][key]}"
        if key not in size["samples"]:
            return None
    pick = _rss if rss else _seconds
    return ratios(pick(size, a), pick(size, b))


def _first_ms(operations: dict[str, Any], label: str) -> Any:
    op = operations.get(label)
    if op is None or "error" in op:
        return None if op is None else op["error"]
    return {k: v * 1e3 for k, v in spread(op["first"]).items()}


def _paired(measured: dict[str, Any], a: str, b: str) -> Any:
    """The paired ratio of an interleaved measurement's subjects ``a`` and ``b``."""
    if "error" in measured or measured.get("errors"):
        return str(measured.get("error") or measured["errors"])
    if "samples" not in measured:
        return None
    return ratios(measured["samples"][a], measured["samples"][b])


def targets(results: dict[str, Any]) -> list[Target]:
    """The figures the project holds itself to, with this run's values."""
    sizes = {size["label"]: size for size in results["sizes"]}
    rt = results.get("runtime", {})
    ops = rt.get("operations", {})
    n = f"{rt.get('modules', 0):,}"
    remote = rt.get("remote", {})
    use = rt.get("use", {})
    hooks = rt.get("hooks", {})
    rows = [
        Target(
            "warm startup / stevedore, M", 0.9, _ratio(sizes.get("M"), "modloader", "stevedore")
        ),
        Target(
            "warm startup / stevedore, L", 0.9, _ratio(sizes.get("L"), "modloader", "stevedore")
        ),
        Target(
            "warm startup / stevedore, 5,000 plugins",
            1.0,
            _ratio(sizes.get("5000"), "modloader", "stevedore"),
        ),
        Target(
            "warm startup / importing the plugins by name (the floor), L",
            1.6,
            _ratio(sizes.get("L"), "modloader", "floor"),
        ),
        Target(
            "cold startup / stevedore cold, L",
            1.5,
            _ratio(sizes.get("L"), "modloader-cold", "stevedore-cold"),
        ),
        Target(
            "cold startup / stevedore cold, M",
            None,
            _ratio(sizes.get("M"), "modloader-cold", "stevedore-cold"),
        ),
        Target(
            "peak memory / stevedore, L",
            1.1,
            _ratio(sizes.get("L"), "modloader", "stevedore", rss=True),
        ),
        Target(
            f"first `module unload` of one module among {n}",
            5.0,
            _first_ms(ops, "module unload of one module"),
            "ms",
        ),
        Target(
            f"first `module load` of a newly installed module, {n} running",
            5.0,
            _first_ms(ops, "module load of a newly installed module"),
            "ms",
        ),
        Target(
            f"first `module show` over the socket, {n} modules",
            5.0,
            _first_ms(ops, "module show"),
            "ms",
        ),
        Target(
            f'`modloader -rx "module show"` / `python -c "import re, sys"`, {n} modules',
            1.5,
            _paired(remote, "modloader -rx", "console floor"),
        ),
        Target(  # the stricter floor: pip 26's console script imports sys only
            f'`modloader -rx "module show"` / `python -c pass`, {n} modules',
            1.5,
            _paired(remote, "modloader -rx", "interpreter"),
        ),
        Target(
            "`use()` + release / `threading.Lock` acquire + release",
            2.0,
            _paired(use, "use", "lock"),
        ),
        *(
            Target(
                f"`host.hook` call over {MODULES} modules / bare pluggy, {what}",
                1.5,
                _paired(hooks, f"host.hook {key}", f"pluggy {key}"),
            )
            for key, what in CALLS.items()
        ),
    ]
    return rows


def _fmt(value: dict[str, float], unit: str) -> str:
    show = _digits if unit == "ms" else "{:.2f}".format
    text = f"{show(value['median'])} ({show(value['min'])} to {show(value['max'])})"
    return text + (" ms" if unit == "ms" else "")


def _verdict(target: Target) -> str:
    if target.value is None:
        return "not measured"
    if isinstance(target.value, str):
        return "error"
    if target.limit is None:
        return "reported"
    return "met" if target.value["median"] <= target.limit else "**not met**"


def _targets_table(results: dict[str, Any]) -> list[str]:
    lines = [
        "| figure | target | this run: median (min to max) | verdict |",
        "|---|---:|---|---|",
    ]
    for t in targets(results):
        limit = (
            "reported" if t.limit is None else f"≤ {t.limit:g}" + (" ms" if t.unit == "ms" else "")
        )
        if t.value is None:
            shown = ""
        elif isinstance(t.value, str):
            shown = f"error: {t.value}"
        else:
            shown = _fmt(t.value, t.unit)
        lines.append(f"| {t.figure} | {limit} | {shown} | {_verdict(t)} |")
    return lines


def _ms(values: Sequence[float]) -> str:
    """Median, min and max in milliseconds, as three table cells."""
    return " | ".join(_digits(v * 1e3) for v in spread(values).values())


def _digits(value: float) -> str:
    return f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def _startup(results: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    for size in results["sizes"]:
        rounds = len(next(iter(size["samples"].values()), []))
        lines += [
            f"### {size['plugins']:,} plugins among {size['dists']:,} distributions"
            + (f" ({size['label']})" if not size["label"].isdigit() else ""),
            "",
            f"{rounds} rounds, from a load average of {size.get('load', 0):.2f}. The ratio is "
            "modloader's sample over the other side's in the same round: median (min to max).",
            "",
            "| side | median ms | min ms | max ms | peak RSS MiB | modloader / side |",
            "|---|---:|---:|---:|---:|---|",
        ]
        for key, label in results["sides"].items():
            if key in size["errors"]:
                lines.append(f"| {label} | error: {size['errors'][key]} | | | | |")
                continue
            if key not in size["samples"]:
                continue
            ref = "modloader-cold" if key.endswith("-cold") else "modloader"
            pair = _ratio(size, ref, key) if key != ref else None
            shown = _fmt(pair, "x") if isinstance(pair, dict) else ""
            rss = spread(_rss(size, key))["median"] / 1024
            lines.append(f"| {label} | {_ms(_seconds(size, key))} | {rss:.1f} | {shown} |")
        lines.append("")
    return lines


def _runtime(results: dict[str, Any]) -> list[str]:
    rt = results.get("runtime")
    if rt is None:
        return []
    lines = [
        f"### Run-time operations, {rt['modules']:,} running modules",
        "",
        f"Over the control socket of a `modloader` host process, timed by the client. Each "
        f"operation on {rt['hosts']} freshly started host(s): its first call, then the warm ones.",
        "",
        "| operation | first call: median ms | min | max | warm: median ms | min | max |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for label, op in rt["operations"].items():
        if "error" in op:
            lines.append(f"| {label} | error: {op['error']} | | | | | |")
        else:
            lines.append(f"| {label} | {_ms(op['first'])} | {_ms(op['warm'])} |")
    remote = rt["remote"]
    lines += ["", "**Whole processes against that host**", ""]
    if "error" in remote:
        lines += [f"Error: {remote['error']}", ""]
    else:
        lines += [
            f"Paired and interleaved; the reply to `module show` is {remote['reply_bytes']:,} "
            "bytes.",
            "",
            "| command | median ms | min ms | max ms |",
            "|---|---:|---:|---:|",
            *(
                f"| {label} | {_ms(remote['samples'][key])} |"
                for key, label in (
                    ("modloader -rx", '`modloader -rx "module show"`'),
                    ("console floor", f'`python -c "{CONSOLE_FLOOR}"` (the console-script floor)'),
                    ("interpreter", "`python -c pass` (the interpreter alone)"),
                )
                if key in remote["samples"]
            ),
            "",
        ]
    use = rt["use"]
    lines += ["**`use()` in process**", ""]
    if "error" in use or use["errors"]:
        lines += [f"Error: {use.get('error') or use['errors']}", ""]
    else:
        lines += [
            "| operation | median ns | min ns | max ns |",
            "|---|---:|---:|---:|",
        ]
        for key, label in (
            ("use", "`with host.use(name):` (acquire + release)"),
            ("lock", "`with threading.Lock():` (acquire + release)"),
        ):
            s = spread(use["samples"][key])
            lines.append(
                f"| {label} | {s['median'] * 1e9:.0f} | {s['min'] * 1e9:.0f} | "
                f"{s['max'] * 1e9:.0f} |"
            )
        lines.append("")
    return lines + _hooks(rt.get("hooks"))


def _hooks(hooks: dict[str, Any] | None) -> list[str]:
    if hooks is None:
        return []
    lines = [f"**A hook call over {MODULES} modules**", ""]
    if "error" in hooks or hooks["errors"]:
        return [*lines, f"Error: {hooks.get('error') or hooks['errors']}", ""]
    lines += [
        "| call | `host.hook`: median µs | bare pluggy: median µs | paired ratio: median |",
        "|---|---:|---:|---:|",
    ]
    for key, what in CALLS.items():
        ours, theirs = hooks["samples"][f"host.hook {key}"], hooks["samples"][f"pluggy {key}"]
        lines.append(
            f"| {what} | {spread(ours)['median'] * 1e6:.2f} | "
            f"{spread(theirs)['median'] * 1e6:.2f} | {ratios(ours, theirs)['median']:.2f} |"
        )
    return [*lines, ""]


def render(results: dict[str, Any], plot: str | None) -> str:
    """The page's Markdown (``plot``: the plot's file name next to it, if drawn)."""
    lines = [
        f"Measured by `python -m benchmarks` ({results['mode']} run) on {results['date']}.",
        "",
        "| machine | |",
        "|---|---|",
        *(f"| {k} | {v} |" for k, v in results["machine"].items()),
        "",
        "### Targets",
        "",
        *_targets_table(results),
        "",
    ]
    if plot is not None:
        lines += [
            f"![Warm startup time and peak memory against plugin count, one line per side]({plot})",
            "",
        ]
    lines += _startup(results) + _runtime(results)
    return "\n".join(lines).rstrip() + "\n"


def plot(results: dict[str, Any], path: Path) -> bool:
    """Draw warm startup time and peak memory against plugin count as SVG.

    :returns: ``False`` (nothing drawn) when matplotlib is not installed.
    """
    try:
        import matplotlib

        matplotlib.use("svg")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import FuncFormatter
    except ImportError:
        return False
    matplotlib.rcParams["svg.hashsalt"] = "modloader-benchmarks"  # stable ids between runs
    matplotlib.rcParams["svg.fonttype"] = "none"  # text as text: small, and diffable
    sizes = sorted(results["sizes"], key=lambda size: size["plugins"])
    plain = FuncFormatter(lambda value, _: f"{value:,.0f}")
    # Between powers of ten, only 2 and 5 are labelled.
    sparse = FuncFormatter(lambda value, _: f"{value:,.0f}" if f"{value:.0e}"[0] in "25" else "")
    fig, (time_ax, rss_ax) = plt.subplots(1, 2, figsize=(10, 4.2))
    panels = (
        (time_ax, _seconds, 1e3, "log", "warm startup, whole process (median ms)"),
        (rss_ax, _rss, 1 / 1024, "linear", "peak resident memory (median MiB)"),
    )
    for ax, pick, scale, yscale, ylabel in panels:
        for key, name in PLOTTED.items():
            points = [
                (size["plugins"], spread(pick(size, key))["median"] * scale)
                for size in sizes
                if size["samples"].get(key)
            ]
            if points:
                xs, ys = zip(*points, strict=True)
                ax.plot(xs, ys, marker="o", label=name)
        ax.set_xscale("log")
        ax.set_yscale(yscale)
        ax.set_xticks([size["plugins"] for size in sizes])
        ax.xaxis.set_major_formatter(plain)
        ax.xaxis.set_minor_formatter(FuncFormatter(lambda *_: ""))
        if yscale == "log":
            ax.yaxis.set_major_formatter(plain)
            ax.yaxis.set_minor_formatter(sparse)
        ax.tick_params(axis="x", labelrotation=45)
        ax.set_xlabel("plugins in the group")
        ax.set_ylabel(ylabel)
        ax.grid(True, which="both", alpha=0.3)
    time_ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, format="svg", metadata={"Date": None})
    plt.close(fig)
    return True


def write(results: dict[str, Any], folder: Path) -> list[Path]:
    """Write ``benchmarks.md`` and, if it can be drawn, ``startup.svg`` into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    svg = folder / "startup.svg"
    drawn = plot(results, svg)
    page = folder / "benchmarks.md"
    page.write_text(render(results, svg.name if drawn else None))
    return [page, svg] if drawn else [page]
