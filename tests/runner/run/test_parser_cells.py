"""The parser axis end to end on a real redis-7.0: the newest redis-py with its own parser and
with hiredis, redis-py 4.6.0 as `redis[hiredis]`, a hiredis without a wheel and one the client
rejects, checked from the cell files alone; and a suite that forces the Python parser in a cell
that claims hiredis, whose cell must be an error."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from junitparser import JUnitXml
from support import PY
from support.matrix import copy_suite, write_matrix

from streammatrix.junit import proof
from streammatrix.junit.format import properties
from streammatrix.plugin import connections
from streammatrix.plugin import outcomes as o
from streammatrix.plugin.parser import family
from streammatrix.report.analysis.stored import expand
from streammatrix.report.analysis.vocabulary import KIND_CELL_ERROR

pytestmark = [pytest.mark.servers, pytest.mark.slow]

CLIENTS = [
    {"name": "new", "version": "latest", "parsers": ["python", "hiredis"]},
    {"name": "old", "package": "redis[hiredis]", "version": "4.6.0"},
    {"name": "nowheel", "version": "5.0.8", "parsers": ["hiredis"], "hiredis": "1.1.0"},
    {"name": "rejected", "version": "5.2.1", "parsers": ["hiredis"], "hiredis": "2.4.0"},
]


def run(tmp_path: Path, config: Path, report: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable, "-m", "streammatrix", "run", "--config", str(config),
            "--envdir", str(tmp_path / "envs"), "--report-dir", str(tmp_path / report),
            "--workers", "2",
        ],
        capture_output=True, text=True, timeout=1200, check=False,
    )  # fmt: skip


def suite_properties(path: Path) -> dict[str, str]:
    return properties(next(iter(JUnitXml.fromfile(str(path)))))


@pytest.fixture(scope="module")
def parser_run(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("parsers")
    copy_suite(tmp_path / "suite")
    config = write_matrix(tmp_path / "matrix.yaml", servers=["redis-7.0"], clients=CLIENTS)
    done = run(tmp_path, config, "report")
    return tmp_path / "report", done


def test_each_cell_proves_its_parser_from_its_file(parser_run):
    report, done = parser_run
    output = done.stdout + done.stderr
    cells = report / "cells"
    names = sorted(p.stem for p in cells.glob("*.xml"))
    assert names == sorted(
        [f"redis-7.0--new--py{PY}"]  # the client's own parser: the id it had before
        + [f"redis-7.0--{c}--py{PY}--parser-hiredis" for c in ("new", "old", "nowheel", "rejected")]
    ), output
    ran = {
        f"redis-7.0--new--py{PY}": "python",
        f"redis-7.0--new--py{PY}--parser-hiredis": "hiredis",
        f"redis-7.0--old--py{PY}--parser-hiredis": "hiredis",
    }
    for name, claim in ran.items():
        props = suite_properties(cells / f"{name}.xml")
        assert props[o.SUITE_CELL_STATUS] == o.CELL_OK, (name, props)
        assert props[o.SUITE_CELL_PARSER] == claim
        used = {k: proof.measured(props, k, "parser") for k in connections.KINDS}
        classes = [c for found in used.values() for c in found]
        assert classes and {family(c) for c in classes} == {claim}, (name, used)
        assert sum(used[connections.SYNC].values()) >= 45  # every test's connections
        if claim == "hiredis":
            assert props[o.SUITE_CLIENT_PARSER_VERSION].startswith("hiredis "), props
        else:
            assert o.SUITE_CLIENT_PARSER_VERSION not in props
    # the newest client's asyncio tests went through hiredis too
    newest = suite_properties(cells / f"redis-7.0--new--py{PY}--parser-hiredis.xml")
    assert set(proof.measured(newest, connections.ASYNC, "parser")) == {"_AsyncHiredisParser"}


def test_a_parser_that_does_not_install_is_a_skipped_cell_with_the_reason(parser_run):
    report, done = parser_run
    nowheel = suite_properties(report / "cells" / f"redis-7.0--nowheel--py{PY}--parser-hiredis.xml")
    assert nowheel[o.SUITE_CELL_STATUS] == o.CELL_SKIPPED
    assert "hiredis==1.1.0 has no usable wheels" in nowheel[o.SUITE_CELL_REASON]
    rejected = suite_properties(
        report / "cells" / f"redis-7.0--rejected--py{PY}--parser-hiredis.xml"
    )
    assert rejected[o.SUITE_CELL_STATUS] == o.CELL_SKIPPED
    assert "redis[hiredis]==5.2.1 depends on hiredis>=3.0.0" in rejected[o.SUITE_CELL_REASON]
    # skipped, not red
    data = expand(json.loads((report / "report.json").read_text()))
    assert data["unexpected"] == [], data["unexpected"]
    assert done.returncode == 0, done.stdout + done.stderr


FORCING_CONFTEST = '''
import os

import pytest
import redis
from redis._parsers import _RESP2Parser


@pytest.fixture
def redis_client():
    """Forces the pure-Python parser, whatever is installed."""
    client = redis.from_url(os.environ["REDIS_URL"], parser_class=_RESP2Parser, protocol=2)
    yield client
    client.close()
'''

FORCING_TEST = """
import os

