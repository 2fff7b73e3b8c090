"""Client environments: made once, reused while they fit, never left half-made."""

from __future__ import annotations

import json

import pytest
from support import PY

from streammatrix.config.model import ClientSpec
from streammatrix.errors import EnvError, PythonNotFound
from streammatrix.run.envs import STAMP, ensure_env, pinned


def test_made_once_then_reused(tmp_path):
    client = ClientSpec("redis-4.6", version="==4.6.0")
    first = ensure_env(client, PY, tmp_path)
    assert (first.client_version, first.reused) == ("4.6.0", False)
    assert first.python.exists()
    again = ensure_env(client, PY, tmp_path)
    assert (again.client_version, again.reused) == ("4.6.0", True)
    assert not ensure_env(client, PY, tmp_path, refresh=True).reused


def test_a_floating_specifier_is_resolved_again_after_a_day(tmp_path):
    client = ClientSpec("redis-latest", version="")
    assert not pinned(client) and pinned(ClientSpec("x", version="==4.6.0"))
    env = ensure_env(client, PY, tmp_path)
    assert ensure_env(client, PY, tmp_path).reused
    stamp = env.location / STAMP
    recorded = json.loads(stamp.read_text())
    stamp.write_text(json.dumps({**recorded, "created": recorded["created"] - 86400}))
    assert not ensure_env(client, PY, tmp_path).reused


def test_a_failed_install_leaves_no_environment(tmp_path):
    client = ClientSpec("redis-none", version="==0.0.0.0")
    with pytest.raises(EnvError, match=r"installing redis==0\.0\.0\.0"):
        ensure_env(client, PY, tmp_path)
    assert not (tmp_path / f"matrix-redis-none-py{PY}").exists()


def test_a_python_that_is_not_installed(tmp_path):
    with pytest.raises(PythonNotFound, match=r"python 3\.99 is not installed"):
        ensure_env(ClientSpec("redis-4.6", version="==4.6.0"), "3.99", tmp_path)
