import pytest
from demo_res_config_reload import CONFIG_VARIABLE
from demo_res_config_reload import ConfigModule
from demo_res_config_reload import Settings
from demo_res_config_reload import module as entry_point_object

from modloader.module import ModuleDeclined
from modloader.module import ReloadResult


@pytest.fixture
def conf(tmp_path, monkeypatch):
    path = tmp_path / "res_config_reload.conf"
    monkeypatch.setenv(CONFIG_VARIABLE, str(path))
    return path


def test_the_entry_point_names_an_instance():
    assert isinstance(entry_point_object, ConfigModule)


def test_a_missing_file_means_the_defaults(conf, make_ctx):
    module = ConfigModule()
    module.load(make_ctx("res_config_reload"))
    assert module.settings == Settings()


def test_reload_picks_up_a_changed_file(conf, make_ctx):
    conf.write_text("greeting = Good morning\ninterval = 30\n")
    module, ctx = ConfigModule(), make_ctx("res_config_reload")
    module.load(ctx)
    assert module.settings == Settings("Good morning", 30)
    conf.write_text("; changed\nGreeting = Good night\n")
    assert module.reload(ctx) is ReloadResult.SUCCESS
    assert module.settings == Settings("Good night", 60)
    assert ctx.run("settings show") == f"file: {conf}\ngreeting: Good night\ninterval: 60"


@pytest.mark.parametrize(
    "text",
    ["colour = red\n", "interval = soon\n", "interval = 0\n"],
    ids=["unknown", "nan", "zero"],
)
def test_a_bad_file_fails_the_reload_and_keeps_the_settings(conf, make_ctx, caplog, text):
    conf.write_text("greeting = Hi\n")
    module, ctx = ConfigModule(), make_ctx("res_config_reload")
    module.load(ctx)
    conf.write_text(text)
    assert module.reload(ctx) is ReloadResult.ERROR
    assert module.settings == Settings("Hi", 60)
    assert str(conf) in caplog.text


def test_a_bad_file_at_load_declines_naming_file_and_line(conf, make_ctx):
    conf.write_text("greeting = Hi\ncolour = red\n")
    with pytest.raises(ModuleDeclined, match=f"^{conf}:2: unknown setting 'colour = red'$"):
        ConfigModule().load(make_ctx("res_config_reload"))
