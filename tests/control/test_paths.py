import os
import stat

import pytest

from modloader._control.paths import MAX_SOCKET_PATH_BYTES
from modloader._control.paths import default_socket_path
from modloader._control.paths import prepare_socket_folder
from modloader._control.unix import ControlServer
from modloader.errors import ControlError


def test_default_path_under_xdg_runtime_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    assert default_socket_path("myapp.modules") == str(
        tmp_path / "modloader" / "myapp.modules.sock"
    )


@pytest.mark.parametrize("runtime", [None, "", "relative/dir", "/no/such/folder"], ids=str)
def test_default_path_falls_back_to_a_per_user_temp_folder(monkeypatch, tmp_path, runtime):
    if runtime is None:
        monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    else:
        monkeypatch.setenv("XDG_RUNTIME_DIR", runtime)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    expected = tmp_path / f"modloader-{os.geteuid()}" / "modloader.modules.sock"
    assert default_socket_path("modloader.modules") == str(expected)


def test_default_path_without_tmpdir_is_under_tmp(monkeypatch):
    for var in ("XDG_RUNTIME_DIR", "TMPDIR", "TEMP", "TMP"):
        monkeypatch.delenv(var, raising=False)
    assert default_socket_path("a.b") == f"/tmp/modloader-{os.geteuid()}/a.b.sock"


@pytest.mark.parametrize(
    ("namespace", "name"),
    [
        ("../../etc/x", "_.._etc_x.sock"),
        ("my app/mods", "my_app_mods.sock"),
        ("", "modloader.sock"),
    ],
    ids=["traversal", "blanks-and-slash", "empty"],
)
def test_namespace_becomes_one_safe_file_name(monkeypatch, tmp_path, namespace, name):
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    assert default_socket_path(namespace) == str(tmp_path / "modloader" / name)


def test_missing_folder_is_created_owner_only_whatever_the_umask(short_tmp):
    old = os.umask(0)
    try:
        prepare_socket_folder(str(short_tmp / "a" / "b" / "x.sock"), private=True)
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(short_tmp / "a" / "b").st_mode) == 0o700


@pytest.mark.parametrize("mode", [0o770, 0o707, 0o777], ids=oct)
def test_private_folder_writable_by_others_is_refused(short_tmp, mode):
    folder = short_tmp / "ctl"
    folder.mkdir()
    folder.chmod(mode)
    with pytest.raises(ControlError, match="others may write to it"):
        prepare_socket_folder(str(folder / "x.sock"), private=True)


def test_private_folder_that_is_a_symlink_is_refused(short_tmp):
    (short_tmp / "real").mkdir(mode=0o700)
    (short_tmp / "link").symlink_to(short_tmp / "real")
    with pytest.raises(ControlError, match="it is not a folder"):
        prepare_socket_folder(str(short_tmp / "link" / "x.sock"), private=True)


@pytest.mark.skipif(os.geteuid() != 0, reason="changing a folder's owner needs root")
def test_private_folder_of_another_user_is_refused(short_tmp):
    folder = short_tmp / "ctl"
    folder.mkdir(mode=0o700)
    os.chown(folder, 65534, 65534)
    with pytest.raises(ControlError, match="belongs to uid 65534, not to this user"):
        prepare_socket_folder(str(folder / "x.sock"), private=True)


def test_chosen_folder_may_be_sticky_and_shared(short_tmp):
    folder = short_tmp / "shared"
    folder.mkdir()
    folder.chmod(0o1777)
    prepare_socket_folder(str(folder / "x.sock"), private=False)


def test_chosen_folder_writable_by_others_without_sticky_bit_is_refused(short_tmp):
    folder = short_tmp / "shared"
    folder.mkdir()
    folder.chmod(0o777)
    with pytest.raises(ControlError, match="not sticky"):
        prepare_socket_folder(str(folder / "x.sock"), private=False)


def test_too_long_path_is_refused_with_the_limit(short_tmp):
    path = str(short_tmp / ("d" * MAX_SOCKET_PATH_BYTES) / "x.sock")
    with pytest.raises(ControlError, match=f"the limit is {MAX_SOCKET_PATH_BYTES}"):
        prepare_socket_folder(path, private=True)


def _link_owned_by(short_tmp, uid):
    real = short_tmp / "real"
    real.mkdir(mode=0o700)
    link = short_tmp / "link"
    link.symlink_to(real)
    os.lchown(link, uid, uid)
    return link


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a link to another user needs root")
def test_chosen_folder_through_a_link_of_another_user_is_refused(short_tmp, executor):
    link = _link_owned_by(short_tmp, 65534)  # its owner may point it anywhere, any time
    path = str(link / "x.sock")
    expected = (
        f"refusing {link} for the control socket: it is a symbolic link that belongs "
        "to uid 65534, neither this user nor root"
    )
    with pytest.raises(ControlError) as info:
        prepare_socket_folder(path, private=False)
    assert str(info.value) == expected
    with pytest.raises(ControlError, match="it is a symbolic link that belongs to uid 65534"):
        ControlServer(executor, path).start()
    assert not os.path.exists(path)


def test_chosen_folder_through_a_link_of_this_user_is_accepted(short_tmp, executor):
    link = _link_owned_by(short_tmp, os.geteuid())
    with ControlServer(executor, str(link / "x.sock")) as server:
        assert server.state.value == "listening"


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a link to another user needs root")
@pytest.mark.parametrize("how", ["thin", "full"])
def test_the_client_refuses_a_link_of_another_user_too(short_tmp, executor, how, capsys):
    from modloader._cli import main

    link = _link_owned_by(short_tmp, os.geteuid())
    with ControlServer(executor, str(link / "x.sock")):
        os.lchown(link, 65534, 65534)  # handed over after the host started
        argv = ["-s", str(link / "x.sock"), "-rx", "echo hi"]
        assert main(argv if how == "thin" else [*argv, "--json"]) == 1
    assert "it is a symbolic link that belongs to uid 65534" in capsys.readouterr().err
    assert executor.lines == []
