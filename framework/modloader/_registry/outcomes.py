"""What the registry answers: typed facts, never operator text.

The module operations return these on success and raise a
:class:`~modloader.errors.ModuleError` subclass when refused. The console's
wording is made from them in one place (:mod:`modloader._commands.render`).
"""

# Annotations evaluated, not strings: typing.NamedTuple compiles string ones (docs/design.md).

import enum
from collections.abc import Iterable
from typing import TYPE_CHECKING
from typing import Any
from typing import NamedTuple

from modloader._registry.record import labels
from modloader._registry.states import ModuleState
from modloader.errors import ConfigIssue
from modloader.errors import InvalidSettingsError
from modloader.errors import ModuleError
from modloader.errors import ReloadError
from modloader.module import UnloadMode

if TYPE_CHECKING:
    from modloader._registry.record import ModuleRecord

__all__ = [
    "LoadOutcome",
    "ModuleInfo",
    "ModuleSettingsInfo",
    "RefreshOutcome",
    "ReloadOutcome",
    "ReloadStatus",
    "SettingValue",
    "SettingsReload",
    "StartResult",
    "UnloadOutcome",
    "describe",
    "describe_listed",
]

_REMOVED = ModuleState.REMOVED.value


class StartResult(enum.Enum):
    """How starting one module ended (the reason travels beside it)."""

    RUNNING = "running"
    DECLINED = "declined"
    #: A dependency had declined; the reason is that dependency's name.
    DEP_DECLINED = "dep-declined"
    FAILED = "failed"


class LoadOutcome(NamedTuple):
    """``load`` succeeded: :attr:`name` is running."""

    name: str
    #: An entry that had declined to load was removed first.
    replaced_declined: bool = False


class UnloadOutcome(NamedTuple):
    """``unload`` succeeded: :attr:`name` is no longer in the module list."""

    name: str
    mode: UnloadMode = UnloadMode.SOFT
    #: It was not running (it had declined or failed): it was only taken off the list.
    previously_declined: bool = False
    #: The use count a firm or hard unload went on despite (0: none were held).
    forced_use_count: int = 0
    #: Running dependents unloaded first (firm and hard), deepest first.
    dependents_unloaded: tuple[str, ...] = ()
    #: Hard unload only: why ``unload()`` refused although the module was removed anyway.
    removed_despite_refusal: str | None = None


class ReloadStatus(enum.Enum):
    """What a reload did with the settings of a module that declares ``settings_model``."""

    #: The new settings do not validate; the old ones stay, ``reload()`` was not called.
    INVALID = "invalid"
    #: Nothing changed; the module was not disturbed.
    UNCHANGED = "unchanged"
    #: ``reload(ctx)`` ran with the new settings.
    APPLIED = "applied"
    #: ``reload(ctx)`` failed; the old settings were restored.
    ROLLED_BACK = "rolled-back"
    #: The settings changed but the module has no ``reload()``; the old ones stay.
    UNSUPPORTED = "unsupported"


class SettingsReload(NamedTuple):
    """The reload of one module that declares settings: what became of its settings."""

    name: str
    status: ReloadStatus
    #: Why the new settings were refused (``INVALID``), each naming its source.
    errors: tuple[ConfigIssue, ...] = ()

    @property
    def ok(self) -> bool:
        """``True`` when the settings in force are the ones just read."""
        return self.status in (ReloadStatus.UNCHANGED, ReloadStatus.APPLIED)

    def error(self, name: str | None = None) -> ReloadError | None:
        """The error a reload of ``name`` (default :attr:`name`) raises, ``None`` when ok."""
        name = self.name if name is None else name
        if self.status is ReloadStatus.INVALID:
            return InvalidSettingsError(name, self.errors)
        if self.status is ReloadStatus.ROLLED_BACK:
            return ReloadError(name, "failed", settings=self.status)
        if self.status is ReloadStatus.UNSUPPORTED:
            return ReloadError(name, "not-supported", settings=self.status)
        return None


class ReloadOutcome(NamedTuple):
    """``reload`` ran: who reloaded, who did not and why, or that the request was queued."""

    reloaded: tuple[str, ...] = ()
    #: A reload of every module: those whose ``reload()`` failed, or whose new
    #: settings were not applied (they keep running, with the old settings).
    failed: tuple[str, ...] = ()
    #: A reload by name: each name that was not reloaded, as its error, in order.
    refused: tuple[ModuleError, ...] = ()
    #: Startup has not finished: the reload runs when it does.
    queued: bool = False
    #: Modules whose settings had not changed: not disturbed (``reload()`` not called).
    unchanged: tuple[str, ...] = ()
    #: Each module reloaded that declares settings, in order: what became of its settings.
    settings: tuple[SettingsReload, ...] = ()


