"""func_plain in a real host: a plain Python module with no hooks at all."""

from pathlib import Path

import demo_func_plain

from modloader.testing import check_lifecycle

PROJECT = Path(__file__).resolve().parents[1]


def test_has_no_hooks_only_a_description():
    assert not any(hasattr(demo_func_plain, hook) for hook in ("load", "unload", "reload"))
    assert demo_func_plain.description == "Text functions for other modules (no hooks)"


def test_shout():
    assert demo_func_plain.shout("hello") == "HELLO!"


class Shouter:
    """Stands in for a module that reaches func_plain through a reference."""

    requires = ("func_plain",)

    def load(self, ctx):
        with ctx.use("func_plain") as plain:
            ctx.register_command("shout", lambda args: plain.obj.shout(" ".join(args)))


def test_running_once_imported_and_reachable_through_use(modloader_host):
    host = modloader_host({"func_plain": demo_func_plain, "app_shouter": Shouter})
    row = host.get_module("func_plain")
    assert (row["status"], row["description"]) == ("Running", demo_func_plain.description)
    assert host.run("shout hi there").output == "HI THERE!"


def test_the_published_module_loads_and_unloads_cleanly(fake_distributions, modloader_host):
    fake_distributions.add_project(PROJECT)
    host = modloader_host(namespace="modloader.demo", load=["func_plain"], autoload=False)
    assert host.get_module("func_plain")["distribution"] == "modloader-demo-func-plain"
    report = check_lifecycle(host, "func_plain")
    assert report.reloaded is None
    assert report.dropped_modules == ["demo_func_plain"]
