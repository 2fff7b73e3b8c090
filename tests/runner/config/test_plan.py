"""Cells: selection, defaults, exclusions and deterministic shards."""

from __future__ import annotations

import textwrap

import pytest

from streammatrix.config.load import load
from streammatrix.errors import ConfigError
from streammatrix.plan import parse_shard, plan

MATRIX = """\
python: ["3.11", "3.12"]
servers:
  - {name: redis-6.2, image: "redis:6.2", version: "6.2.5"}
  - {name: redis-7.0, image: "redis:7.0", version: "7.0.15"}
  - {name: valkey-8.0, image: "valkey/valkey:8.0", default: false}
clients:
  - {name: old, version: "4.6.0"}
  - {name: new, version: latest}
exclude:
  - {server: "redis<7", client: old, reason: too old together}
  - {python: "3.12", client: new}
"""


@pytest.fixture
def matrix(tmp_path):
    (tmp_path / "tests" / "streams").mkdir(parents=True)
    path = tmp_path / "matrix.yaml"
    path.write_text(textwrap.dedent(MATRIX))
    return load(path)


def test_defaults_leave_out_non_default_entries(matrix):
    ids = [c.id for c in plan(matrix)]
    assert len(ids) == 2 * 2 * 2
    assert not any("valkey" in i for i in ids)
    assert ids[0] == "redis-6.2--old--py3.11"  # client first, then python, then server


def test_exclusions_keep_the_cell_with_its_reason(matrix):
    cells = {c.id: c for c in plan(matrix)}
    assert cells["redis-6.2--old--py3.11"].excluded == "too old together"
    assert cells["redis-7.0--old--py3.11"].excluded is None
    assert cells["redis-7.0--new--py3.12"].excluded == "excluded in matrix.yaml"


def test_selection_by_glob_and_all(matrix):
    assert {c.server.name for c in plan(matrix, servers=["valkey-*"])} == {"valkey-8.0"}
    assert len(plan(matrix, servers=["all"], clients=["new"], pythons=["3.11"])) == 3
    with pytest.raises(ConfigError, match="--servers 'redis-9' matches no server"):
        plan(matrix, servers=["redis-9"])


def test_shards_partition_the_cells(matrix):
    everything = [c.id for c in plan(matrix)]
    shards = [[c.id for c in plan(matrix, shard=(i, 3))] for i in (1, 2, 3)]
    assert [cell for shard in shards for cell in shard] == everything
    assert shards == [[c.id for c in plan(matrix, shard=(i, 3))] for i in (1, 2, 3)]


@pytest.mark.parametrize("text", ["0/2", "3/2", "x", "1/0"])
def test_bad_shard(text):
    with pytest.raises(ConfigError, match="--shard"):
        parse_shard(text)
