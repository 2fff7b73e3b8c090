"""Where bisection cells go, and that a new run does not keep an earlier run's."""

from __future__ import annotations

from streammatrix.run.bisect import BisectPaths
from streammatrix.run.cell import ReportPaths

CELL = "redis-7.0--redis-4.3.4--py3.11"


def test_bisection_files_have_folders_of_their_own(tmp_path):
    paths = BisectPaths(tmp_path)
    assert paths.cells == tmp_path / "cells" / "bisect"
    assert paths.logs == tmp_path / "logs" / "bisect"


def test_a_new_run_removes_the_last_runs_bisection_cells_unless_kept(tmp_path):
    bisect = BisectPaths(tmp_path)
    bisect.prepare(keep=True)
    stale = bisect.cells / f"{CELL}.xml"
    stale.write_text("<testsuite/>")
    (bisect.logs / f"{CELL}.log").write_text("log")
    mine = bisect.cells / "notes.xml"  # not named like a cell: the user's, it stays
    mine.write_text("<x/>")

    ReportPaths(tmp_path).prepare(keep=True)
    assert stale.exists()
    ReportPaths(tmp_path).prepare(keep=False)
    assert not stale.exists() and not (bisect.logs / f"{CELL}.log").exists()
    assert mine.exists()
