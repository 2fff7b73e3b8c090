"""The report's protocol axis, from real cell files: Redis 7.0.15 with redis-py 5.0.8 over RESP2
and RESP3, and redis-py 4.6.0 over RESP3 (which it cannot speak)."""

from __future__ import annotations

import dataclasses
import json

import jsonschema
from support import DATA, ROOT

from streammatrix.config.load import load
from streammatrix.junit.read import load_cells
from streammatrix.plugin import outcomes as o
from streammatrix.report.analysis.stored import rows_of
from streammatrix.report.analysis.vocabulary import KIND_NEVER_PASSES
from streammatrix.report.build import build_report, write_reports
from streammatrix.report.views import headline
from streammatrix.report.views.json_view import json_schema, to_dict
from streammatrix.report.views.render import render_html, render_markdown

PROTOCOLS = DATA / "protocols"  # real cell files
FIVE = "redis-7.0--redis-5.0--py3.11--resp{}"
OLD = "redis-7.0--redis-4.6--py3.11--resp3"


def report_of(*paths):
    """The report as the shipped matrix.yaml defines it (its required features, expectations)."""
    cells, warnings = load_cells(paths)
    assert warnings == []
    return build_report(cells, load(ROOT / "matrix.yaml"), None)


def test_cells_carry_the_claimed_and_the_measured_protocol():
    report = report_of(PROTOCOLS)
    at = {c.id: c.at for c in report.cells}
    assert (at[FIVE.format(2)].protocol, at[FIVE.format(2)].resp) == ("2", "2")
    assert (at[FIVE.format(3)].protocol, at[FIVE.format(3)].resp) == ("3", "3")
    assert (at[OLD].protocol, at[OLD].resp) == ("3", "")
    assert at[FIVE.format(3)].protocol_label == "RESP3"
    # columns: server, client, python, then the protocol
    assert [c.id for c in report.cells] == [OLD, FIVE.format(2), FIVE.format(3)]


def test_features_that_depend_on_the_protocol_with_each_sides_message():
    report = report_of(PROTOCOLS)
    found = {d.feature: d for d in report.protocol_dependent}
    xread = found["reply-shape-xread"]
    assert (xread.server, xread.client) == ("Redis 7.0.15", "redis-py 5.0.8")
    sides = {s.protocol: s for s in xread.sides}
    assert (sides["RESP2"].outcome, sides["RESP2"].message) == (o.PASS, "")
    assert sides["RESP3"].outcome == o.FAIL
    assert "too many values to unpack" in sides["RESP3"].message
    assert "reply-shape-xrange" not in found  # the same under both
    # redis-py 4.6.0 has only RESP3 cells here and cannot speak it: never a feature's doing
    assert all(d.client == "redis-py 5.0.8" for d in report.protocol_dependent)


def test_minimum_versions_per_protocol():
    report = report_of(PROTOCOLS)
    by_protocol = {m.protocol: m for m in report.minimums}
    assert set(by_protocol) == {"2", "3"}
    assert (by_protocol["2"].server, by_protocol["2"].client) == ("7.0.15", "5.0.8")
    assert by_protocol["3"].client is None  # the suite reads RESP2 shapes: RESP3 fails some
    first, second, count = headline.lines(report)
    assert first == (
        "RESP2: Redis >= 7.0.15 (lowest tested) with redis-py >= 5.0.8 (lowest tested): "
        "redis>=5.0.8"
    )
    # why RESP3 never passes, from the data: the features, where, and that RESP2 passes them
    assert second.startswith("RESP3: none passes on Redis: ")
    assert "on every redis-py >= 5.0.8" in second
    assert count.startswith("0 red results")


def test_expectations_naming_a_protocol_cover_only_its_cells():
    report = report_of(PROTOCOLS)
    expected = {(cell, test.split("::")[1]) for cell, test in report.expected}
    assert (FIVE.format(3), "test_xread_unpacks_as_stream_and_entries") in expected
    assert not any(cell == FIVE.format(2) for cell, _ in expected)
    assert report.unexpected == []


def test_rendered_protocol_row_section_and_json(tmp_path):
    report = report_of(PROTOCOLS)
    html = render_html(report)
    assert '<th class="corner">protocol</th>' in html
    assert html.count(">RESP3</th>") == 2
    assert 'id="protocols"' in html
    markdown = render_markdown(report)
    section = markdown.split("### Depends on the protocol", 1)[1].split("###", 1)[0]
    assert "`reply shapes/reply-shape-xread` on Redis 7.0.15, redis-py 5.0.8" in section
    assert "RESP3 ✘ fail (`ValueError: too many values to unpack (expected 2)`)" in section
    data = to_dict(report)
    jsonschema.validate(data, json_schema())
    cells = {c["id"]: c for c in rows_of(data["cells"])}
    assert (cells[OLD]["protocol"], cells[OLD]["resp"], cells[OLD]["axis_protocol"]) == (
        "3",
        "",
        "RESP3",
    )
    dependent = rows_of(data["protocol_dependent"])
    assert {d["feature"] for d in dependent} >= {"reply-shape-xread"}
    written = write_reports([PROTOCOLS], tmp_path, load(ROOT / "matrix.yaml"))
    assert rows_of(json.loads(written.paths["json"].read_text())["protocol_dependent"])


def test_a_report_without_protocols_shows_none_of_it():
    report = report_of(DATA / "cells")
    assert report.protocol_dependent == []
    assert all(m.protocol == "" for m in report.minimums)
    assert "RESP" not in headline.text(report)
    assert '<th class="corner">protocol</th>' not in render_html(report)
    assert "Depends on the protocol" not in render_markdown(report)


def test_a_failure_is_placed_against_the_minimum_of_its_own_protocol_as_the_grid_is():
    """redis-py 5.0.8 reads XREAD over RESP2 and fails it over RESP3 (no expectations here):
    no RESP3 cell passes it, so the RESP3 failure is "never passes", not a break above the
    RESP2 minimum; and the grid, which judges breaks per protocol, agrees."""
    cells, _ = load_cells([PROTOCOLS])
    matrix = dataclasses.replace(load(ROOT / "matrix.yaml"), expected=())
    report = build_report(cells, matrix, None)
    resp3 = [u for u in report.unexpected if u.cell == FIVE.format(3)]
    assert resp3 and {u.kind for u in resp3} == {KIND_NEVER_PASSES}
    breaks = {b.cell for row in report.rows for b in row.breaks}
    assert FIVE.format(3) not in breaks


def test_a_cell_whose_connections_disagreed_says_so(tmp_path):
    text = (PROTOCOLS / f"{FIVE.format(2)}.xml").read_text()
    text = text.replace('<property name="cell.protocol" value="2" />', "")
    text = text.replace(
        '<property name="cell.resp" value="2" />', '<property name="cell.resp" value="2 3" />'
    )
    assert 'value="2 3"' in text and 'name="cell.protocol"' not in text
    (tmp_path / "mixed.xml").write_text(text)
    report = report_of(tmp_path / "mixed.xml")
    (cell,) = report.cells
    assert (cell.at.protocol, cell.at.resp) == ("", "2 3")
    assert cell.at.protocol_label == "RESP2 and RESP3 (default, mixed)"
    assert "RESP2 and RESP3 (default, mixed)" in render_markdown(report)
