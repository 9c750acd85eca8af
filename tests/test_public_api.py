"""The public API is what ``modloader.__all__`` and the public modules' ``__all__`` say."""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

import pytest

#: Modules whose names users import; ``modloader`` re-exports the common ones.
PUBLIC_MODULES = ["modloader", "modloader.demo", "modloader.errors", "modloader.module"]


@pytest.fixture(params=PUBLIC_MODULES, ids=PUBLIC_MODULES)
def public_module(request: pytest.FixtureRequest) -> ModuleType:
    return importlib.import_module(request.param)


def test_all_is_sorted(public_module):
    names = list(public_module.__all__)
    assert names == sorted(names)


def test_all_has_no_duplicates(public_module):
    names = list(public_module.__all__)
    assert len(set(names)) == len(names)


def test_every_name_in_all_is_importable(public_module):
    missing = []
    for name in public_module.__all__:
        namespace: dict[str, object] = {}
        try:
            exec(f"from {public_module.__name__} import {name}", namespace)  # noqa: S102
        except ImportError:
            missing.append(name)
    assert missing == []


def test_all_names_no_private_name(public_module):
    # Dunder names (``__version__``) are public by convention; ``_x`` names are not.
    private = [n for n in public_module.__all__ if n.startswith("_") and not n.startswith("__")]
    assert private == []


#: The public names of ``modloader``: adding or removing one is a decision, made here.
EXPECTED = {
    "hookimpl",
    "hookspec",
    "load_config",
    "main",
    "AccessDeniedError",
    "AsyncControlSocket",
    "AsyncHost",
    "BuiltinModuleError",
    "Candidate",
    "CheckReport",
    "CommandError",
    "CommandResult",
    "ConfigError",
    "ConfigIssue",
    "ConnectError",
    "ControlSocket",
    "ControlError",
    "DependencyError",
    "Discovery",
    "DiscoveryError",
    "EventKind",
    "Host",
    "HookImplInfo",
    "HookInfo",
    "HostState",
    "HostStateError",
    "HostStoppingError",
    "InvalidSettingsError",
    "InvalidTransitionError",
    "LoadDeclinedError",
    "LoadOutcome",
    "LoadPriority",
    "LoadResult",
    "ModLoaderError",
    "Module",
    "ModuleAlreadyRunningError",
    "ModuleBusyError",
    "ModuleContext",
    "ModuleDeclined",
    "ModuleEntry",
    "ModuleError",
    "ModuleEvent",
    "ModuleHandle",
    "ModuleInUseError",
    "ModuleInfo",
    "ModuleNotInstalledError",
    "ModuleNotRunningError",
    "ModuleSettings",
    "ModuleSettingsInfo",
    "ModuleTimeoutError",
    "ModuleState",
    "ModulesConfig",
    "NameConflictError",
    "NoSuchCommandError",
    "NoSuchModuleError",
    "ProtocolError",
    "RefreshOutcome",
    "RemoteHost",
    "ReloadError",
    "ReloadOutcome",
    "ReloadResult",
    "ReloadStatus",
    "SettingValue",
    "SettingsReload",
    "SocketInUseError",
    "StaleHandleError",
    "StartupError",
    "StartupReport",
    "StaticDiscovery",
    "SupportLevel",
    "UnloadMode",
    "UnloadOutcome",
    "UnloadRefusedError",
    "UsageError",
    "__version__",
}


def test_the_public_names_are_pinned():
    import modloader

    assert set(modloader.__all__) == EXPECTED


def test_type_checking_imports_match_the_lazy_table():
    import ast

    import modloader

    tree = ast.parse(Path(modloader.__file__).read_text(encoding="utf-8"))
    block = next(n for n in tree.body if isinstance(n, ast.If) and "TYPE_CHECKING" in ast.dump(n))
    static = {
        alias.name: node.module
        for node in block.body
        if isinstance(node, ast.ImportFrom) and node.module != "typing"
        for alias in node.names
    }
    assert static == modloader._LAZY


def test_the_public_modules_names_are_all_in_modloader():
    import modloader
    from modloader import errors
    from modloader import module

    assert set(errors.__all__) | set(module.__all__) <= set(modloader.__all__)


def test_every_error_defined_in_errors_is_in_its_all():
    """An error left out of ``errors.__all__`` was missing from the API reference
    (``automodule`` documents ``__all__``): ModuleBusyError and ModuleTimeoutError were."""
    from modloader import errors

    defined = {
        name
        for name, value in vars(errors).items()
        if isinstance(value, type) and value.__module__ == errors.__name__
    }
    assert defined == set(errors.__all__)


def test_error_codes_are_unique():
    from modloader import errors

    classes = [getattr(errors, n) for n in errors.__all__]
    codes = {}
    for cls in classes:
        if isinstance(cls, type) and issubclass(cls, errors.ModLoaderError):
            assert cls.code not in codes, f"{cls.__name__} and {codes.get(cls.code)} share a code"
            codes[cls.code] = cls.__name__
    assert len(codes) == len([c for c in classes if hasattr(c, "code")])


def test_the_package_imports_cheaply():
    import subprocess
    import sys

    code = (
        "import sys, modloader; "
        "heavy = [m for m in ('typing', 'pydantic', 'stevedore') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == ""  # none of typing, pydantic, stevedore


def test_every_error_is_raised_somewhere():
    from modloader import errors

    source = "\n".join(
        path.read_text(encoding="utf-8")
        for path in Path(errors.__file__).parent.rglob("*.py")
        if path.name != "errors.py"
    )
    classes = [getattr(errors, n) for n in errors.__all__]
    bases = {base for cls in classes if isinstance(cls, type) for base in cls.__mro__[1:]}
    never = [
        cls.__name__
        for cls in classes
        if isinstance(cls, type)
        and issubclass(cls, errors.ModLoaderError)
        and cls not in bases
        and f"{cls.__name__}(" not in source
    ]
    assert never == []
