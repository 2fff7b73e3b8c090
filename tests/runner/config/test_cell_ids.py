"""A cell id names one cell: its file, its log, its column in the report. Names that could make
two cells share an id are refused when matrix.yaml is read, naming the file, the line, the key
and (for two rows) both rows; nothing is started before."""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.version import Version
from support import ROOT

from streammatrix.config.load import load
from streammatrix.config.model import ClientSpec, Matrix, ServerSpec
from streammatrix.errors import ConfigError
from streammatrix.plan import plan
from streammatrix.releases import Release, expand, shared


def write(tmp_path: Path, body: str) -> Path:
    (tmp_path / "suite").mkdir(exist_ok=True)
    path = tmp_path / "matrix.yaml"
    path.write_text('suite: suite\npython: ["3.11"]\n' + body)
    return path


def refused(path: Path) -> str:
    with pytest.raises(ConfigError) as info:
        load(path)
    return str(info.value)


def test_servers_and_clients_whose_ids_meet_are_refused(tmp_path):
    # r + redis--c and r--redis + c both made r--redis--c--py3.11: one result was dropped
    path = write(
        tmp_path,
        "servers:\n"
        "  - {name: r, image: 'redis:7.0'}\n"
        "  - {name: r--redis, image: 'redis:7.0'}\n"
        "clients:\n"
        "  - {name: redis--c, version: '5.0.*'}\n"
        "  - {name: c, version: '5.0.*'}\n",
    )
    message = refused(path)
    assert message.startswith(f"{path}:5: servers[1].name: 'r--redis' contains '--'"), message
    assert "separates the parts of a cell id" in message


@pytest.mark.parametrize(
    "client, key",
    [
        ("{name: redis--c, version: '5.0.*'}", "clients[0].name"),
        ("{package: my--client, version: '1.0'}", "clients[0].package"),  # its default name
    ],
)
def test_a_client_name_with_the_separator_is_refused(tmp_path, client, key):
    path = write(tmp_path, f"servers: [{{name: r, image: x}}]\nclients:\n  - {client}\n")
    message = refused(path)
    assert message.startswith(f"{path}:5: {key}: "), message
    assert "contains '--'" in message


def test_a_server_row_with_the_separator_is_refused(tmp_path):
    path = write(
        tmp_path,
        "servers:\n  - {name: redis--5, releases: ['5.0.7'], image: 'redis:{release}'}\n"
        "clients: [{version: latest}]\n",
    )
    assert refused(path).startswith(f"{path}:4: servers[0].name: 'redis--5' contains '--'")


@pytest.mark.parametrize("pinned_first", [False, True], ids=["range-first", "pinned-first"])
def test_a_row_named_like_a_release_of_a_range_is_refused_naming_both_rows(tmp_path, pinned_first):
    # >=4.3.0,<4.4 and 4.3.6 both made redis-7.0--redis-4.3.6--py3.11: listed twice, one
    # cell's file overwrote the other's (range first), or the release ran as the pinned row
    # and not as a release of its range (pinned first)
    rows = ["  - {version: '>=4.3.0,<4.4'}\n", "  - {version: '4.3.6'}\n"]
    if pinned_first:
        rows.reverse()
    path = write(
        tmp_path, "servers: [{name: redis-7.0, image: 'redis:7.0'}]\nclients:\n" + "".join(rows)
    )
    message = refused(path)
    pinned, ranged = (0, 1) if pinned_first else (1, 0)
    assert message.startswith(f"{path}:{5 + pinned}: clients[{pinned}].version: "), message
    assert "'redis-4.3.6' (made of its package and version)" in message
    assert (
        f"range row clients[{ranged}] ('redis-4.3.04.4', '>=4.3.0,<4.4', line {5 + ranged})"
        in message
    )
    assert "the same cell" in message