class RefreshOutcome(NamedTuple):
    """``refresh`` unloaded :attr:`name` and loaded it again with fresh code."""

    name: str
    recursive: bool = False
    #: Recursive only: the running dependents unloaded first, deepest first.
    dependents_unloaded: tuple[UnloadOutcome, ...] = ()
    #: Recursive only: each dependent loaded back, in dependency order, or why it was not.
    dependents_loaded: tuple[LoadOutcome | ModuleError, ...] = ()

    @property
    def ok(self) -> bool:
        """``True`` when every dependent came back too."""
        return not any(isinstance(d, ModuleError) for d in self.dependents_loaded)


class ModuleInfo(NamedTuple):
    """One module of the module list, as ``module show`` knows it (a snapshot).

    :meth:`to_dict` is the ``--json`` form; ``info["name"]`` reads it too.
    """

    # In the order of ``module show``'s columns first: the order of the --json keys.
    name: str
    description: str
    use_count: int
    #: ``Running`` or ``Not Running``, as ``module show`` prints it.
    status: str
    #: The state machine's word: ``pending``, ``running``, ``declined`` ...
    state: str
    support_level: str
    version: str | None
    distribution: str | None
    builtin: bool
    required: bool
    preload: bool
    #: Who holds the references, sorted.
    holders: tuple[str, ...]
    requires: tuple[str, ...]
    optional_modules: tuple[str, ...]
    enhances: tuple[str, ...]
    load_priority: int
    #: Seconds since the epoch when it started running.
    load_time: float | None
    #: Why it is not running (or what a hard unload went on despite).
    last_error: str | None

    @property
    def running(self) -> bool:
        return self.state == "running"

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (``module show --json``); sequences are lists."""
        return {key: _plain(value) for key, value in zip(_KEYS, self, strict=True)}

    def __getitem__(self, key: Any) -> Any:
        """``info["use_count"]``: the :meth:`to_dict` value of ``key`` (an index, as for
        any named tuple, gives the field at that position)."""
        if not isinstance(key, str):
            return tuple.__getitem__(self, key)
        if key not in _KEYS:
            raise KeyError(key)
        return _plain(getattr(self, key))


_KEYS = ModuleInfo._fields


class SettingValue(NamedTuple):
    """One effective value of a module's settings, and where it came from."""

    #: The field's dotted path: ``capacity``, ``limits.low``, ``peers.alice.port``.
    key: str
    #: The value as JSON has it; a secret (``SecretStr``, ``SecretBytes``) masked.
    value: Any
    #: ``default``, ``code``, an environment variable, or ``file:line``.
    origin: str


class ModuleSettingsInfo(NamedTuple):
    """``module settings <name>``: a module's settings, each value with its origin.

    The settings in force for a running module; for one that is not running,
    its sources read and validated now. :meth:`to_dict` is the ``--json`` form.
    """

    name: str
    #: ``False``: the module has no ``settings_model`` (nothing else is set).
    declares_settings: bool
    #: The model's qualified name: ``myapp_store.StoreSettings``.
    model: str | None = None
    #: Its settings file (``None``: the host has no configuration folder).
    file: str | None = None
    #: Its environment variables: ``MYAPP_RES_STORE__*``.
    environment: str | None = None
    #: ``False``: the sources do not validate; ``errors`` says why, and ``values`` is empty.
    valid: bool = True
    values: tuple[SettingValue, ...] = ()
    #: Each problem, naming its source (``file:line``, a variable, ``<code>``).
    errors: tuple[ConfigIssue, ...] = ()
    #: What was ignored (an environment variable naming no setting ...).
    warnings: tuple[ConfigIssue, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (``module settings --json``)."""
        data: dict[str, Any] = {
            "module": self.name,
            "declares_settings": self.declares_settings,
            "valid": self.valid,
        }
        if self.declares_settings:
            data.update(model=self.model, file=self.file, environment=self.environment)
        data["settings"] = [value._asdict() for value in self.values]
        data["errors"] = [str(issue) for issue in self.errors]
        data["warnings"] = [str(issue) for issue in self.warnings]
        return data


def _plain(value: Any) -> Any:
    """A field as JSON has it: a sequence is a list."""
    return list(value) if isinstance(value, tuple) else value


def describe_listed(records: Iterable["ModuleRecord"]) -> list[ModuleInfo]:
    """Snapshots of ``records`` still in the module list: reads take no lock, so one
    removed meanwhile (its state ``removed``) is left out."""
    return [info for info in map(describe, records) if info.state != _REMOVED]


def describe(record: "ModuleRecord") -> ModuleInfo:
    """A snapshot of one record, as :class:`ModuleInfo`."""
    return ModuleInfo(
        name=record.name,
        status=record.state.status,
        state=record.state.value,
        use_count=record.use_count,
        holders=tuple(labels(list(record.holders.values()))),
        description=record.shown_description,
        support_level=record.support_level,
        version=record.version,
        distribution=record.dist_name,
        builtin=record.builtin,
        required=record.required,
        preload=record.preload,
        requires=record.requires,
        optional_modules=record.optional_modules,
        enhances=record.enhances,
        load_priority=record.load_priority,
        load_time=record.load_time,
        last_error=record.error,
    )
