"""The topology axis in matrix.yaml and the plan: `topologies:`, a row's own `topologies:`, cell
ids, selection and expectations."""

from __future__ import annotations

import textwrap

import pytest

from streammatrix.config.load import load
from streammatrix.errors import ConfigError
from streammatrix.plan import CELL_ID, plan

BASE = """\
python: ["3.11"]
servers:
  - {name: redis-7.0, image: "redis:7.0", version: "7.0"}
  - {name: valkey-8.0, image: "valkey/valkey:8.0", version: "8.0"SERVER_EXTRA}
clients:
  - {name: new, version: latest}
"""


def matrix_of(tmp_path, extra: str = "", server_extra: str = ""):
    (tmp_path / "tests" / "streams").mkdir(parents=True, exist_ok=True)
    path = tmp_path / "matrix.yaml"
    text = textwrap.dedent(BASE).replace("SERVER_EXTRA", server_extra)
    path.write_text(text + textwrap.dedent(extra))
    return load(path)


def test_without_topologies_ids_are_as_before(tmp_path):
    matrix = matrix_of(tmp_path)
    assert matrix.topologies == (None,)
    cells = plan(matrix)
    assert [c.id for c in cells] == ["redis-7.0--new--py3.11", "valkey-8.0--new--py3.11"]
    assert "topology" not in cells[0].coordinates()


def test_topologies_multiply_the_cells_and_name_them(tmp_path):
    matrix = matrix_of(tmp_path, "protocols: [2]\ntopologies: [standalone, cluster]\n")
    ids = [c.id for c in plan(matrix)]
    assert ids == [
        "redis-7.0--new--py3.11--resp2",
        "valkey-8.0--new--py3.11--resp2",
        "redis-7.0--new--py3.11--resp2--cluster",
        "valkey-8.0--new--py3.11--resp2--cluster",
    ]
    assert all(CELL_ID.fullmatch(i) for i in ids)
    assert plan(matrix)[2].coordinates()["topology"] == "cluster"
    assert [c.id for c in plan(matrix, topologies=["cluster"])] == ids[2:]
    with pytest.raises(ConfigError, match="--topologies 'sharded' matches no topology"):
        plan(matrix, topologies=["sharded"])


def test_a_row_runs_only_the_topologies_it_lists(tmp_path):
    matrix = matrix_of(
        tmp_path, "topologies: [standalone, cluster]\n", ", topologies: [standalone]"
    )
    assert [c.id for c in plan(matrix)] == [
        "redis-7.0--new--py3.11",
        "valkey-8.0--new--py3.11",
        "redis-7.0--new--py3.11--cluster",
    ]


@pytest.mark.parametrize(
    ("extra", "server_extra", "message"),
    [
        ("topologies: [sharded]\n", "", r"topologies\[0\]"),
        ("topologies: [cluster, cluster]\n", "", "topologies"),
        ("", ", topologies: [cluster]", "which the matrix's `topologies:` does not"),
        (
            "topologies: [standalone]\n",
            ", topologies: [cluster]",
            r"matrix.yaml:4: servers\[1\]\.topologies: lists cluster",
        ),
    ],
)
def test_bad_topologies_are_one_error_naming_the_key(tmp_path, extra, server_extra, message):
    with pytest.raises(ConfigError, match=message):
        matrix_of(tmp_path, extra, server_extra)


def test_an_expectation_may_name_a_topology(tmp_path):
    matrix = matrix_of(
        tmp_path,
        "topologies: [standalone, cluster]\n"
        "expected:\n  - {feature: xread, topology: cluster, outcome: fail}\n",
    )
    assert matrix.expected[0].topology == "cluster"


def test_a_row_of_standalone_only_needs_no_topologies_key(tmp_path):
    # the shipped rows say `topologies: [standalone]`; a matrix without the key still runs them
    matrix = matrix_of(tmp_path, "", ", topologies: [standalone]")
    assert [c.id for c in plan(matrix)] == ["redis-7.0--new--py3.11", "valkey-8.0--new--py3.11"]
