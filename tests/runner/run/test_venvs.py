"""Client environments: made once, reused while they fit, never left half-made."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import sysconfig
import time

import pytest
from support import PY
from support.matrix import copy_suite, write_matrix

from streammatrix import cli
from streammatrix.config.model import ClientSpec
from streammatrix.errors import EnvError, PythonNotFound
from streammatrix.run import envs
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


def _no_uv_anywhere(monkeypatch, tmp_path):
    """A Python installed without uv beside it or on PATH, whose ``EXE`` config var is None (the
    ``uv`` package's own finder then fails with a TypeError)."""
    monkeypatch.setattr(sys, "executable", str(tmp_path / "bin" / "python"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    real = sysconfig.get_config_var
    monkeypatch.setattr(
        sysconfig, "get_config_var", lambda name: None if name == "EXE" else real(name)
    )


def test_no_uv_on_a_python_whose_exe_is_none_is_none_not_a_traceback(monkeypatch, tmp_path):
    _no_uv_anywhere(monkeypatch, tmp_path)
    assert envs.uv_binary() is None
    note = envs.without_uv()
    assert note and "pip" in note and str(tmp_path / "bin" / "python") in note


def test_uv_beside_the_interpreter_comes_first(monkeypatch, tmp_path):
    _no_uv_anywhere(monkeypatch, tmp_path)
    beside = tmp_path / "bin" / "uv"
    beside.parent.mkdir()
    beside.write_text("#!/bin/sh\n")
    beside.chmod(0o755)
    assert envs.uv_binary() == str(beside)
    assert envs.without_uv() is None


def test_uv_comes_with_the_runner():
    """uv is a dependency: the environment the runner is installed in has a working one."""
    found = envs.uv_binary()
    assert found is not None
    done = subprocess.run([found, "--version"], capture_output=True, text=True, check=True)
    assert done.stdout.startswith("uv ")


@pytest.mark.servers
def test_without_uv_a_run_says_so_once_and_makes_its_environment_with_pip(
    monkeypatch, tmp_path, capsys
):
    copy_suite(tmp_path / "suite")
    config = write_matrix(
        tmp_path / "matrix.yaml", servers=["redis-7.0"], clients=[{"name": "c", "version": "5.0.1"}]
    )
    monkeypatch.setattr(envs, "uv_binary", lambda: None)
    code = cli.main([
        "run", "--config", str(config), "--report-dir", str(tmp_path / "report"),
        "--envdir", str(tmp_path / "envs"),
    ])  # fmt: skip
    out = capsys.readouterr().out
    assert code in (0, 1), out  # 1: this old client fails a test, which is not the point here
    assert f"ok       redis-7.0--c--py{PY}" in out, out  # the cell ran in pip's environment
    assert len([line for line in out.splitlines() if "uv was not found" in line]) == 1, out
    made = tmp_path / "envs" / f"matrix-c-py{PY}"
    assert (made / "bin" / "pip").exists()  # pip's venv, not uv's (which ships no pip)


MAKE = """
import sys, time
from pathlib import Path
from streammatrix.config.model import ClientSpec
from streammatrix.run.envs import ensure_env
root, go = Path(sys.argv[1]), float(sys.argv[2])
time.sleep(max(0.0, go - time.time()))
env = ensure_env(ClientSpec("redis-4.6", version="==4.6.0"), sys.argv[3], root)
print("reused" if env.reused else "created", env.client_version)
"""


def test_two_processes_making_one_environment_share_it(tmp_path):
    """Two runs started at once with one fresh envdir: one makes it, the other waits and
    reuses it (without the lock both were red: "A virtual environment already exists")."""
    go = str(time.time() + 1.0)  # both start making it at the same moment
    command = [sys.executable, "-c", MAKE, str(tmp_path), go, PY]
    runs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)]
    runs.append(
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    )
    done = [run.communicate(timeout=300) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], done
    assert sorted(out.strip() for out, _ in done) == ["created 4.6.0", "reused 4.6.0"], done


def test_a_lock_held_by_a_killed_run_blocks_nobody(tmp_path):
    client = ClientSpec("redis-4.6", version="==4.6.0")
    lock = tmp_path / f"{envs.env_name(client, PY)}.lock"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time, filelock; filelock.FileLock(sys.argv[1])"
         ".acquire(); print('held', flush=True); time.sleep(600)", str(lock)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert holder.stdout.readline().strip() == "held"
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    assert ensure_env(client, PY, tmp_path).client_version == "4.6.0"


def test_refresh_after_waiting_reuses_what_the_other_run_just_made(tmp_path):
    client = ClientSpec("redis-4.6", version="==4.6.0")
    made = ensure_env(client, PY, tmp_path)
    stamp = made.location / STAMP
    # made by another run while this one waited for the lock: newer than this run's request
    recorded = json.loads(stamp.read_text())
    stamp.write_text(json.dumps({**recorded, "created": time.time() + 60}))
    assert ensure_env(client, PY, tmp_path, refresh=True).reused
    stamp.write_text(json.dumps({**recorded, "created": time.time() - 60}))
    assert not ensure_env(client, PY, tmp_path, refresh=True).reused


def test_no_bytecode_is_compiled_while_the_environment_is_made(tmp_path):
    """Compiling every installed module cost twice the install itself; a cell compiles what it
    imports, once."""
    env = ensure_env(ClientSpec("redis-4.6", version="==4.6.0"), PY, tmp_path)
    site = next(env.location.glob("lib/python*/site-packages"))
    assert (site / "redis" / "client.py").is_file()
    assert not list(site.glob("redis/**/*.pyc"))
    assert not list(site.glob("_pytest/**/*.pyc"))


def test_a_pinned_release_is_made_from_the_cache_without_the_index(tmp_path, monkeypatch):
    client = ClientSpec("redis-4.6", version="==4.6.0")
    ensure_env(client, PY, tmp_path / "first")  # the package cache has it now
    for proxy in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.setenv(proxy, "http://127.0.0.1:9")  # nothing answers: no index
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    again = ensure_env(client, PY, tmp_path / "second")
    assert (again.reused, again.client_version) == (False, "4.6.0")


def test_an_envdir_that_cannot_be_locked_still_serves_what_it_holds(tmp_path):
    """A read-only envdir (a mounted cache): no lock can be taken there, the environments it
    holds are reused all the same; one it lacks is an error that names the lock."""
    client = ClientSpec("redis-4.6", version="==4.6.0")
    ensure_env(client, PY, tmp_path)
    lock = tmp_path / f"{envs.env_name(client, PY)}.lock"
    lock.unlink()
    lock.mkdir()  # opening it fails as a read-only directory would (the tests run as root)
    assert ensure_env(client, PY, tmp_path).reused
    other = ClientSpec("redis-5.0", version="==5.0.1")
    (tmp_path / f"{envs.env_name(other, PY)}.lock").mkdir()
    with pytest.raises(EnvError, match="cannot lock"):
        ensure_env(other, PY, tmp_path)


def test_a_stamp_of_the_wrong_shape_makes_the_environment_again(tmp_path):
    client = ClientSpec("redis-4.6", version="==4.6.0")
    env = ensure_env(client, PY, tmp_path)
    for bad in ("[1, 2]", '{"created": "yesterday"}', "not json"):
        (env.location / STAMP).write_text(bad)
        assert not ensure_env(client, PY, tmp_path).reused
