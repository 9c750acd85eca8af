import logging

from demo_res_unwanted import UnwantedModule

from modloader.module import SupportLevel


def test_loads_when_asked_and_says_so(make_ctx, caplog):
    ctx = make_ctx("res_unwanted")
    with caplog.at_level(logging.WARNING, logger="modloader.module.res_unwanted"):
        assert UnwantedModule().load(ctx) is None
    assert "loaded on request" in caplog.text
    assert UnwantedModule.support_level is SupportLevel.DEPRECATED
