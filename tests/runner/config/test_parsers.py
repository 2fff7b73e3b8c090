"""The parser axis in matrix.yaml and the plan: `parsers:`, `redis[hiredis]`, `hiredis:`, cell
ids, selection, the lines bisection compares, and expectations that name a parser."""

from __future__ import annotations

import re
import textwrap
from dataclasses import replace

import pytest

from streammatrix.config.load import load
from streammatrix.errors import ConfigError
from streammatrix.plan import CELL_ID, line_keys, plan

BASE = """\
python: ["3.11"]
servers:
  - {name: redis-7.0, image: "redis:7.0", version: "7.0"}
clients:
"""


def matrix_of(tmp_path, clients: str, extra: str = ""):
    (tmp_path / "tests" / "streams").mkdir(parents=True, exist_ok=True)
    path = tmp_path / "matrix.yaml"
    path.write_text(BASE + textwrap.indent(textwrap.dedent(clients), "  ") + extra)
    return load(path)


def test_a_row_without_parsers_keeps_its_cells_and_ids(tmp_path):
    matrix = matrix_of(tmp_path, "- {name: new, version: latest}\n")
    assert matrix.clients[0].parsers == (None,)
    cells = plan(matrix)
    assert [c.id for c in cells] == ["redis-7.0--new--py3.11"]
    assert cells[0].parser is None
    assert "parser" not in cells[0].coordinates()


def test_parsers_make_a_cell_each_named_by_the_parser(tmp_path):
    matrix = matrix_of(
        tmp_path,
        """\
        - {name: new, version: latest, parsers: [python, hiredis], hiredis: ">=3"}
        - {name: old, version: "4.6.0"}
        """,
    )
    new = matrix.client("new")
    assert (new.parsers, new.hiredis, new.package) == (("python", "hiredis"), ">=3", "redis")
    cells = plan(matrix)
    # the client's own parser keeps the plain id: a baseline from before still matches
    assert [c.id for c in cells] == [
        "redis-7.0--new--py3.11",
        "redis-7.0--new--py3.11--parser-hiredis",
        "redis-7.0--old--py3.11",
    ]
    assert [c.parser for c in cells] == ["python", "hiredis", None]
    assert cells[0].coordinates()["parser"] == "python"
    assert cells[1].coordinates()["parser"] == "hiredis"
    assert all(CELL_ID.fullmatch(c.id) for c in cells)
    # --parsers selects by name; "default" selects the rows that name none
    assert [c.id for c in plan(matrix, parsers=["hiredis"])] == [cells[1].id]
    assert [c.id for c in plan(matrix, parsers=["default"])] == [cells[2].id]
    assert [c.id for c in plan(matrix, parsers=["python"])] == [cells[0].id]
    with pytest.raises(ConfigError, match="--parsers 'cython' matches no parser"):
        plan(matrix, parsers=["cython"])


def test_an_extra_names_the_parser(tmp_path):
    matrix = matrix_of(tmp_path, '- {name: old, package: "redis[hiredis]", version: "4.6.0"}\n')
    old = matrix.client("old")
    assert (old.package, old.module, old.parsers, old.requirement) == (
        "redis", "redis", ("hiredis",), "redis==4.6.0",
    )  # fmt: skip
    assert [c.id for c in plan(matrix)] == ["redis-7.0--old--py3.11--parser-hiredis"]
    # and a row named after its package keeps the distribution's name, not its extra
    unnamed = matrix_of(tmp_path, '- {package: "redis[hiredis]", version: "4.6.0"}\n')
    assert unnamed.clients[0].name == "redis-4.6.0"


