"""Cell files that cannot be read, and several files for one cell: neither may go unnoticed, and
neither may depend on how the files happen to be named."""

from __future__ import annotations

import shutil

import pytest
from support import DATA

from streammatrix.junit.read import load_cells
from streammatrix.plugin import outcomes as o
from streammatrix.report.build import write_reports

CELLS = DATA / "cells"
GARBAGE = DATA / "garbage"
CELL = "redis-6.2--redis-5.0--py3.11"


def by_id(cells):
    return {c.id: c for c in cells}


@pytest.mark.parametrize("name", ["truncated.xml", "empty.xml", "not-junit.xml"])
def test_an_unreadable_cell_file_is_an_error_cell_named_after_the_file(tmp_path, name):
    shutil.copytree(CELLS, tmp_path / "cells")
    lost = tmp_path / "cells" / "redis-7.2--redis-4.6--py3.11.xml"
    shutil.copy(GARBAGE / name, lost)
    cells = by_id(load_cells([tmp_path])[0])
    assert len(cells) == 9
    cell = cells["redis-7.2--redis-4.6--py3.11"]
    assert cell.status == o.CELL_ERROR
    assert (cell.server, cell.client, cell.python) == ("redis-7.2", "redis-4.6", "3.11")
    assert str(lost) in cell.reason and "lost" in cell.reason


def test_a_truncated_file_not_named_like_a_cell_is_an_error_cell_all_the_same(tmp_path):
    shutil.copy(GARBAGE / "truncated.xml", tmp_path / "shard-3.xml")
    cells = by_id(load_cells([tmp_path, CELLS / f"{CELL}.xml"])[0])
    assert cells["shard-3.xml"].status == o.CELL_ERROR
    assert "not well-formed XML" in cells["shard-3.xml"].reason


def test_a_lost_shard_turns_the_report_red(tmp_path):
    shutil.copytree(CELLS, tmp_path / "cells")
    lost = tmp_path / "cells" / "redis-7.2--redis-4.6--py3.11.xml"
    lost.write_text((CELLS / f"{CELL}.xml").read_text()[:700])  # cut off mid-download
    result = write_reports([tmp_path / "cells"], tmp_path / "out")
    assert not result.ok
    (lost_result,) = [u for u in result.unexpected if u.cell == "redis-7.2--redis-4.6--py3.11"]
    assert str(lost) in lost_result.message


def test_a_truncated_copy_beside_a_readable_one_loses_nothing(tmp_path):
    shutil.copy(CELLS / f"{CELL}.xml", tmp_path / f"{CELL}.xml")
    (tmp_path / "again").mkdir()
    (tmp_path / "again" / f"{CELL}.xml").write_text((CELLS / f"{CELL}.xml").read_text()[:700])
    cells, warnings = load_cells([tmp_path])
    (cell,) = cells
    assert cell.status == o.CELL_OK and cell.conflicts == []
    assert any("again" in w and "not well-formed" in w for w in warnings)


def test_the_same_shard_twice_is_a_warning_only(tmp_path):
    for shard in ("a", "b"):
        (tmp_path / shard).mkdir()
        shutil.copy(CELLS / f"{CELL}.xml", tmp_path / shard / f"{CELL}.xml")
    cells, warnings = load_cells([tmp_path])
    (cell,) = cells
    assert cell.conflicts == []
    assert len(warnings) == 1 and "same results" in warnings[0]
    assert str(tmp_path / "a") in warnings[0] and str(tmp_path / "b") in warnings[0]
    assert write_reports([tmp_path], tmp_path / "out").ok


@pytest.mark.parametrize("names", [("a", "b"), ("b", "a")])
def test_two_files_that_disagree_are_unexpected_whatever_their_names(tmp_path, names):
    """The file that ran and the one that timed out: renaming either must not flip the verdict."""
    ran, timed_out = (tmp_path / n for n in names)
    for shard in (ran, timed_out):
        shard.mkdir()
    shutil.copy(CELLS / f"{CELL}.xml", ran / f"{CELL}.xml")
    shutil.copy(GARBAGE / "duplicate-redis-6.2--redis-5.0.xml", timed_out / f"{CELL}.xml")
    result = write_reports([tmp_path], tmp_path / "out")
    assert not result.ok
    (conflict,) = [u for u in result.unexpected if u.cell == CELL]
    assert str(ran / f"{CELL}.xml") in conflict.message
    assert str(timed_out / f"{CELL}.xml") in conflict.message
    assert result.report.cell(CELL).status == o.CELL_OK  # the grid shows the one that ran


def test_two_files_whose_test_outcomes_differ_are_unexpected(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    text = (CELLS / f"{CELL}.xml").read_text()
    (tmp_path / "a" / f"{CELL}.xml").write_text(text)
    flipped = text.replace('<property name="outcome" value="pass" />', "", 1)
    flipped = flipped.replace(
        "</testcase>",
        '<failure message="boom">boom</failure></testcase>',
        1,
    )
    (tmp_path / "b" / f"{CELL}.xml").write_text(flipped)
    result = write_reports([tmp_path], tmp_path / "out")
    assert [u.cell for u in result.unexpected] == [CELL]
    assert "disagree" in result.unexpected[0].message


def test_a_suite_without_feature_marks_is_one_quiet_line_not_a_warning(tmp_path):
    for i in range(3):
        text = (GARBAGE / "no-properties.xml").read_text()
        (tmp_path / f"plain-{i}.xml").write_text(text)
    _, warnings = load_cells([tmp_path])
    assert not [w for w in warnings if "'feature'" in w or "feature mark" in w]
    result = write_reports([tmp_path], tmp_path / "out")
    lines = [line for line in result.summary_lines() if "without a feature mark" in line]
    assert lines == [
        "6 test(s) in 3 cell(s) without a feature mark: each is a feature of its own, "
        "grouped by its class (or module)"
    ]
    assert not [w for w in result.warnings if "'feature'" in w or "feature mark" in w]
