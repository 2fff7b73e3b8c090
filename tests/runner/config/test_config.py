"""matrix.yaml: the shipped file loads, and each kind of bad file gives one clear error."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from support import ROOT

from streammatrix.config.load import load
from streammatrix.errors import ConfigError

GOOD_HEAD = """\
servers:
  - {name: a, image: "redis:7.0"}
clients:
  - {version: "5.0.*"}
"""


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "tests" / "streams").mkdir(parents=True, exist_ok=True)
    path = tmp_path / "matrix.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_shipped_matrix_loads_with_the_design_defaults():
    matrix = load(ROOT / "matrix.yaml")
    defaults = [s.name for s in matrix.servers if s.default]
    assert defaults == ["redis-6.2", "redis-7.0", "redis-7.2", "valkey-8.0"]
    assert sum(c.default for c in matrix.clients) >= 4
    assert {c.version for c in matrix.clients} >= {
        "==4.6.0",
        "==5.0.*",
        "==5.2.*",
        "==6.*",
        "==7.*",
        "",
    }
    assert all(s.binary and s.image for s in matrix.servers)


def test_defaults_and_client_names(tmp_path):
    matrix = load(write(tmp_path, GOOD_HEAD))
    assert matrix.suite == "tests/streams"
    assert matrix.provider == "auto"
    assert matrix.clients[0].name == "redis-5.0.x"
    assert matrix.clients[0].requirement == "redis==5.0.*"
    assert matrix.python  # the running interpreter when not given


BAD = {
    "unknown key": (
        "servers:\n  - {name: a, imgae: x}\nclients: [{version: '1'}]\n",
        "matrix.yaml:2: servers[0].imgae: unknown key 'imgae'",
    ),
    "unknown top-level key": (
        GOOD_HEAD + "workers: 3\n",
        "matrix.yaml:5: workers: unknown key 'workers'",
    ),
    "wrong type": (
        GOOD_HEAD + "timeout: soon\n",
        "matrix.yaml:5: timeout: expected a number, got 'soon'",
    ),
    "python as a number": (
        GOOD_HEAD + "python: [3.10]\n",
        "python[0]: expected a string, got 3.1 (quote it)",
    ),
    "bad version specifier": (
        "servers: [{name: a, image: x}]\nclients:\n  - {version: '5.0.x'}\n",
        "matrix.yaml:3: clients[0].version: '5.0.x' is not a pip version specifier",
    ),
    "duplicate server": (
        "servers:\n  - {name: a, image: x}\n  - {name: a, image: y}\nclients: [{version: '1'}]\n",
        "matrix.yaml:3: servers[1].name: duplicate server name 'a'",
    ),
    "duplicate client": (
        "servers: [{name: a, image: x}]\nclients:\n  - {version: '1'}\n  - {version: '1'}\n",
        "clients[1]: duplicate client name 'redis-1'",
    ),
    "missing servers": (
        "clients: [{version: '1'}]\n",
        "(top level): missing key 'servers'",
    ),
    "server without image or binary": (
        "servers:\n  - {name: a}\nclients: [{version: '1'}]\n",
        "servers[0]: a server needs an 'image', a 'binary' source, or both",
    ),
    "two binary sources": (
        "servers:\n  - {name: a, binary: {pypi: x, debian: y/z, path: p}}\n"
        "clients: [{version: '1'}]\n",
        "servers[0].binary: a binary source needs exactly one of 'pypi' or 'debian'",
    ),
    "debian source without suite": (
        "servers:\n  - {name: a, binary: {debian: redis-tools, path: p}}\n"
        "clients: [{version: '1'}]\n",
        "servers[0].binary.debian: 'redis-tools' names no suite: write redis-tools/SUITE",
    ),
    "unknown provider": (
        GOOD_HEAD + "provider: podman\n",
        "provider: 'podman' is not one of: auto, docker, binary",
    ),
    "unknown expected outcome": (
        GOOD_HEAD + "expected: [{feature: x, outcome: broken}]\n",
        "expected[0].outcome: 'broken' is not one of",
    ),
    "bad selector range": (
        GOOD_HEAD + "exclude: [{server: 'redis>=banana'}]\n",
        "exclude[0].server: 'redis>=banana': not a valid version range",
    ),
    "empty clients": (
        "servers: [{name: a, image: x}]\nclients: []\n",
        "clients: must not be empty",
    ),
    "missing suite": (
        GOOD_HEAD + "suite: tests/nowhere\n",
        "suite: 'tests/nowhere' does not exist",
    ),
    "not yaml": (
        "servers: [a: b: c]\n",
        "matrix.yaml:1: not valid YAML",
    ),
    "key written twice": (
        GOOD_HEAD + "servers: []\n",
        "matrix.yaml:5: servers: key written twice",
    ),
    "nested key written twice": (
        "servers:\n  - {name: a, image: x, image: y}\nclients: [{version: '1'}]\n",
        "matrix.yaml:2: servers[0].image: key written twice",
    ),
    "python listed twice": (
        GOOD_HEAD + "python: ['3.11', '3.11']\n",
        "python: lists the same version twice",
    ),
    "not a mapping": (
        "- just\n- a list\n",
        "expected a mapping with 'servers' and 'clients'",
    ),
}


@pytest.mark.parametrize("text, message", BAD.values(), ids=BAD.keys())
def test_bad_matrix_gives_one_clear_error(tmp_path, text, message):
    with pytest.raises(ConfigError) as info:
        load(write(tmp_path, text))
    assert message in str(info.value)
    assert str(info.value).count("\n") == 0  # one error, one line


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="cannot read the matrix file"):
        load(tmp_path / "nope.yaml")
