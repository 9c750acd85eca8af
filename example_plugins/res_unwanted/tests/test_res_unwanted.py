"""res_unwanted: kept out by ``noload`` and never imported; ``module load`` starts it anyway."""

import logging
import sys
from pathlib import Path

from modloader.module import SupportLevel
from modloader.testing import check_lifecycle

PROJECT = Path(__file__).resolve().parents[1]


def test_noload_keeps_it_out_unimported_until_asked(fake_distributions, modloader_host, caplog):
    # The published distribution, alone in a namespace of its own, autoloaded but noload'ed.
    fake_distributions.add_project(PROJECT, groups={"modloader.demo": "unwanted.tests"})
    sys.modules.pop("demo_res_unwanted", None)
    host = modloader_host(namespace="unwanted.tests", noload=["res_unwanted"])
    assert all(row["name"] != "res_unwanted" for row in host.list_modules())
    assert "demo_res_unwanted" not in sys.modules
    with caplog.at_level(logging.WARNING):
        result = host.run("module load res_unwanted")
    assert (result.ok, result.output) == (True, "Loaded res_unwanted")
    assert "the demo's modules.conf normally noloads it" in caplog.text
    assert "Module 'res_unwanted' is deprecated" in caplog.text
    row = host.get_module("res_unwanted")
    assert row["support_level"] == SupportLevel.DEPRECATED.value
    check_lifecycle(host, "res_unwanted")
