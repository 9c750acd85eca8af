"""Fixtures for the control socket: a fake executor and a real server in a short temp folder."""

from __future__ import annotations

import importlib.util
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

from modloader._control.unix import ControlServer

FAKE_HOST = Path(__file__).with_name("fake_host.py")


def load_fake_host():
    """The fake_host module (loaded by path: the tests folder is not a package)."""
    if "fake_host" not in sys.modules:
        spec = importlib.util.spec_from_file_location("fake_host", FAKE_HOST)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["fake_host"] = module
        spec.loader.exec_module(module)
    return sys.modules["fake_host"]


@pytest.fixture
def executor():
    return load_fake_host().FakeExecutor()


@pytest.fixture
def short_tmp():
    """A temp folder with a short path: a socket path must fit in 103 bytes."""
    folder = tempfile.mkdtemp(prefix="mlt-", dir="/tmp")
    yield Path(folder)
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def sock_path(short_tmp):
    return str(short_tmp / "ctl" / "test.sock")


@pytest.fixture
def server(executor, sock_path):
    server = ControlServer(executor, sock_path, request_timeout=0.5, send_timeout=0.5)
    server.start()
    yield server
    server.close()
