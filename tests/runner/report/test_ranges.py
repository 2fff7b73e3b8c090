"""Release ranges in the report, from real cell files: a redis-7.0 grid over redis-py
4.1.4-4.3.6 (first and last release of each minor line) and the bisection cells that the
runner then ran (``data/ranges/cells/bisect``); see tests/runner/run/test_bisect.py for the
run itself."""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import jsonschema
import pytest
from junitparser import JUnitXml, Properties
from support import DATA

from streammatrix.config.load import load
from streammatrix.junit.read import load_cells
from streammatrix.report.analysis.supported import specifier
from streammatrix.report.analysis.vocabulary import KIND_DECLARED
from streammatrix.report.build import build_report, write_reports
from streammatrix.report.views import headline
from streammatrix.report.views.json_view import json_schema

CELLS = DATA / "ranges" / "cells"
REQUIREMENT = "redis>=4.1.4,!=4.2.*,!=4.3.0,!=4.3.1"


def matrix(tmp_path: Path, declared: str = "redis>=4.0", required: str = "trim-minid"):
    (tmp_path / "tests" / "streams").mkdir(parents=True, exist_ok=True)
    path = tmp_path / "matrix.yaml"
    path.write_text(
        textwrap.dedent(
            f"""\
            servers:
              - {{name: redis-7.0, image: "redis:7.0"}}
            clients:
              - {{name: redis-range, version: ">=4.1.4,<4.4"}}
            required: [{required}]
            declared: ["{declared}"]
            """
        )
    )
    return load(path)


def report(tmp_path: Path, cells: Path = CELLS, **kwargs):
    records, warnings = load_cells([cells])
    assert warnings == []
    return build_report(records, matrix(tmp_path, **kwargs), None)


def spans(found, feature: str) -> list[tuple[str, str, str]]:
    (fr,) = [f for f in found.features if f.feature == feature]
    return [(s.outcome, s.first, s.last) for s in fr.spans]


def test_grid_and_bisection_cells_give_exact_ranges_and_the_requirement(tmp_path):
    built = report(tmp_path)
    found = built.boundaries
    assert [c.id.split("--")[1] for c in built.cells] == [
        "redis-4.1.4", "redis-4.2.0", "redis-4.2.2", "redis-4.3.0", "redis-4.3.6",
    ]  # fmt: skip
    assert spans(found, "trim-minid") == [
        ("pass", "4.1.4", "4.1.4"), ("fail", "4.2.0", "4.3.1"), ("pass", "4.3.2", "4.3.6"),
    ]  # fmt: skip
    assert spans(found, "xautoclaim") == [("fail", "4.1.4", "4.3.3"), ("pass", "4.3.4", "4.3.6")]
    (line,) = found.supported
    assert line.requirement == REQUIREMENT
    assert (line.first, line.first_precision, line.since, line.since_precision) == (
        "4.1.4", "sampled", "4.3.2", "exact",
    )  # fmt: skip
    assert found.open == []
    assert sorted(s.release for s in found.steps) == ["4.3.1", "4.3.2", "4.3.3", "4.3.4", "4.3.5"]
    (declared,) = found.declared
    assert declared.admitted_failing == ["4.2.0", "4.2.1", "4.2.2", "4.3.0", "4.3.1"]
    assert [u.kind for u in built.unexpected if u.kind == KIND_DECLARED] == [KIND_DECLARED]
    assert REQUIREMENT in headline.text(built)


def test_a_declared_range_inside_the_passing_releases_is_fine(tmp_path):
    built = report(tmp_path, declared="redis>=4.3.2")
    (declared,) = built.boundaries.declared
    assert declared.ok and declared.admitted_failing == []
    assert not any(u.kind == KIND_DECLARED for u in built.unexpected)


def test_without_the_bisection_the_boundaries_are_open_and_the_report_says_so(tmp_path):
    grid = tmp_path / "cells"
    shutil.copytree(CELLS, grid, ignore=shutil.ignore_patterns("bisect"))
    found = report(tmp_path, grid).boundaries
    assert spans(found, "trim-minid") == [
        ("pass", "4.1.4", "4.1.4"), ("fail", "4.2.0", "4.3.0"), ("open", "4.3.1", "4.3.5"),
        ("pass", "4.3.6", "4.3.6"),
    ]  # fmt: skip
    (xautoclaim,) = [f for f in found.features if f.feature == "xautoclaim"]
    assert (xautoclaim.passes_from, xautoclaim.precision) == ("4.3.6", "open")
    assert any(item.startswith("xautoclaim on Redis 7.0.15") for item in found.open)
    result = write_reports([grid], tmp_path / "out", matrix(tmp_path))
    markdown = result.paths["markdown"].read_text()
    assert "Not bisected (run with `--bisect`)" in markdown


