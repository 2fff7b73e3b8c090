"""A suite written the way users write theirs, run as the real matrix.

``tests/runner/data/own_suite`` knows nothing of streammatrix: clients from ``REDIS_URL``
(``from_url``, sync and asyncio, pools of its own, ``Redis(host=..., port=...)``, one made at
import time, some in threads), no marks, its own ``pytest.ini`` (``asyncio_mode = auto``), and
a test that fails once. It runs against a real redis-7.0 with redis-py 4.6.0, a 5.0.x and the
newest: with ``protocols: [2, 3, "3-unified"]``, without ``protocols:``, and with one connection
pinned to RESP2 in a RESP3 cell.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from junitparser import JUnitXml
from support import DATA, PY
from support.matrix import write_matrix

from streammatrix.junit import proof
from streammatrix.junit.format import properties
from streammatrix.plugin import connections
from streammatrix.plugin import outcomes as o
from streammatrix.report.analysis.stored import expand
from streammatrix.report.analysis.vocabulary import KIND_CELL_ERROR

pytestmark = [pytest.mark.servers, pytest.mark.slow]

CLIENTS = [
    {"name": "old", "version": "4.6.0"},
    {"name": "five", "version": "5.0.*"},
    {"name": "new", "version": "latest"},
]
PINNED = """
import redis
from conftest import REDIS_URL


def test_pinned_to_resp2():
    client = redis.from_url(REDIS_URL, protocol=2)
    assert client.ping()
    client.close()
