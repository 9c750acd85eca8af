"""The merge and validation step on its own: shapes of models and values."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import BaseModel
from pydantic import Field
from pydantic import SecretBytes
from pydantic import SecretStr

from modloader import ModuleSettings
from modloader._settings._validate import effective_values
from modloader._settings._validate import resolve
from modloader._settings.conffile import read_conf_file


class Timers(BaseModel):
    idle_timeout: int = 30
    retries: list[int] = []


class Settings(ModuleSettings):
    max_size: int = 1
    enabled: bool = False
    timers: Timers = Timers()


def run(tmp_path: Path, text: str | None = None, **env: str) -> object:
    path = tmp_path / "m.conf"
    if text is not None:
        path.write_text(text)
    return resolve(Settings, conf=read_conf_file(path), env_head="APP_M__", environ=env, code=None)


def test_dashed_keys_and_asterisk_booleans(tmp_path: Path) -> None:
    out = run(tmp_path, "[general]\nmax-size = 4\nenabled = yes\n[timers]\nidle-timeout = 5\n")
    settings = out.settings  # type: ignore[attr-defined]
    assert (settings.max_size, settings.enabled, settings.timers.idle_timeout) == (4, True, 5)


def test_environment_json_for_a_model_and_commas_for_a_list(tmp_path: Path) -> None:
    out = run(tmp_path, APP_M__TIMERS='{"idle_timeout": 9}', APP_M__TIMERS__RETRIES="1, 2")
    settings = out.settings  # type: ignore[attr-defined]
    assert (settings.timers.idle_timeout, settings.timers.retries) == (9, [1, 2])
    rows = {r["key"]: r["origin"] for r in effective_values(out)}  # type: ignore[arg-type]
    assert rows == {
        "max_size": "default",
        "enabled": "default",
        "timers.idle_timeout": "APP_M__TIMERS",
        "timers.retries": "APP_M__TIMERS__RETRIES",
    }


def test_a_variable_below_a_plain_field_is_a_warning(tmp_path: Path) -> None:
    out = run(tmp_path, APP_M__MAX_SIZE__X="1")
    assert [str(w) for w in out.warnings] == [  # type: ignore[attr-defined]
        "APP_M__MAX_SIZE__X: 'max_size' has no fields; 'x' ignored"
    ]


def test_a_section_given_as_a_value_is_a_type_error_at_its_line(tmp_path: Path) -> None:
    out = run(tmp_path, "[general]\ntimers = 5\n")
    (error,) = out.errors  # type: ignore[attr-defined]
    assert (error.line, error.kind) == (2, "model_type")
    assert error.message.startswith("'timers': Input should be a valid dictionary")


def test_every_error_at_once_in_reading_order(tmp_path: Path) -> None:
    out = run(
        tmp_path, "[general]\nmax_size = big\nenabled = maybe\nnope = 1\n", APP_M__ENABLED="x"
    )
    assert [(e.source.rsplit("/", 1)[-1], e.line) for e in out.errors] == [  # type: ignore[attr-defined]
        ("m.conf", 2),
        ("m.conf", 4),
        ("APP_M__ENABLED", 0),
    ]
    assert out.settings is None  # type: ignore[attr-defined]


class Named:
    settings_model = Settings
    settings_file = "custom/named.conf"

    def load(self, ctx: object) -> None:
        self.settings = ctx.settings  # type: ignore[attr-defined]


def test_a_module_names_its_own_file(tmp_path: Path) -> None:
    from modloader.testing import module_host

    (tmp_path / "custom").mkdir()
    (tmp_path / "custom" / "named.conf").write_text("[general]\nmax_size = 7\n")
    host = module_host({"res_named": Named}, config_dir=tmp_path)
    try:
        assert host.run("module settings res_named").data["settings"][0] == {
            "key": "max_size",
            "value": 7,
            "origin": f"{tmp_path / 'custom' / 'named.conf'}:2",
        }
    finally:
        host.stop()


def test_without_a_config_folder_only_code_environment_and_defaults_count(
    tmp_path: Path,
) -> None:
    from modloader.testing import module_host

    host = module_host({"res_named": Named}, module_settings={"res_named": {"max_size": 2}})
    try:
        data = host.run("module settings res_named").data
        assert data["file"] is None
        assert data["settings"][0]["origin"] == "code"
    finally:
        host.stop()


class Vault(BaseModel):
    passwords: dict[str, SecretStr] = {}


class Secrets(ModuleSettings):
    password: SecretStr = Field(default=SecretStr("x" * 12), min_length=10)
    keys: list[SecretBytes] = []  # noqa: RUF012 - pydantic copies defaults
    vault: Vault = Vault()
    maybe: Annotated[SecretStr | None, "note"] = None
    port: int = 5


def test_a_rejected_secret_is_never_echoed_other_values_are(tmp_path: Path) -> None:
    path = tmp_path / "m.conf"
    path.write_text("[general]\npassword = short-pw\nport = many\n")
    out = resolve(
        Secrets,
        conf=read_conf_file(path),
        env_head="APP_M__",
        environ={"APP_M__KEYS": '["aGVsbG8=", 5]', "APP_M__MAYBE": "[]"},
        code={"vault": {"passwords": {"db": 7}}},
    )
    text = "\n".join(str(e) for e in out.errors)
    for secret in ("short-pw", "aGVsbG8", "got 7", "got 5", "got []"):
        assert secret not in text
    assert "'password': Value should have at least 10 items after validation, not 8\n" in text
    assert "'vault.passwords.db': Input should be a valid string\n" in text
    assert (
        "'port': Input should be a valid integer, unable to parse string as an integer, got "
        + ("'many'")
        in text
    )
    assert len(out.errors) == 4


class Credentials(BaseModel):
    user: str = ""
    password: SecretStr = SecretStr("")


class Peer(BaseModel):
    host: str = ""
    secret: SecretStr | None = None


class Nested(ModuleSettings):
    cred: Credentials = Credentials()
    peers: dict[str, Peer] = {}  # noqa: RUF012 - pydantic copies defaults
    timers: Timers = Timers()


def test_a_model_given_whole_is_not_echoed_when_a_secret_is_in_it(tmp_path: Path) -> None:
    """JSON from the environment, or key=value pairs in a file, give a nested model whole:
    an error about it echoes all of it, the secret inside too, unless it holds none."""
    path = tmp_path / "m.conf"
    path.write_text("[general]\ncred = password=in-the-file\n")
    out = resolve(
        Nested,
        conf=read_conf_file(path),
        env_head="APP_M__",
        environ={
            "APP_M__PEERS": '{"bob": {"secret": "in-the-env"',
            "APP_M__TIMERS": '{"idle_timeout": "soon"',
        },
        code=None,
    )
    text = "\n".join(str(e) for e in out.errors)
    assert "in-the-file" not in text and "in-the-env" not in text
    assert "'cred': Input should be a valid dictionary or instance of Credentials\n" in text + "\n"
    assert 'got \'{"idle_timeout": "soon"\'' in text  # no secret in Timers: shown
    assert len(out.errors) == 3


def test_a_value_holding_bytes_that_are_not_utf8_is_refused_not_shown(tmp_path: Path) -> None:
    path = tmp_path / "m.conf"
    path.write_bytes(b"[general]\n; caf\xe9 in a comment is fine\nport = 2\npassword = p\xe4ss\n")
    out = resolve(Secrets, conf=read_conf_file(path), env_head="APP_M__", environ={}, code=None)
    assert [str(e) for e in out.errors] == [
        f"{path}:4: 'password' holds bytes that are not UTF-8 (save the file as UTF-8)"
    ]
    assert "p\ufffdss" not in str(out.errors)


def test_a_key_holding_bytes_that_are_not_utf8_is_not_shown_either(tmp_path: Path) -> None:
    """Before any section, such a key was quoted (``'hunter\ufffd' is set before any
    section header``): a secret written on the wrong line reached the log."""
    path = tmp_path / "m.conf"
    path.write_bytes(b"hunter\xe9 = x\n[general]\nport = 2\npass\xe9word = y\n")
    out = resolve(Secrets, conf=read_conf_file(path), env_head="APP_M__", environ={}, code=None)
    assert [str(e) for e in out.errors] == [
        f"{path}:1: A line holds bytes that are not UTF-8 (save the file as UTF-8)",
        f"{path}:4: A line holds bytes that are not UTF-8 (save the file as UTF-8)",
    ]
