"""Cells: selection, defaults, exclusions and deterministic shards."""

from __future__ import annotations

import textwrap

import pytest
from packaging.version import Version

from streammatrix.config.load import load
from streammatrix.errors import ConfigError
from streammatrix.plan import line_keys, parse_shard, plan
from streammatrix.releases import Release, expand

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
    # without rows of releases, a shard is a plain slice
    assert [cell for shard in shards for cell in shard] == everything
    assert [len(shard) for shard in shards] == [2, 3, 3]
    assert shards == [[c.id for c in plan(matrix, shard=(i, 3))] for i in (1, 2, 3)]


@pytest.mark.parametrize("text", ["0/2", "3/2", "x", "1/0"])
def test_bad_shard(text):
    with pytest.raises(ConfigError, match="--shard"):
        parse_shard(text)


LINES = """\
python: ["3.11"]
protocols: [2, 3]
servers:
  - {name: redis-7.0, image: "redis:7.0"}
  - {name: valkey-8.0, image: "valkey/valkey:8.0"}
  - {name: redis-5, releases: ["5.0.7", "5.0.9", "5.0.10"], expand: all, image: "redis:{release}"}
clients:
  - {name: pinned, version: "5.0.*"}
  - {name: range, version: ">=1.0,<2", expand: all}
"""


@pytest.mark.parametrize("total", [2, 3, 4, 5, 8])
def test_shards_keep_every_line_bisection_compares_in_one_shard(tmp_path, total):
    """A client range row's releases on one server, a server row's releases with one client:
    split over two shards, the boundary between them could not be bisected."""
    (tmp_path / "tests" / "streams").mkdir(parents=True)
    path = tmp_path / "matrix.yaml"
    path.write_text(LINES)
    listed = [Release(Version(v)) for v in ("1.0", "1.1", "1.2", "1.3")]
    matrix, _ = expand(load(path), lister=lambda _: listed)
    everything = [c.id for c in plan(matrix)]
    parts = [plan(matrix, shard=(i, total)) for i in range(1, total + 1)]
    ids = [c.id for part in parts for c in part]
    assert sorted(ids) == sorted(everything) and len(set(ids)) == len(ids)
    where: dict[tuple, set[int]] = {}
    for i, part in enumerate(parts):
        for cell in part:
            for key in line_keys(cell):
                where.setdefault(key, set()).add(i)
    lines = {
        ("client", "range", "redis-7.0", "3.11", "2", "", ""),  # no parser, no topology
        ("server", "redis-5", "pinned", "3.11", "3", "", ""),
    }
    assert lines <= set(where)
    assert all(len(found) == 1 for found in where.values()), where
    assert max(len(p) for p in parts) < len(everything)  # still split, not all in one
