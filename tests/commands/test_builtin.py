"""The module operations' structured results: the typed outcome, or the error's facts.

What ``--json``, ``-rx --json`` (and so Ansible) and ``host.run(...).data`` read:
before, a failed ``module unload`` said only ``{"ok": false, "lines": [...]}``, and
why it failed (in use, and by whom; refused; not installed) was in the text alone.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile

import pytest

from modloader import Host
from modloader import ModulesConfig
from modloader import StaticDiscovery
from modloader._cli import main


class Store:
    description = "A store"


class Echo:
    requires = ("res_store",)  # a reference on res_store while it runs


class Refuses:
    def unload(self, ctx):
        return False


@pytest.fixture
def host():
    mods = {"res_store": Store, "app_echo": Echo, "res_refuses": Refuses}
    h = Host("ns", discovery=StaticDiscovery("ns", mods), config=ModulesConfig())
    h.start()
    yield h
    h.stop()


def data(host: Host, line: str) -> dict:
    result = host.run(line)
    assert json.loads(json.dumps(result.data)) == result.data  # JSON values only
    return result.data


def test_an_unload_refused_by_the_use_count_says_who_holds_it(host):
    got = data(host, "module unload res_store")
    assert (got["ok"], got["error"], got["outcomes"]) == (False, "in-use", [])
    assert got["message"] == "Soft unload failed, 'res_store' has use count 1 (held by app_echo)"
    assert got["facts"]["name"] == "res_store"
    assert (got["facts"]["use_count"], got["facts"]["holders"]) == (1, ["app_echo"])


def test_a_firm_unload_of_several_names_gives_each_outcome(host):
    got = data(host, "module unload -f res_store res_refuses")
    assert got["ok"] is False and got["error"] == "unload-refused"
    [store] = got["outcomes"]  # left to right, stopping at the first failure
    assert store["name"] == "res_store" and store["mode"] == "firm"
    assert (store["forced_use_count"], store["dependents_unloaded"]) == (1, ["app_echo"])
    assert got["facts"]["refused_by"] == "res_refuses"
    assert got["facts"]["reason"] == "unload() returned False"


def test_load_gives_its_outcome_or_why_not(host):
    host.unload("app_echo")
    assert data(host, "module load app_echo")["outcome"] == {
        "name": "app_echo",
        "replaced_declined": False,
    }
    got = data(host, "module load res_stor")
    assert got["outcome"] is None and got["error"] == "not-installed"
    assert got["facts"]["suggestions"] == ["res_store"]


def test_refresh_and_reload_give_their_outcomes(host):
    got = data(host, "module refresh res_store recursively")
    assert got["ok"] is True and got["outcome"]["recursive"] is True
    assert [d["name"] for d in got["outcome"]["dependents_unloaded"]] == ["app_echo"]
    assert got["outcome"]["dependents_loaded"] == [{"name": "app_echo", "replaced_declined": False}]
    got = data(host, "module reload res_nothing")
    assert got["ok"] is False
    assert [r["error"] for r in got["outcome"]["refused"]] == ["no-such-module"]


def test_a_command_that_fails_says_its_code_message_and_facts(host):
    got = data(host, "modul show")
    assert got["error"] == "no-such-command"
    assert got["facts"]["possibilities"][0] == "module show"
    assert data(host, "module unload")["error"] == "usage"


def test_rx_json_carries_the_facts_over_the_socket(host, capsys):
    folder = tempfile.mkdtemp(prefix="mlb-", dir="/tmp")  # short: socket paths are limited
    try:
        with host.serve(os.path.join(folder, "h.sock")) as served:
            status = main(["-s", served.path, "-rx", "module unload res_store", "--json"])
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    assert status == 1
    reply = json.loads(capsys.readouterr().out)
    assert reply["data"]["error"] == "in-use"
    assert reply["data"]["facts"]["holders"] == ["app_echo"]


class _Unshowable:
    def __str__(self) -> str:
        raise RuntimeError("no")

    def to_dict(self, wanted: str) -> dict:  # another library's, wanting an argument
        return {}


def test_a_modules_own_error_with_odd_facts_still_fails_cleanly():
    """A careless module raises an error carrying a cycle and objects that cannot be
    shown: the command fails with its message, the facts that can be shown, and a
    placeholder for the rest."""
    from modloader.errors import CommandError

    class OddError(CommandError):
        pass

    def handler(args):
        error = OddError("it went wrong")
        cycle: list = []
        cycle.append(cycle)
        error.cycle, error.odd, error.fine = cycle, _Unshowable(), ("a", 1)
        raise error

    class Odd:
        def load(self, ctx):
            ctx.register_command("odd", handler, summary="odd")

    host = Host("ns", discovery=StaticDiscovery("ns", {"res_odd": Odd}), config=ModulesConfig())
    host.start()
    try:
        result = host.run("odd")
    finally:
        host.stop()
    assert not result.ok and result.output.startswith("it went wrong")
    facts = json.loads(json.dumps(result.data))["facts"]
    assert facts["fine"] == ["a", 1]
    assert facts["cycle"] == "<list that cannot be shown>"
    assert facts["odd"] == "<_Unshowable object>"
