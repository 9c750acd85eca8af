"""One host's module settings: read before ``load()``, swapped atomically on reload.

The lifecycle calls :meth:`SettingsService.prepare` before a module's
``load()`` and :meth:`SettingsService.forget` when it removes one; the reload
operation calls :meth:`SettingsService.apply`.
Modules without ``settings_model`` are skipped on the first attribute
lookup: nothing here imports pydantic until one declares it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from collections.abc import Mapping
from types import ModuleType
from typing import TYPE_CHECKING
from typing import Any

from modloader._names import name_key
from modloader._registry.outcomes import ReloadStatus
from modloader._registry.outcomes import SettingsReload
from modloader._registry.words import headline
from modloader._registry.words import said as words_said
from modloader.errors import ConfigIssue
from modloader.module import ModuleDeclined

if TYPE_CHECKING:
    from modloader._registry.record import ModuleRecord
    from modloader._settings._validate import Resolved

__all__ = ["SettingsService", "env_head", "model_of"]

_log = logging.getLogger("modloader")


def env_head(prefix: str, name: str) -> str:
    """``<PREFIX><MODULE>__``, upper case; each character not a letter or digit becomes ``_``."""
    module = "".join(c if c.isalnum() else "_" for c in name_key(name))
    return f"{prefix}{module}__".upper()


def model_of(obj: Any) -> Any:
    """The module's ``settings_model``, or ``None``."""
    return getattr(obj, "settings_model", None)


def _defined_in(obj: Any) -> str:
    """Where a module's object is defined, as an entry point names it: ``pkg.mod:Class``
    (a Python module: ``pkg.mod``). A bad ``settings_model`` is the module's own code,
    so that is where the issue is said to come from."""
    if isinstance(obj, ModuleType):
        return str(obj.__name__)
    cls = obj if isinstance(obj, type) else type(obj)
    return f"{cls.__module__}:{cls.__qualname__}"


class SettingsService:
    """Reads and holds the settings of one host's modules."""

    def __init__(
        self,
        *,
        env_prefix: str,
        code: Mapping[str, Mapping[str, Any]] | None = None,
        config_dir: str | os.PathLike[str] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.env_prefix = env_prefix
        self.code = {name_key(k): v for k, v in (code or {}).items()}
        self.config_dir = os.fspath(config_dir) if config_dir is not None else None
        self._environ = environ
        #: key -> the settings in force for a running module, with their origins.
        self.applied: dict[str, Resolved] = {}

    @property
    def environ(self) -> Mapping[str, str]:
        return os.environ if self._environ is None else self._environ

    def file_for(self, name: str, obj: Any) -> str | None:
        """The module's settings file: ``settings_file`` or ``<name>.conf`` in the config folder."""
        filename = getattr(obj, "settings_file", None) or f"{name_key(name)}.conf"
        filename = os.path.expanduser(os.fspath(filename))
        if os.path.isabs(filename):
            return filename
        if self.config_dir is None:
            return None
        return os.path.join(self.config_dir, filename)

    def read(self, name: str, obj: Any) -> Resolved:
        """Every source of ``name``'s settings, validated (``obj`` must declare a model)."""
        from modloader._settings._validate import Resolved
        from modloader._settings._validate import resolve
        from modloader._settings.conffile import read_conf_file
        from modloader._settings.model import ModuleSettings

        model = model_of(obj)
        if not (isinstance(model, type) and issubclass(model, ModuleSettings)):
            message = (
                f"'settings_model' must be a subclass of modloader.ModuleSettings, not {model!r}"
            )
            bad = Resolved()
            bad.errors.append(ConfigIssue(_defined_in(obj), 0, "bad-model", message))
            return bad
        path = self.file_for(name, obj)
        return resolve(
            model,
            conf=read_conf_file(path) if path is not None else None,
            env_head=env_head(self.env_prefix, name),
            environ=self.environ,
            code=self.code.get(name_key(name)),
        )

    def in_force(self, name: str) -> Resolved | None:
        """The settings a running module was given (``None``: none yet)."""
        return self.applied.get(name_key(name))

    # -- the registry's call sites -----------------------------------------------------

    def validated_load(self, record: ModuleRecord, load: Any) -> Callable[[Any], Any]:
        """What runs as ``record``'s ``load()`` call: :meth:`prepare`, then ``load`` (``None``:
        it has none). The settings model's validators are the module's code, so they run in
        that call, under its time limit; invalid settings decline the module."""

        def validated(ctx: Any) -> Any:
            try:
                problem = self.prepare(record)
            except BaseException as exc:  # the validators' (the module's code), not load()'s
                said = headline(exc, words_said(exc))
                raise ModuleDeclined(f"invalid settings: validating them raised {said}") from exc
            if problem is not None:
                raise ModuleDeclined(problem)
            return None if load is None else load(ctx)

        return validated

    def prepare(self, record: ModuleRecord) -> str | None:
        """Validate before ``load()``: set ``ctx.settings``, or return why the module declines."""
        if record.settings_model is None or record.ctx is None:
            return None
        name = record.ctx.name
        resolved = self.read(name, record.obj)
        for warning in resolved.warnings:
            _log.warning("%s settings: %s", name, warning)
        if not resolved.ok:
            # The decline's reason carries every issue to the operator (the startup report,
            # `module load`'s output, LoadDeclinedError): logging them here said it twice.
            for issue in resolved.errors:
                _log.debug("%s settings: %s", name, issue)
            return "invalid settings: " + "; ".join(str(issue) for issue in resolved.errors)
        record.ctx._settings = resolved.settings
        self.applied[record.key] = resolved
        return None

    def forget(self, record: ModuleRecord) -> None:
        self.applied.pop(record.key, None)

    def reread(self, record: ModuleRecord) -> tuple[Resolved, bool]:
        """Read a running module's settings again (:meth:`read`), and whether they differ
        from those in force. Both run the module's code (the model's validators, its
        ``__eq__``): this is called as the module's call."""
        assert record.ctx is not None
        resolved = self.read(record.ctx.name, record.obj)
        return resolved, resolved.ok and not (resolved.settings == record.ctx._settings)

    def apply(
        self,
        record: ModuleRecord,
        reread: tuple[Resolved, bool],
        call_reload: Callable[[], bool],
    ) -> SettingsReload:
        """The settings just read (:meth:`reread`): swap them in, call ``reload()``, roll
        back on failure; unchanged, the module is not disturbed."""
        assert record.ctx is not None
        ctx = record.ctx
        resolved, changed = reread
        for warning in resolved.warnings:
            _log.warning("%s settings: %s", record.name, warning)
        if not resolved.ok:
            for issue in resolved.errors:
                _log.error("%s settings: %s", record.name, issue)
            return SettingsReload(record.name, ReloadStatus.INVALID, tuple(resolved.errors))
        old = ctx._settings
        if not changed:
            # DEBUG: the outcome says it (``unchanged``), and the command's output line too.
            _log.debug("%s: settings unchanged; the module is not disturbed", record.name)
            self.applied[record.key] = resolved  # the same values; origins may have moved
            return SettingsReload(record.name, ReloadStatus.UNCHANGED)
        if record.reload_hook is None:
            return SettingsReload(record.name, ReloadStatus.UNSUPPORTED)
        ctx._settings = resolved.settings
        if call_reload():
            self.applied[record.key] = resolved
            return SettingsReload(record.name, ReloadStatus.APPLIED)
        ctx._settings = old
        _log.warning("%s: reload failed; the previous settings are restored", record.name)
        return SettingsReload(record.name, ReloadStatus.ROLLED_BACK)
