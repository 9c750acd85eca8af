"""The base class of a module's settings: :class:`ModuleSettings`."""

from __future__ import annotations

from modloader._pydantic import BaseSettings
from modloader._pydantic import PydanticBaseSettingsSource
from modloader._pydantic import SettingsConfigDict

__all__ = ["ModuleSettings"]


class ModuleSettings(BaseSettings):
    """Subclass this and name the subclass as your module's ``settings_model``.

    Fields are the settings; ``[general]`` of the module's ``.conf`` file sets
    the top-level fields, other sections set fields that are models, and
    sections named by the user go to a ``dict[str, Model]`` field. Instances
    are immutable and unknown keys are refused.

    The host reads the sources itself (code, the environment, the file, the
    defaults) so that every value keeps its origin; constructing an instance
    directly (in a test, say) reads only the values given.
    """

    model_config = SettingsConfigDict(frozen=True, extra="forbid")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The host merges the sources with origins; a direct instance reads only its arguments.
        return (init_settings,)