def test_an_explicit_name_of_a_release_is_refused_and_another_name_is_fine(tmp_path):
    body = "servers: [{name: s, image: x}]\nclients:\n  - {name: wide, version: '>=4.3,<5'}\n"
    path = write(tmp_path, body + "  - {name: redis-4.6.0, version: '5.0.1'}\n")
    assert refused(path).startswith(f"{path}:6: clients[1].name: this row's name 'redis-4.6.0'")
    # the same release under a name of its own is a cell of its own: nothing collides
    path = write(tmp_path, body + "  - {name: shipped, version: '4.6.0'}\n")
    assert [c.name for c in load(path).clients] == ["wide", "shipped"]
    # a name outside the range is no release of it
    path = write(tmp_path, body + "  - {version: '5.0.1'}\n")
    assert [c.name for c in load(path).clients] == ["wide", "redis-5.0.1"]


def test_two_range_rows_sharing_a_release_run_it_once_as_the_first_rows(tmp_path):
    """Deliberate, as the README says: overlapping ranges do not make a cell twice."""
    path = write(
        tmp_path,
        "servers: [{name: s, image: x}]\nclients:\n"
        "  - {name: a, version: '>=4.3,<4.4', expand: all}\n"
        "  - {name: b, version: '>=4.3.5,<4.5', expand: all}\n",
    )
    listed = [Release(Version(v)) for v in ("4.3.4", "4.3.5", "4.3.6", "4.4.0")]
    matrix, rows = expand(load(path), lister=lambda _: listed)
    names = [(c.name, c.row) for c in matrix.clients]
    assert names == [
        ("redis-4.3.4", "a"), ("redis-4.3.5", "a"), ("redis-4.3.6", "a"), ("redis-4.4.0", "b")
    ]  # fmt: skip
    ids = [c.id for c in plan(matrix)]
    assert len(ids) == len(set(ids)) == 4
    assert shared(matrix, rows) == [
        "client rows 'a' and 'b' share 4.3.5, 4.3.6: each runs once, as a release of 'a'"
    ]


def test_a_matrix_made_in_code_with_colliding_names_is_refused_by_the_plan():
    matrix = Matrix(
        Path("m.yaml"),
        (ServerSpec("r", image="x"), ServerSpec("r--redis", image="x")),
        (ClientSpec("redis--c"), ClientSpec("c")),
        ("3.11",),
    )
    with pytest.raises(
        ConfigError, match=re.escape("r--redis--c--py3.11: two cells would share this id")
    ):
        plan(matrix)


def test_a_range_release_and_a_row_of_one_name_are_refused_by_expand():
    matrix = Matrix(
        Path("m.yaml"),
        (ServerSpec("s", image="x"),),
        (ClientSpec("r", version=">=4.3,<4.4", expand="all"), ClientSpec("redis-4.3.6")),
        ("3.11",),
    )
    listed = [Release(Version("4.3.6"))]
    with pytest.raises(
        ConfigError, match=re.escape("'redis-4.3.6' is both a row and a release of the")
    ):
        expand(matrix, lister=lambda _: listed)
    reordered = dataclasses.replace(matrix, clients=matrix.clients[::-1])
    with pytest.raises(
        ConfigError, match=re.escape("'redis-4.3.6' is both a row and a release of the")
    ):
        expand(reordered, lister=lambda _: listed)


def test_a_run_with_colliding_rows_exits_2_before_anything_is_made(tmp_path):
    path = write(
        tmp_path,
        "servers: [{name: redis-7.0, image: 'redis:7.0'}]\n"
        "clients:\n  - {version: '>=4.3.0,<4.4'}\n  - {version: '4.3.6'}\n",
    )
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    done = subprocess.run(
        [sys.executable, "-m", "streammatrix", "run", "--config", str(path),
         "--report-dir", str(tmp_path / "report"), "--envdir", str(tmp_path / "envs")],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"{path}:6: clients[1].version:" in done.stdout + done.stderr
    assert not (tmp_path / "report").exists() and not (tmp_path / "envs").exists()


def test_names_that_differ_only_in_case_are_refused_before_anything_runs(tmp_path):
    """One file name on a case-insensitive file system (macOS, Windows): one result lost."""
    path = write(
        tmp_path,
        "servers:\n  - {name: r, image: x}\n  - {name: R, image: x}\n"
        "clients: [{name: c, version: '5.0.*'}]\n",
    )
    with pytest.raises(ConfigError, match=re.escape("R--c--py3.11: two cells would share")):
        plan(load(path))
