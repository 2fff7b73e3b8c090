"""A cell that times out names the test that hung (the suite has no pytest-timeout: the plugin
keeps the running test's id where the runner reads it)."""

from __future__ import annotations

import pytest
from junitparser import JUnitXml
from support import PY
from support.matrix import write_matrix
from support.servers import reachable

from streammatrix.config.load import load
from streammatrix.plan import plan
from streammatrix.plugin import outcomes as o
from streammatrix.run.events import Events
from streammatrix.run.matrix import RunOptions, run_cells
from streammatrix.servers.binary.provider import BinaryProvider

pytestmark = pytest.mark.servers

SUITE = {
    "test_a_fast.py": "def test_fast():\n    pass\n",
    "test_b_hangs.py": (
        "import time\n\nclass TestSlow:\n    def test_hangs(self):\n        time.sleep(120)\n\n"
        "    def test_never_reached(self):\n        pass\n"
    ),
}


@pytest.mark.parametrize("start", ["fork", "spawn"])
def test_a_timeout_names_the_test_that_was_running(tmp_path, start):
    suite = tmp_path / "suite"
    suite.mkdir()
    for name, text in SUITE.items():
        (suite / name).write_text(text)
    config = write_matrix(
        tmp_path / "matrix.yaml", suite="suite", timeout=20, servers=["redis-6.2"],
        clients=[{"name": "redis-4.6", "version": "4.6.0"}],
    )  # fmt: skip
    matrix = load(config)
    report = tmp_path / "report"
    options = RunOptions(
        report_dir=report, envdir=tmp_path / "envs", workers=1, start=None if start == "fork"
        else "spawn",
    )  # fmt: skip
    with reachable():
        (result,) = run_cells(matrix, plan(matrix), BinaryProvider(), options, Events([]))
    assert result.status == o.CELL_ERROR
    cell = f"redis-6.2--redis-4.6--py{PY}"
    expected = "timed out after 20s in test suite/test_b_hangs.py::TestSlow::test_hangs"
    assert result.reason == expected
    suite_file = next(iter(JUnitXml.fromfile(str(report / "cells" / f"{cell}.xml"))))
    assert {p.name: p.value for p in suite_file.properties()}[o.SUITE_CELL_REASON] == expected
    assert not list((report / "logs").glob("*.running"))  # the runner's scratch is gone
