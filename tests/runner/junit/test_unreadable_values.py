"""A cell file whose values cannot be read (``time="abc"``, NaN, an unknown ``cell.status``)
is that cell's error, naming the file; the good cells are still reported."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
from support import DATA, ROOT

from streammatrix.config.load import load
from streammatrix.junit.read import load_cells
from streammatrix.plugin import outcomes as o
from streammatrix.report.build import write_reports

CELL = "redis-6.2--redis-5.0--py3.11"
CASE = 'name="test_xtrim_maxlen"'


# (what to replace, with what) in the cell file, once
BAD = {
    "suite time abc": ('tests="10" time="3.2"', 'tests="10" time="abc"'),
    "suite time nan": ('tests="10" time="3.2"', 'tests="10" time="nan"'),
    "case time negative": (f'{CASE} time="0.012"', f'{CASE} time="-1"'),
    "case time inf": (f'{CASE} time="0.012"', f'{CASE} time="inf"'),
    "cell.seconds": ('name="cell.seconds" value="3.2"', 'name="cell.seconds" value="NaN"'),
    "reruns seconds": ('name="cell.seconds" value="3.2" />', 'name="cell.seconds" value="3.2" />'
                       '<property name="cell.reruns.seconds" value="x" />'),
    "latency": ('name="latency_ms" value="', 'name="latency_ms" value="abc'),
    "unknown status": ('name="cell.status" value="ok"', 'name="cell.status" value="passed"'),
    "bisect step": ('name="cell.seconds" value="3.2" />', 'name="cell.seconds" value="3.2" />'
                    '<property name="cell.bisect" value="xadd" />'
                    '<property name="cell.bisect.step" value="one" />'),
    "bisect step huge": ('name="cell.seconds" value="3.2" />', 'name="cell.seconds" value="3.2" />'
                         '<property name="cell.bisect" value="xadd" />'
                         f'<property name="cell.bisect.step" value="{"9" * 5000}" />'),
    "bisect axis": ('name="cell.seconds" value="3.2" />', 'name="cell.seconds" value="3.2" />'
                    '<property name="cell.bisect.axis" value="python" />'),
    "start": ('name="cell.seconds" value="3.2" />', 'name="cell.seconds" value="3.2" />'
              '<property name="cell.start" value="clone" />'),
}  # fmt: skip


def _cells(tmp_path, old: str, new: str):
    cells = tmp_path / "cells"
    shutil.copytree(DATA / "cells", cells)
    bad = cells / f"{CELL}.xml"
    text = bad.read_text()
    assert old in text
    bad.write_text(text.replace(old, new, 1))
    return cells, bad


@pytest.mark.parametrize("case", sorted(BAD))
def test_an_unreadable_value_makes_an_error_cell_and_the_others_are_reported(tmp_path, case):
    cells, bad = _cells(tmp_path, *BAD[case])
    records, warnings = load_cells([cells])
    by_id = {r.id: r for r in records}
    assert len(by_id) == len(list((DATA / "cells").glob("*.xml")))
    broken = by_id[CELL]
    assert broken.status == o.CELL_ERROR and str(bad) in broken.reason
    assert broken.server == "redis-6.2" and broken.client == "redis-5.0"  # keeps its column
    assert any(w.startswith(f"{bad}: cell {CELL!r}: ") for w in warnings), warnings
    good = [r for r in records if r.id != CELL and r.status == o.CELL_OK]
    assert good and all(r.tests for r in good)
    result = write_reports([cells], tmp_path / "out")
    reported = {c.id: c for c in result.report.cells}
    assert reported[CELL].status == o.CELL_ERROR
    assert any(u.cell == CELL for u in result.unexpected)

    def strict(constant: str) -> None:
        raise AssertionError(f"report.json holds {constant}, which is not JSON")

    json.loads(result.paths["json"].read_text(), parse_constant=strict)


def test_report_names_the_bad_file_and_does_not_pass(tmp_path):
    cells, bad = _cells(tmp_path, *BAD["unknown status"])
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "COLUMNS": "400"}
    done = subprocess.run(
        [sys.executable, "-m", "streammatrix", "report", str(cells),
         "--report-dir", str(tmp_path / "out")],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"warning: {bad}: cell {CELL!r}: property cell.status is 'passed'" in done.stdout
    assert (tmp_path / "out" / "report.json").is_file()


@pytest.mark.parametrize("prop", ["server.version", "client.version"])
def test_a_version_too_long_to_read_is_no_version_and_the_report_is_written(tmp_path, prop):
    """int() refuses more than 4300 digits: a version of 5000 is not a version, no traceback."""
    text = (DATA / "cells" / f"{CELL}.xml").read_text()
    head = f'name="{prop}" value="'
    start = text.index(head) + len(head)
    old = text[start : text.index('"', start)]
    cells, _ = _cells(tmp_path, f'{head}{old}"', f'{head}{"9" * 5000}"')
    result = write_reports([cells], tmp_path / "out")
    assert CELL in {c.id for c in result.report.cells}
    assert (tmp_path / "out" / "report.html").is_file()


def test_a_listed_release_too_long_to_read_does_not_stop_the_release_ranges(tmp_path):
    """client.releases (a range row's releases) with a 5000-digit release: the ranges are
    still made, and the report is written."""
    cells = tmp_path / "cells"
    shutil.copytree(DATA / "ranges" / "cells", cells)
    first = next(cells.glob("*.xml"))
    text = first.read_text()
    start = text.index('name="client.releases" value="') + len('name="client.releases" value="')
    first.write_text(text[:start] + "9" * 5000 + "," + text[start:])
    result = write_reports([cells], tmp_path / "out")
    assert result.report.cells and (tmp_path / "out" / "report.html").is_file()


def test_a_server_version_too_long_to_read_matches_no_version_range(tmp_path):
    """matrix.yaml's `redis>=7` compared with a cell file's 5000-digit server version."""
    text = (DATA / "cells" / f"{CELL}.xml").read_text()
    head = 'name="server.version" value="'
    start = text.index(head) + len(head)
    old = text[start : text.index('"', start)]
    cells, _ = _cells(tmp_path, f'{head}{old}"', f'{head}{"9" * 5000}"')
    (tmp_path / "tests" / "streams").mkdir(parents=True)
    config = tmp_path / "matrix.yaml"
    config.write_text(
        "servers: [{name: redis-6.2, image: 'redis:6.2'}]\nclients: [{version: latest}]\n"
        "expected: [{feature: '*', server: 'redis>=7', outcome: fail, reason: r}]\n"
    )
    result = write_reports([cells], tmp_path / "out", matrix=load(config))
    assert CELL in {c.id for c in result.report.cells}