@pytest.mark.parametrize(
    ("ok", "expected"),
    [
        ({"4.1.4", "4.3.2"}, ">=4.1.4,!=4.2.*,!=4.3.0,!=4.3.1"),
        ({"4.2.1", "4.3.2"}, ">=4.2.1,!=4.2.2,!=4.3.0,!=4.3.1"),  # a partly failing series
        ({"4.3.2"}, ">=4.3.2"),
        (set(), ""),
    ],
)
def test_the_requirement_admits_exactly_the_passing_releases(ok, expected):
    releases = ["4.1.4", "4.2.0", "4.2.1", "4.2.2", "4.3.0", "4.3.1", "4.3.2"]
    assert specifier(releases, ok) == expected


def test_report_json_keeps_every_step_and_reads_back_as_a_baseline(tmp_path):
    out = tmp_path / "out"
    result = write_reports([CELLS], out, matrix(tmp_path))
    data = json.loads(result.paths["json"].read_text())
    jsonschema.validate(data, json_schema())
    steps = data["ranges"]["bisection"]["steps"]
    assert {(s["release"], s["step"]) for s in steps} >= {("4.3.3", 1), ("4.3.1", 3)}
    assert all(s["outcomes"] for s in steps)
    again = write_reports([CELLS], tmp_path / "again", matrix(tmp_path), result.paths["json"])
    assert again.report.baseline is not None and again.report.baseline.empty


def test_the_html_page_shows_the_boundaries_escaped(tmp_path):
    result = write_reports([CELLS], tmp_path / "out", matrix(tmp_path))
    page = result.paths["html"].read_text()
    assert 'id="ranges"' in page
    assert "redis&gt;=4.1.4,!=4.2.*,!=4.3.0,!=4.3.1" in page
    assert "fail on 4.2.0-4.3.1" in page


def test_each_protocol_has_its_own_ranges(tmp_path):
    """The same releases under another protocol claim are another line: RESP3 cells in which
    redis-py 4.x refuses the protocol must not hide the RESP2 boundaries (they did when the
    lines were keyed by server and python alone)."""
    both = tmp_path / "cells"
    shutil.copytree(CELLS, both)
    for path in list(both.rglob("*.xml")):
        text = path.read_text()
        resp3 = text.replace(
            '<property name="cell" value="',
            '<property name="cell.protocol" value="3" /><property name="cell" value="',
        ).replace('value="pass"', 'value="unsupported-client"')
        resp3 = resp3.replace("--py3.11", "--py3.11--resp3")
        path.with_name(path.name.replace(".xml", "--resp3.xml")).write_text(resp3)
    built = report(tmp_path / "m", cells=both)
    found = built.boundaries
    (row,) = [r for r in built.rows if r.feature == "trim-minid"]
    # the RESP3 cells above the RESP2 minimum are unsupported by the client, not breaks
    assert [b.cell for b in row.breaks if b.cell.endswith("--resp3")] == []
    labels = {f.line.label for f in found.features}
    assert any(label.endswith(", RESP3)") for label in labels), labels
    resp2 = [f for f in found.features if f.feature == "trim-minid" and not f.line.protocol]
    assert [(s.outcome, s.first, s.last) for s in resp2[0].spans] == [
        ("pass", "4.1.4", "4.1.4"),
        ("fail", "4.2.0", "4.3.1"),
        ("pass", "4.3.2", "4.3.6"),
    ]


def test_a_flaky_release_still_passes(tmp_path):
    """Flaky counts as passing (as for the minimum): a test that failed once and passed when
    run again must not take its release out of the requirement. (A suite without marks, whose
    fail-once test ends flaky, read "no measured release passes the required features".)"""
    cells = tmp_path / "cells"
    shutil.copytree(CELLS, cells)
    path = cells / "redis-7.0--redis-4.3.6--py3.11.xml"
    xml = JUnitXml.fromfile(str(path))
    for suite in xml:
        for case in suite:
            props = case.child(Properties)
            if {p.name: p.value for p in props}.get("feature") == "trim-minid":
                for prop in props:
                    if prop.name == "outcome":
                        prop.value = "flaky"
    xml.write(str(path))
    assert 'value="flaky"' in path.read_text()
    (line,) = report(tmp_path / "m", cells=cells).boundaries.supported
    assert line.requirement == REQUIREMENT