import pytest


@pytest.mark.feature("xadd", since="5.0.0")
def test_xadd(redis_client):
    key = os.environ["TEST_STREAM_PREFIX"] + "forcing"
    assert redis_client.xadd(key, {"n": "1"})
    redis_client.delete(key)
"""


def test_a_hiredis_cell_whose_connections_used_the_python_parser_is_an_error(tmp_path):
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "conftest.py").write_text(textwrap.dedent(FORCING_CONFTEST))
    (suite / "test_forcing.py").write_text(textwrap.dedent(FORCING_TEST))
    config = write_matrix(
        tmp_path / "matrix.yaml",
        servers=["redis-7.0"],
        clients=[{"name": "new", "version": "latest", "parsers": ["hiredis"]}],
    )
    done = run(tmp_path, config, "report")
    output = done.stdout + done.stderr
    assert done.returncode == 1, output  # an error cell is unexpected
    cell = tmp_path / "report" / "cells" / f"redis-7.0--new--py{PY}--parser-hiredis.xml"
    props = suite_properties(cell)
    assert props[o.SUITE_CLIENT_PARSER_VERSION].startswith("hiredis ")  # hiredis was there
    assert proof.measured(props, connections.SYNC, "parser") == {"_RESP2Parser": 1}  # not used
    assert props[o.SUITE_CELL_STATUS] == o.CELL_ERROR, props
    assert props[o.SUITE_CELL_REASON] == (
        "claims the hiredis parser but its sync connections said _RESP2Parser (1 of 1)"
    )
    data = expand(json.loads((tmp_path / "report" / "report.json").read_text()))
    assert [u["kind"] for u in data["unexpected"]] == [KIND_CELL_ERROR]


CLAIMS_SEEN_TEST = """
import os

import redis


def test_sees_only_the_cells_claims():
    client = redis.from_url(os.environ["REDIS_URL"])
    assert client.ping()
    assert "TEST_REDIS_PARSER" not in os.environ
    assert "TEST_REDIS_PROTOCOL" not in os.environ
"""


def test_a_claim_in_the_callers_environment_is_not_the_cells(tmp_path):
    """A job that exports TEST_REDIS_PARSER / TEST_REDIS_PROTOCOL for its own tests runs the
    matrix: a cell that claims neither (a row without parsers:, a matrix without protocols:)
    must not inherit them, neither in its suite nor in its proof."""
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "test_claims.py").write_text(textwrap.dedent(CLAIMS_SEEN_TEST))
    config = write_matrix(
        tmp_path / "matrix.yaml",
        servers=["redis-7.0"],
        clients=[{"name": "plain", "version": "5.0.8"}],
    )
    done = subprocess.run(
        [
            sys.executable, "-m", "streammatrix", "run", "--config", str(config),
            "--envdir", str(tmp_path / "envs"), "--report-dir", str(tmp_path / "report"),
        ],
        capture_output=True, text=True, timeout=1200, check=False,
        env={**os.environ, o.ENV_PARSER: "hiredis", o.ENV_PROTOCOL: "3"},
    )  # fmt: skip
    output = done.stdout + done.stderr
    props = suite_properties(tmp_path / "report" / "cells" / f"redis-7.0--plain--py{PY}.xml")
    assert props[o.SUITE_CELL_STATUS] == o.CELL_OK, (props, output)
    assert o.SUITE_CELL_PARSER not in props
    assert done.returncode == 0, output
