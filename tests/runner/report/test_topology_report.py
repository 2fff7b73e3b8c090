"""The report's topology axis, from real cell files: Redis 7.0.15 with redis-py 4.6.0 and 8.2.0,
standalone and as a 3-primary cluster, and redis-py 4.0.2 (no cluster client) on the cluster."""

from __future__ import annotations

import jsonschema
from support import DATA, ROOT

from streammatrix.config.load import load
from streammatrix.junit.read import load_cells
from streammatrix.plugin import outcomes as o
from streammatrix.report.analysis.stored import rows_of
from streammatrix.report.build import build_report
from streammatrix.report.views import headline
from streammatrix.report.views.json_view import json_schema, to_dict
from streammatrix.report.views.render import render_html, render_markdown

TOPOLOGIES = DATA / "topologies"  # real cell files
CELL = "redis-7.0--redis-{}--py3.11--{}"


def report_of():
    cells, warnings = load_cells([TOPOLOGIES])
    assert warnings == []
    return build_report(cells, load(ROOT / "matrix.yaml"), None)


def test_cells_carry_the_claimed_and_the_measured_topology():
    report = report_of()
    at = {c.id: (c.at.topology, c.record.mode) for c in report.cells}
    assert at[CELL.format("latest", "cluster")] == ("cluster", "cluster")
    assert at[CELL.format("4.6", "standalone")] == ("standalone", "standalone")
    assert at[CELL.format("4.0", "cluster")] == ("cluster", "")  # no cluster client: unmeasured


def test_crossslot_is_a_fact_and_nothing_here_is_red():
    report = report_of()
    assert report.unexpected == []
    row = next(r for r in report.rows if r.feature == "xread-multi-stream")
    assert row.entries[CELL.format("latest", "cluster")].outcome == o.UNSUPPORTED_SERVER
    assert row.entries[CELL.format("latest", "standalone")].outcome == o.PASS


def test_minimums_are_stated_per_topology():
    report = report_of()
    by_topology = {m.topology: m for m in report.minimums}
    assert set(by_topology) == {"standalone", "cluster"}
    first, second, _ = headline.lines(report)
    # the standalone answer leads; the cluster's follows as a clause of its own
    assert first.startswith("Redis >= 7.0.15 (lowest tested) with redis-py >= 4.6.0")
    assert second.startswith("cluster: Redis >= 7.0.15 with redis-py >= 8.2.0")
    # a cluster-only failure of 4.6.0 is judged against the cluster cells' minimum: a fact
    row = next(r for r in report.rows if r.feature == "async-xreadgroup")
    assert row.entries[CELL.format("4.6", "cluster")].outcome == o.FAIL
    assert row.min_client_at[("redis", "", "cluster")] == "8.2.0"
    assert row.min_client_at[("redis", "", "standalone")] == "4.6.0"
    assert not row.breaks


def test_what_depends_on_the_topology_with_both_sides_messages():
    report = report_of()
    found = {(d.feature, d.client): d for d in report.topology_dependent}
    xread = found[("xread-multi-stream", "redis-py 8.2.0")]
    sides = {s.protocol: s for s in xread.sides}
    assert (sides["standalone"].outcome, sides["standalone"].message) == (o.PASS, "")
    assert sides["cluster"].outcome == o.UNSUPPORTED_SERVER
    assert "all keys must map to the same key slot" in sides["cluster"].message
    assert ("async-xreadgroup", "redis-py 4.6.0") in found
    # redis-py 4.0.2 has no cluster client: the client as a whole, which the grid shows
    assert all(d.client != "redis-py 4.0.2" for d in report.topology_dependent)


def test_rendered_topology_row_section_and_json():
    report = report_of()
    html = render_html(report)
    assert '<th class="corner">topology</th>' in html
    assert 'id="topologies"' in html
    markdown = render_markdown(report)
    section = markdown.split("### Depends on the topology", 1)[1].split("###", 1)[0]
    assert "`streams across keys/xread-multi-stream` on Redis 7.0.15, redis-py 8.2.0" in section
    data = to_dict(report)
    jsonschema.validate(data, json_schema())
    cells = {c["id"]: c for c in rows_of(data["cells"])}
    cluster = cells[CELL.format("latest", "cluster")]
    assert (cluster["axis_topology"], cluster["mode"]) == ("cluster", "cluster")  # claim, measured
    assert "topology" in data["axes"]
    dependent = rows_of(data["topology_dependent"])
    assert {d["feature"] for d in dependent} >= {"xread-multi-stream"}
    mins = {m["topology"] for m in data["minimum"]}
    assert mins == {"standalone", "cluster"}


def test_a_report_without_topologies_shows_none_of_it():
    cells, _ = load_cells([DATA / "cells"])
    report = build_report(cells, load(ROOT / "matrix.yaml"), None)
    assert report.topology_dependent == []
    assert all(m.topology == "" for m in report.minimums)
    assert '<th class="corner">topology</th>' not in render_html(report)
    assert "Depends on the topology" not in render_markdown(report)
