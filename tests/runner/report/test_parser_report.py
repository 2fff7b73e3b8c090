"""The report's parser axis, from real cell files: Redis 7.0.15 with redis-py 5.0.8 over RESP2,
with its own parser and with hiredis 3.5.0. The two measured the same outcomes for every
feature (no feature of this suite depends on the parser); the section on what does is checked
with one test of the hiredis cell made to fail, in memory."""

from __future__ import annotations

import dataclasses
import json

import jsonschema
from support import DATA, ROOT

from streammatrix.config.load import load
from streammatrix.junit.read import load_cells
from streammatrix.plugin import outcomes as o
from streammatrix.report.analysis.stored import expand
from streammatrix.report.build import build_report
from streammatrix.report.views.json_view import json_schema, to_dict
from streammatrix.report.views.render import render_html, render_markdown

PARSERS = DATA / "parsers"  # real cell files
PYTHON = "redis-7.0--redis-5.0--py3.11--resp2"
HIREDIS = PYTHON + "--parser-hiredis"


def report_of(edit=None):
    cells, warnings = load_cells([PARSERS])
    assert warnings == []
    if edit is not None:
        cells = [edit(c) for c in cells]
    return build_report(cells, load(ROOT / "matrix.yaml"), None)


def test_cells_carry_the_claimed_and_the_measured_parser():
    report = report_of()
    at = {c.id: c.at for c in report.cells}
    assert (at[PYTHON].parser, at[HIREDIS].parser) == ("python", "hiredis 3.5.0")
    # the client's own parser first, then hiredis
    assert [c.id for c in report.cells] == [PYTHON, HIREDIS]
    assert report.parser_dependent == []  # measured: the same outcomes with both parsers
    data = json.loads(json.dumps(to_dict(report)))
    jsonschema.validate(data, json_schema())
    assert "parser" in data["axes"]
    by_id = {c["id"]: c for c in expand(data)["cells"]}
    assert by_id[HIREDIS]["parser"] == {
        "claimed": "hiredis",
        "classes": "_AsyncHiredisParser _HiredisParser",
        "label": "hiredis 3.5.0",
    }
    assert by_id[PYTHON]["parser"]["classes"] == "_AsyncRESP2Parser _RESP2Parser"
    html = render_html(report)
    assert '<th class="corner">parser</th>' in html
    assert 'title="measured: _AsyncHiredisParser _HiredisParser">hiredis 3.5.0</th>' in html
    assert 'id="parsers"' not in html


def _hiredis_fails_xrange(record):
    if record.id != HIREDIS:
        return record
    tests = [
        dataclasses.replace(t, outcome=o.FAIL, message="AssertionError: <b>not</b> the entries")
        if t.feature == "xrange"
        else t
        for t in record.tests
    ]
    return dataclasses.replace(record, tests=tests)


def test_a_feature_that_depends_on_the_parser_is_listed_with_both_sides():
    report = report_of(_hiredis_fails_xrange)
    assert [d.feature for d in report.parser_dependent] == ["xrange"]
    found = report.parser_dependent[0]
    assert (found.server, found.client, found.python, found.protocol) == (
        "Redis 7.0.15", "redis-py 5.0.8", "3.11.7", "RESP2",
    )  # fmt: skip
    sides = {s.parser: s for s in found.sides}
    assert (sides["python"].outcome, sides["python"].message) == (o.PASS, "")
    assert sides["hiredis 3.5.0"].outcome == o.FAIL
    assert sides["hiredis 3.5.0"].message == "AssertionError: <b>not</b> the entries"
    assert sides["hiredis 3.5.0"].classes == "_AsyncHiredisParser _HiredisParser"
    data = json.loads(json.dumps(to_dict(report)))
    jsonschema.validate(data, json_schema())
    stored = expand(data)["parser_dependent"]
    assert [(d["feature"], d["protocol"]) for d in stored] == [("xrange", "RESP2")]
    assert [(s["parser"], s["outcome"]) for s in stored[0]["sides"]] == [
        ("python", o.PASS),
        ("hiredis 3.5.0", o.FAIL),
    ]
    assert stored[0]["sides"][1]["message"] == "AssertionError: <b>not</b> the entries"
    markdown = render_markdown(report)
    section = markdown.split("### Depends on the parser", 1)[1].split("###", 1)[0]
    assert "`sync streams basics/xrange`" in section
    assert "python ✔ pass; hiredis 3.5.0 ✘ fail" in section
    html = render_html(report)
    assert 'id="parsers"' in html
    assert "&lt;b&gt;not&lt;/b&gt; the entries" in html  # text from a cell file is escaped
    assert "<b>not</b>" not in html


def test_a_hostile_parser_version_in_a_cell_file_is_text():
    hostile = "hiredis <img src=x onerror=alert(1)> | `x` *y*"

    def edit(record):
        if record.id != HIREDIS:
            return record
        props = {**record.properties, o.SUITE_CLIENT_PARSER_VERSION: hostile}
        return dataclasses.replace(record, properties=props)

    report = report_of(edit)
    assert report.cells[1].at.parser == hostile
    html = render_html(report)
    assert "<img src=x" not in html
    assert "hiredis &lt;img src=x onerror=alert(1)&gt;" in html
    markdown = render_markdown(report)
    assert "<img src=x" not in markdown
    assert "RESP2, hiredis &lt;img src=x onerror=alert(1)&gt;" in markdown  # the grid's key
