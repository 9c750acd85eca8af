"""Implementations are checked against their specs before load(); a bad one declines its module."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from modloader import Host
from modloader import StartupError
from tests.hooks.conftest import HookSite

HostFactory = Callable[..., Host]

UNKNOWN_ARGUMENT = """
class Module:
    @hookimpl
    def filter_note(self, text, colour):
        return text

    def load(self, ctx):
        CALLS.append("load " + NAME)
"""

UNDECLARED_HOOK = """
class Module:
    @hookimpl
    def filter_notes_plural(self, text):
        return text
"""


def test_an_unknown_argument_declines_with_pluggys_reason(
    hook_site: HookSite, app_host: HostFactory
) -> None:
    hook_site.add("res_bad", UNKNOWN_ARGUMENT)
    hook_site.add("res_good")
    host = app_host()
    row = host.get_module("res_bad")
    assert row["status"] == "Not Running"
    assert row["last_error"].startswith("hook implementation refused: Plugin 'res_bad'")
    assert "Argument(s) {'colour'} are declared in the hookimpl" in row["last_error"]
    assert hook_site.specs.CALLS == []  # its load() was never called
    assert host.hook.filter_note(text="n") == ["n|res_good"]
    assert host.report is not None
    assert any("res_bad" in line for line in host.report.lines)


def test_module_load_of_a_bad_implementation_fails_and_says_why(
    hook_site: HookSite, app_host: HostFactory
) -> None:
    host = app_host(noload=["res_bad"])
    hook_site.add("res_bad", UNKNOWN_ARGUMENT)
    result = host.run("module load res_bad")
    assert not result.ok
    assert "res_bad: hook implementation refused" in result.output
    assert "Unable to load module res_bad" in result.output
    assert host.get_module("res_bad")["use_count"] == 0


def test_a_hook_without_spec_is_accepted_unless_strict(
    hook_site: HookSite, app_host: HostFactory
) -> None:
    hook_site.add("res_extra", UNDECLARED_HOOK)
    host = app_host()
    assert host.is_running("res_extra")
    shown = host.run("module show hooks like plural").output.splitlines()
    assert shown[1].split() == ["filter_notes_plural", "undeclared", "res_extra"]
    assert shown[-1] == "0 hooks declared, 1 undeclared"  # counted as declared before
    footer = host.run("module show hooks").output.splitlines()[-1]
    assert footer == "4 hooks declared, 1 undeclared"


def test_strict_checking_declines_a_hook_without_spec(
    hook_site: HookSite, app_host: HostFactory
) -> None:
    hook_site.add("res_extra", UNDECLARED_HOOK)
    hook_site.add(
        "res_optional",
        """
        class Module:
            @hookimpl(optionalhook=True)
            def some_other_apps_hook(self):
                return 1
        """,
    )
    hook_site.add(
        "res_two",
        """
        class Module:
            @hookimpl
            def zeta(self):
                return 1

            @hookimpl(optionalhook=True)
            def maybe(self):
                return 2

            @hookimpl
            def alpha(self):
                return 3
        """,
    )
    host = app_host(strict_hooks=True)
    error = host.get_module("res_extra")["last_error"]
    # The hook's name, not the object's repr (its memory address is noise in a log).
    assert error == "hook implementation refused: unknown hook 'filter_notes_plural'"
    two = host.get_module("res_two")["last_error"]
    assert two == "hook implementation refused: unknown hooks 'alpha', 'zeta'"
    assert host.is_running("res_optional")


def test_a_required_module_with_a_bad_implementation_aborts_startup(
    hook_site: HookSite, app_host: HostFactory
) -> None:
    hook_site.add("res_bad", UNKNOWN_ARGUMENT)
    with pytest.raises(StartupError, match="Failed to load required module res_bad"):
        app_host(require=["res_bad"])


def test_a_dependency_reference_taken_before_the_check_is_given_back(
    hook_site: HookSite, app_host: HostFactory
) -> None:
    hook_site.add("res_base")
    hook_site.add(
        "res_bad",
        UNKNOWN_ARGUMENT.replace("class Module:", "class Module:\n    requires = ['res_base']"),
    )
    host = app_host()
    assert not host.is_running("res_bad")
    assert host.get_module("res_base")["holders"] == []


def test_a_spec_set_without_specs_is_refused_at_construction(hook_site: HookSite) -> None:
    class Nothing:
        pass

    with pytest.raises(ValueError, match="did not find any 'modloader' hooks"):
        Host("x", hookspecs=[Nothing])


def test_one_spec_class_instead_of_a_list_is_a_clear_error(hook_site: HookSite) -> None:
    specs = hook_site.specs.AppSpecs
    with pytest.raises(TypeError, match=r"hookspecs takes a list .*: hookspecs=\[AppSpecs\]"):
        Host("x", hookspecs=specs)


@pytest.mark.parametrize("given", ["AppSpecs", b"AppSpecs", 42])
def test_hookspecs_that_are_not_a_list_are_a_clear_error(given: object) -> None:
    with pytest.raises(TypeError, match=r"hookspecs takes a list of classes or modules, not "):
        Host("x", hookspecs=given)  # type: ignore[arg-type]


#: A module object whose properties are code that must never run behind its back.
PROPERTIES = """
class Module:
    @property
    def exploding(self):
        CALLS.append("property read")
        raise SystemExit(3)

    @property
    def filter_note(self):
        CALLS.append("property read")
        raise KeyboardInterrupt

    @hookimpl
    def app_ready(self, app):
        CALLS.append("ready " + app)
"""


def test_the_hook_check_and_registration_never_read_a_modules_properties(
    hook_site: HookSite, app_host: HostFactory
) -> None:
    # pluggy reads implementations statically (1.7 and later: the floor modloader asks
    # for); an older one ran every property of the object, under the loader's lock.
    hook_site.add("res_props", PROPERTIES)
    host = app_host()
    assert host.is_running("res_props")
    host.hook.app_ready.call_historic(kwargs={"app": "a"})
    assert host.run("module refresh res_props").ok
    assert hook_site.specs.CALLS == ["ready a", "ready a"]
    assert host.hook.filter_note(text="n") == []