def test_the_parser_is_part_of_every_line(tmp_path):
    """Bisection and the ranges compare releases with the same parser only."""
    matrix = matrix_of(tmp_path, "- {name: new, version: latest, parsers: [python, hiredis]}\n")
    cells = [replace(c, client=replace(c.client, row="new")) for c in plan(matrix)]
    keys = [line_keys(c) for c in cells]
    parser = 5  # axis, row, other entry, python, protocol, parser, topology
    assert [k[0][parser] for k in keys] == ["python", "hiredis"]
    # the same line but for the parser
    assert [v for i, v in enumerate(keys[0][0]) if i != parser] == [
        v for i, v in enumerate(keys[1][0]) if i != parser
    ]


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        ('package: "redis[ocsp]"', "the extra 'ocsp' is not a parser"),
        ('package: "redis[python]"', "the extra 'python' is not a parser"),
        ('package: "redis[hiredis,ocsp]"', "the extra 'ocsp' is not a parser"),
        ('package: "redis[]"', "is not of the form a distribution name, optionally"),
        ("package: \"redis[hiredis]; os_name == 'nt'\"", "is not of the form"),
        ('package: "redis[hiredis] @ https://example.com/r.whl"', "is not of the form"),
        ('package: "redis[--index-url=http://x]"', "is not of the form"),
        ('package: "redis[hiredis]\\n"', "is not of the form"),
        ('package: "redis [hiredis]"', "is not of the form"),
        ('package: "-e .[hiredis]"', "is not of the form"),
        ('package: "redis[hiredis]", parsers: [python]', "names the hiredis parser, which"),
        ("parsers: [hiredis, hiredis]", "lists the same parser twice"),
        ("parsers: [cython]", "'cython' is not one of: python, hiredis"),
        ("parsers: []", "must not be empty"),
        ("parsers: hiredis", "expected a array"),
        ('hiredis: ">=3"', "the row runs no hiredis parser"),
        ('parsers: [python], hiredis: "3.1.0"', "the row runs no hiredis parser"),
        ("parsers: [hiredis], hiredis: 3", "expected a string, got 3 (quote it)"),
        ('parsers: [hiredis], hiredis: ""', "is not a pip version specifier"),
        ("parsers: [hiredis], hiredis: \"3.1; os_name == 'nt'\"", "not a pip version specifier"),
        ('parsers: [hiredis], hiredis: "@ file:///tmp/h.whl"', "not a pip version specifier"),
        ('parsers: [hiredis], hiredis: "-r /etc/passwd"', "not a pip version specifier"),
        ('parsers: [hiredis], hiredis: ">=3 --index-url x"', "not a pip version specifier"),
    ],
)
def test_a_bad_parser_row_is_one_error_naming_its_line(tmp_path, row, problem):
    with pytest.raises(ConfigError) as caught:
        matrix_of(tmp_path, f"- {{name: c, version: latest, {row}}}\n")
    message = str(caught.value)
    assert problem in message, message
    assert message.startswith(f"{tmp_path / 'matrix.yaml'}:5: clients[0]"), message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("given", "spec"),
    [
        ("3.1.0", "==3.1.0"),
        (">=3", ">=3"),
        ("latest", ""),
        ("3.*", "==3.*"),
        ("<3,>=2.2", "<3,>=2.2"),
    ],
)
def test_the_hiredis_version_is_a_pip_specifier(tmp_path, given, spec):
    matrix = matrix_of(
        tmp_path, f'- {{name: c, version: latest, parsers: [hiredis], hiredis: "{given}"}}\n'
    )
    assert matrix.clients[0].hiredis == spec


def test_an_expectation_may_name_a_parser(tmp_path):
    extra = "expected:\n  - {feature: xread, parser: hiredis, outcome: fail}\n"
    matrix = matrix_of(tmp_path, "- {name: c, version: latest, parsers: [hiredis]}\n", extra)
    assert matrix.expected[0].parser == "hiredis"
    assert load_default_expectation(tmp_path).parser == "*"


@pytest.mark.parametrize(
    ("clients", "parser", "problem"),
    [
        (
            "parsers: [hiredis]",
            "hiredis2",
            "'hiredis2' matches none of the parsers the client rows",
        ),
        ("parsers: [python]", "hiredis", "(allowed: *, python)"),
        ("default: true", "hiredis", "no client row has parsers:, so its cells claim none"),
    ],
)
def test_an_expectation_for_a_parser_no_row_runs_is_refused(tmp_path, clients, parser, problem):
    extra = f"expected:\n  - {{feature: xread, parser: {parser}, outcome: fail}}\n"
    with pytest.raises(ConfigError, match=re.escape(problem)) as caught:
        matrix_of(tmp_path, f"- {{name: c, version: latest, {clients}}}\n", extra)
    assert "expected[0].parser" in str(caught.value)


def load_default_expectation(tmp_path):
    extra = "expected:\n  - {feature: xread, outcome: fail}\n"
    return matrix_of(tmp_path, "- {name: c, version: latest}\n", extra).expected[0]


def test_an_extra_named_twice_is_one_parser(tmp_path):
    """pip reads redis[hiredis,hiredis] as redis[hiredis]: one hiredis cell, not two cells that
    would share an id."""
    matrix = matrix_of(
        tmp_path, '- {name: a, version: "5.0.8", package: "redis[hiredis,hiredis]"}\n'
    )
    assert matrix.client("a").parsers == ("hiredis",)
    assert [c.id for c in plan(matrix)] == ["redis-7.0--a--py3.11--parser-hiredis"]
