"""The protocol axis in matrix.yaml and the plan: `protocols:`, cell ids, expectations."""

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
clients:
  - {name: old, version: "4.6.0"}
  - {name: new, version: latest}
"""


def matrix_of(tmp_path, extra: str = ""):
    (tmp_path / "tests" / "streams").mkdir(parents=True, exist_ok=True)
    path = tmp_path / "matrix.yaml"
    path.write_text(textwrap.dedent(BASE) + textwrap.dedent(extra))
    return load(path)


def test_without_protocols_cells_and_ids_are_as_before(tmp_path):
    matrix = matrix_of(tmp_path)
    assert matrix.protocols == (None,)
    cells = plan(matrix)
    assert [c.id for c in cells] == ["redis-7.0--old--py3.11", "redis-7.0--new--py3.11"]
    assert all(c.protocol is None for c in cells)
    assert "protocol" not in cells[0].coordinates()


def test_protocols_multiply_the_cells_and_name_them(tmp_path):
    matrix = matrix_of(tmp_path, 'protocols: [2, 3, "3-unified"]\n')
    assert matrix.protocols == ("2", "3", "3-unified")
    cells = plan(matrix)
    assert [c.id for c in cells] == [
        "redis-7.0--old--py3.11--resp2",
        "redis-7.0--old--py3.11--resp3",
        "redis-7.0--old--py3.11--resp3-unified",
        "redis-7.0--new--py3.11--resp2",
        "redis-7.0--new--py3.11--resp3",
        "redis-7.0--new--py3.11--resp3-unified",
    ]
    assert cells[1].coordinates()["protocol"] == "3"
    assert all(CELL_ID.fullmatch(c.id) for c in cells)


def test_cell_id_pattern_accepts_old_and_new_ids_only():
    assert CELL_ID.fullmatch("redis-7.0--redis-5.0--py3.11")
    assert CELL_ID.fullmatch("redis-7.0--redis-5.0--py3.11--resp3")
    assert CELL_ID.fullmatch("redis-7.0--redis-5.0--py3.11--resp3-unified")
    assert not CELL_ID.fullmatch("redis-7.0--redis-5.0--py3.11--resp")
    assert not CELL_ID.fullmatch("redis-7.0--redis-5.0--py3.11--http2")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("protocols: [4]\n", r"protocols\[0\]: 4 is not one of: 2, 3, 3-unified"),
        ('protocols: ["3"]\n', r"protocols\[0\]: '3' is not one of"),
        ("protocols: [3, 3]\n", r"protocols\[1\]: lists protocol 3 twice"),
        ("protocols: []\n", r"protocols: must not be empty"),
    ],
)
def test_bad_protocols_are_one_clear_error(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        matrix_of(tmp_path, text)


def test_expectations_may_name_a_protocol(tmp_path):
    matrix = matrix_of(
        tmp_path,
        """\
        protocols: [2, 3]
        expected:
          - {feature: reply-shape-xread, protocol: 3, outcome: fail}
          - {feature: xadd, outcome: fail}
        """,
    )
    assert [e.protocol for e in matrix.expected] == ["3", "*"]
