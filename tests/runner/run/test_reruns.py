"""Flaky is not broken: a failed test runs again in its cell, against the same real server; one
that passes then is ``flaky`` (never red by itself), with how many runs it took."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from junitparser import JUnitXml
from support.matrix import write_matrix
from support.servers import reachable

from streammatrix.config.load import load
from streammatrix.junit import write as cellfile
from streammatrix.junit.format import properties
from streammatrix.plan import plan
from streammatrix.plugin import outcomes as o
from streammatrix.report.build import write_reports
from streammatrix.run.events import Events
from streammatrix.run.matrix import RunOptions, run_cells
from streammatrix.run.reruns import rerun_failed
from streammatrix.servers.binary.provider import BinaryProvider

pytestmark = pytest.mark.servers

SUITE = '''
import pathlib
import time

import pytest

HERE = pathlib.Path(__file__).parent


def runs(name):
    """How often this test ran before (a counter file beside the suite)."""
    counter = HERE / f"{name}.runs"
    before = int(counter.read_text()) if counter.exists() else 0
    counter.write_text(str(before + 1))
    return before


@pytest.mark.feature("xadd", since="5.0.0")
def test_fails_once_then_passes():
    assert runs("once") >= 1, "the first run fails"


@pytest.mark.feature("xlen", since="5.0.0")
def test_always_fails():
    runs("always")
    time.sleep(0.25)  # every run of it: its own time, which its reruns' count includes
    assert False, "broken every time"


@pytest.mark.feature("xfuture", since="99.0.0")
def test_unsupported_by_the_server():
    runs("unsupported")
    raise KeyError("a reply field this server does not send")


@pytest.mark.feature("xrange", since="5.0.0")
def test_passes():
    runs("pass")
'''


def run_suite(tmp_path: Path, **extra) -> tuple[dict[str, dict[str, str]], Path, dict]:
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "test_flaky.py").write_text(SUITE)
    config = write_matrix(
        tmp_path / "matrix.yaml",
        servers=["redis-6.2"],
        clients=[{"name": "redis-4.6", "version": "4.6.0"}],
        **extra,
    )
    matrix = load(config)
    options = RunOptions(report_dir=tmp_path / "report", envdir=tmp_path / "envs", workers=1)
    with reachable():
        (result,) = run_cells(matrix, plan(matrix), BinaryProvider(), options, Events([]))
    assert result.status == o.CELL_OK, result.reason
    xml = tmp_path / "report" / "cells" / f"{result.cell.id}.xml"
    cases = {c.name: properties(c) for s in JUnitXml.fromfile(str(xml)) for c in s}
    return cases, suite, cellfile.suite_properties(xml)


def test_a_test_that_fails_once_is_flaky_and_not_red(tmp_path):
    cases, suite, cell = run_suite(tmp_path)  # reruns: default 2
    once = cases["test_fails_once_then_passes"]
    assert once[o.CASE_OUTCOME] == o.FLAKY
    assert once[o.CASE_TRIES] == "2"
    assert "the first run fails" in once[o.CASE_REASON]
    assert cases["test_always_fails"][o.CASE_OUTCOME] == o.FAIL
    assert cases["test_passes"][o.CASE_OUTCOME] == o.PASS
    assert cases["test_unsupported_by_the_server"][o.CASE_OUTCOME] == o.UNSUPPORTED_SERVER
    # Failed tests ran again (up to twice); the others ran once.
    assert (suite / "once.runs").read_text() == "2"
    assert (suite / "always.runs").read_text() == "3"
    assert (suite / "unsupported.runs").read_text() == "1"
    assert (suite / "pass.runs").read_text() == "1"
    # the reruns' tests' own time is the cell's, not start-up: two runs of a 0.25 s test
    assert float(cell[o.SUITE_CELL_RERUN_SECONDS]) >= 0.5
    # each rerun starts as the cell did: forked from the cell's fork server, into its log
    (log,) = (tmp_path / "report" / "logs").glob("*.log")
    starts = [line for line in log.read_text().splitlines() if line.startswith("# ")]
    assert [line.split(" (")[0] for line in starts[-4:]] == [
        "# rerun 1 of 2: 2 failed test(s)", "# start: fork",
        "# rerun 2 of 2: 1 failed test(s)", "# start: fork",
    ]  # fmt: skip
    result = write_reports(
        [tmp_path / "report" / "cells"], tmp_path / "out", load(tmp_path / "matrix.yaml")
    )
    assert [(u.kind, u.feature) for u in result.unexpected] == [("never passes", "xlen")]
    xadd = next(r for r in result.report.rows if r.feature == "xadd")
    (entry,) = xadd.entries.values()
    assert (entry.symbol, entry.word) == ("≈", "flaky")
    text = result.paths["markdown"].read_text()
    assert "1 flaky (passed when run again)" in text
    html = result.paths["html"].read_text()
    assert "Flaky tonight (1)" in html
    assert 'test_flaky::test_fails_once_then_passes</td><td class="num">2</td>' in html


def test_without_reruns_the_same_test_fails(tmp_path):
    cases, suite, cell = run_suite(tmp_path, reruns=0)
    assert cases["test_fails_once_then_passes"][o.CASE_OUTCOME] == o.FAIL
    assert o.CASE_TRIES not in cases["test_fails_once_then_passes"]
    assert (suite / "once.runs").read_text() == "1"
    assert (suite / "always.runs").read_text() == "1"
    assert o.SUITE_CELL_RERUN_SECONDS not in cell


CELL_FILE = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="cell" tests="1" failures="1">
<testcase classname="test_x" name="test_it" time="0.5">
<properties><property name="feature" value="xadd"/><property name="outcome" value="{outcome}"/>
<property name="nodeid" value="/suite/test_x.py::test_it"/></properties>
{failure}</testcase></testsuite></testsuites>
"""


@pytest.mark.parametrize("bad", ["abc", "nan"])
def test_a_rerun_file_whose_time_cannot_be_read_still_gives_its_results(tmp_path, bad):
    xml, log = tmp_path / "cell.xml", tmp_path / "cell.log"
    xml.write_text(CELL_FILE.format(outcome="fail", failure='<failure message="boom"/>'))

    def rerun(ids: list[str], junit: Path, left: float) -> None:  # a pass, with a bad time
        assert ids == ["/suite/test_x.py::test_it"]
        junit.write_text(CELL_FILE.format(outcome="pass", failure="").replace("0.5", bad))

    found = rerun_failed(xml, rerun, log=log, reruns=2, deadline=time.monotonic() + 60)
    assert found.flaky == {"/suite/test_x.py::test_it": 2}
    assert found.tests_seconds == 0.0  # not counted, not a reason to drop the pass
    (case,) = (c for s in JUnitXml.fromfile(str(xml)) for c in s)
    assert properties(case)[o.CASE_OUTCOME] == o.FLAKY