"""


def run(
    tmp_path: Path, report: str, envdir: Path, **matrix
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    suite = tmp_path / "suite"
    if not suite.exists():
        shutil.copytree(DATA / "own_suite", suite, ignore=shutil.ignore_patterns("__pycache__"))
    config = write_matrix(tmp_path / f"{report}.yaml", servers=["redis-7.0"], reruns=2, **matrix)
    done = subprocess.run(
        [
            sys.executable, "-m", "streammatrix", "run", "--config", str(config),
            "--envdir", str(envdir), "--report-dir", str(tmp_path / report),
            "--workers", "2",
        ],
        capture_output=True, text=True, timeout=1200, check=False,
    )  # fmt: skip
    return tmp_path / report, done


def cells(report: Path) -> dict[str, tuple[dict[str, str], dict[str, dict[str, str]]]]:
    """cell id -> (suite properties, test name -> its properties), from the cell files."""
    found = {}
    for path in sorted((report / "cells").glob("*.xml")):
        suite = next(iter(JUnitXml.fromfile(str(path))))
        found[path.stem] = (properties(suite), {case.name: properties(case) for case in suite})
    return found


@pytest.fixture(scope="module")
def envs(tmp_path_factory):
    return tmp_path_factory.mktemp("own-suite")


@pytest.fixture(scope="module")
def protocols_run(envs):
    return run(envs, "protocols", envs / "envs", clients=CLIENTS, protocols=[2, 3, "3-unified"])


@pytest.fixture(scope="module")
def default_run(envs):
    return run(envs, "default", envs / "envs", clients=CLIENTS)


def test_every_cell_spoke_its_claim_on_every_connection(protocols_run):
    report, done = protocols_run
    output = done.stdout + done.stderr
    assert done.returncode == 0, output  # green: no error cell, the fail-once test is flaky
    found = cells(report)
    assert len(found) == 9, output
    unsupported = set()
    for cell, (props, tests) in found.items():
        claim = cell.rsplit("--resp", 1)[1]
        assert props[o.SUITE_CELL_STATUS] == o.CELL_OK, (cell, props)
        outcomes = {t[o.CASE_OUTCOME] for t in tests.values()}
        if outcomes == {o.UNSUPPORTED_CLIENT}:  # the client cannot take the claim: it said so
            unsupported.add(cell)
            assert props[o.SUITE_CELL_RESP] == "", props  # it never connected
            continue
        for kind in connections.KINDS:  # sync and asyncio: each connection, as the server says
            resp = proof.measured(props, kind, "resp")
            assert list(resp) == [claim[0]], (cell, kind, props)
        assert tests["test_fails_once"][o.CASE_OUTCOME] == o.FLAKY, (cell, tests)
        assert tests["test_fails_once"][o.CASE_TRIES] == "2"
        assert outcomes == {o.PASS, o.FLAKY}, (cell, tests)
    assert unsupported == {
        f"redis-7.0--old--py{PY}--resp3",
        f"redis-7.0--old--py{PY}--resp3-unified",
        f"redis-7.0--five--py{PY}--resp3-unified",
    }
    old = found[f"redis-7.0--old--py{PY}--resp3"][1]
    assert all("unexpected keyword argument 'protocol'" in t[o.CASE_REASON] for t in old.values())
    five = found[f"redis-7.0--five--py{PY}--resp3-unified"][1]
    assert all("'legacy_responses'" in t[o.CASE_REASON] for t in five.values())
    # a suite without marks: one quiet line, no warning
    assert "without a feature mark: each is a feature of its own" in output
    assert "warning:" not in output, output


def test_without_protocols_each_cell_records_what_it_spoke(default_run):
    report, done = default_run
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    found = cells(report)
    spoke = {}
    for cell, (props, _) in found.items():
        assert o.SUITE_CELL_PROTOCOL not in props
        kinds = {kind: proof.measured(props, kind, "resp") for kind in connections.KINDS}
        assert all(len(resp) == 1 for resp in kinds.values()), (cell, props)  # they agree
        spoke[cell.split("--")[1]] = props[o.SUITE_CELL_RESP]
    # redis-py 8 asks for RESP3 by default, the earlier lines for RESP2
    assert spoke == {"old": "2", "five": "2", "new": "3"}
    data = expand(json.loads((report / "report.json").read_text()))
    labels = {c["id"].split("--")[1]: c["protocol"]["label"] for c in data["cells"]}
    assert labels["new"] == "RESP3 (default)"
    assert "RESP3 (default)" in (report / "report.md").read_text()


def test_a_connection_left_on_resp2_makes_an_error_cell(envs, tmp_path):
    shutil.copytree(DATA / "own_suite", tmp_path / "suite")
    (tmp_path / "suite" / "test_pinned.py").write_text(PINNED)
    report, done = run(tmp_path, "pinned", envs / "envs", clients=[CLIENTS[2]], protocols=[3])
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    ((props, tests),) = cells(report).values()
    assert tests["test_pinned_to_resp2"][o.CASE_OUTCOME] == o.PASS  # the test passes ...
    assert props[o.SUITE_CELL_STATUS] == o.CELL_ERROR  # ... over RESP2, in a RESP3 cell
    resp = proof.measured(props, "sync", "resp")
    assert resp["2"] == 1, props
    assert props[o.SUITE_CELL_REASON] == (
        f"claims RESP3 but its sync connections said RESP2 (1 of {sum(resp.values())})"
    )
    data = expand(json.loads((report / "report.json").read_text()))
    assert [u["kind"] for u in data["unexpected"]] == [KIND_CELL_ERROR]


def test_a_conftest_that_connects_on_import_with_a_refused_claim(envs, tmp_path):
    """A conftest that talks to the server while it is imported, with a client that cannot
    take the claim: the refusal is measured (unsupported-client), not a cell that broke."""
    suite = tmp_path / "suite"
    shutil.copytree(DATA / "own_suite", suite)
    conftest = suite / "conftest.py"
    conftest.write_text(conftest.read_text() + "\nshared.ping()  # connects on import\n")
    report, done = run(tmp_path, "on-import", envs / "envs", clients=[CLIENTS[0]], protocols=[3])
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    ((props, tests),) = cells(report).values()
    assert props[o.SUITE_CELL_STATUS] == o.CELL_OK, props
    assert [t[o.CASE_OUTCOME] for t in tests.values()] == [o.UNSUPPORTED_CLIENT], tests
    (refused,) = tests.values()
    assert "unexpected keyword argument 'protocol'" in refused[o.CASE_REASON]
    assert refused[o.CASE_NODEID] == str(conftest)


MODULE_CONNECTS = """
import redis
from conftest import REDIS_URL

client = redis.from_url(REDIS_URL)
client.ping()  # connects while the module is imported


def test_uses_the_module_client():
    assert client.ping()
"""


def test_a_test_module_that_connects_on_import_with_a_refused_claim(envs, tmp_path):
    """The same for one test module: it is one unsupported-client result, the rest runs."""
    suite = tmp_path / "suite"
    shutil.copytree(DATA / "own_suite", suite)
    (suite / "test_module_connects.py").write_text(MODULE_CONNECTS)
    report, done = run(tmp_path, "module", envs / "envs", clients=[CLIENTS[0]], protocols=[3])
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    ((props, tests),) = cells(report).values()
    assert props[o.SUITE_CELL_STATUS] == o.CELL_OK, props
    assert {t[o.CASE_OUTCOME] for t in tests.values()} == {o.UNSUPPORTED_CLIENT}, tests
    nodeids = [t[o.CASE_NODEID] for t in tests.values()]
    assert str(suite / "test_module_connects.py") in nodeids
    assert len(tests) > 1  # the other modules were collected and ran (refused in their tests)
