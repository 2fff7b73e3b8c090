"""A feature that really depends on the parser, from real cell files: a user's suite (clients
from REDIS_URL, sync and asyncio, no marks) whose one test asserts its connection's parser is
not hiredis, run on Redis 7.0.15 with redis-py 8.2.0 over RESP2 and RESP3, each with its own
parser and with hiredis 3.5.0. The outcome depends on the parser alone: the protocol changes
nothing, and the report must not say it does."""

from __future__ import annotations

import dataclasses

from support import DATA

from streammatrix.junit.read import load_cells
from streammatrix.report.build import build_report
from streammatrix.report.views import headline
from streammatrix.report.views.render import render_markdown
from streammatrix.report.views.summary import overview

CELLS = DATA / "parser_dependent"  # real cell files
FEATURE = "test_reply_parser_is_python"


def report_of():
    cells, warnings = load_cells([CELLS])
    assert warnings == []
    return build_report(cells, None, None)


def test_a_feature_of_the_parser_is_not_a_feature_of_the_protocol():
    report = report_of()
    assert [(d.feature, d.protocol) for d in report.parser_dependent] == [
        (FEATURE, "RESP2"),
        (FEATURE, "RESP3"),
    ]
    # with the parser fixed, RESP2 and RESP3 measured the same outcome
    assert report.protocol_dependent == []
    assert "### Depends on the protocol" not in render_markdown(report)


def test_a_protocol_is_not_said_to_pass_where_it_fails_with_the_same_parser():
    """RESP2 and RESP3 both fail with hiredis and both pass without it: neither line may say
    that the other protocol passes."""
    report = report_of()
    text = headline.text(report)
    assert FEATURE in text
    assert "RESP3 passes" not in text and "RESP2 passes" not in text


def test_two_rows_of_one_release_with_a_parser_each_are_compared():
    """``{name: a, version: 5.0.8, parsers: [python]}`` and ``{name: b, version: 5.0.8,
    parsers: [hiredis]}``: one client release, run with each parser (real cell files); what
    differs between them depends on the parser, whatever the rows are called."""
    cells, warnings = load_cells([DATA / "parser_rows"])
    assert warnings == []
    report = build_report(cells, None, None)
    found = {(d.feature, d.client) for d in report.parser_dependent}
    assert found == {(FEATURE, "redis-py 5.0.8"), ("test_hostile_message", "redis-py 5.0.8")}
    sides = {s.parser: (s.cell, s.outcome) for s in report.parser_dependent[0].sides}
    assert sides == {
        "python": ("redis-7.0--a--py3.11--resp2", "pass"),
        "hiredis 3.5.0": ("redis-7.0--b--py3.11--resp2--parser-hiredis", "fail"),
    }


def test_a_plain_row_beside_its_hiredis_row_is_the_python_side(tmp_path):
    """The way a user adds hiredis: ``{name: plain, version: 5.0.8}`` beside ``{name: fast,
    version: 5.0.8, package: "redis[hiredis]"}`` (real cell files). The plain cell names no
    parser, yet each of its connections was measured: its parser is the one it used, and the
    glance names no empty parser."""
    cells, warnings = load_cells([DATA / "parser_unnamed"])
    assert warnings == []
    report = build_report(cells, None, None)
    found = {d.feature: d for d in report.parser_dependent}
    assert set(found) == {FEATURE, "test_hostile_message"}
    sides = {s.parser: (s.cell, s.outcome, s.classes) for s in found[FEATURE].sides}
    assert sides == {
        "python (measured, none named)": (
            "redis-7.0--plain--py3.11--resp2", "pass", "_AsyncRESP2Parser _RESP2Parser",
        ),
        "hiredis 3.5.0": (
            "redis-7.0--fast--py3.11--resp2--parser-hiredis", "fail",
            "_AsyncHiredisParser _HiredisParser",
        ),
    }  # fmt: skip
    assert overview(report).servers == ["Redis 7.0.15 · hiredis 3.5.0", "Redis 7.0.15"]
    assert "python (measured, none named) ✔ pass" in render_markdown(report)


def test_cells_of_one_parser_that_disagree_do_not_make_the_parser_decide():
    """Four rows of redis-py 5.0.8 (real cell files): two python, two hiredis. While each
    parser's cells agree the feature depends on the parser; once the two python cells disagree
    (one made to fail, in memory), something else decides and it is not listed."""
    cells, warnings = load_cells([DATA / "parser_rows", DATA / "parser_unnamed"])
    assert warnings == []
    report = build_report(cells, None, None)
    found = {d.feature: d for d in report.parser_dependent}
    assert len(found[FEATURE].sides) == 4
    flipped = "redis-7.0--plain--py3.11--resp2"

    def fail_there(record):
        if record.id != flipped:
            return record
        tests = [
            dataclasses.replace(t, outcome="fail", message="AssertionError: not the parser")
            if t.name == FEATURE
            else t
            for t in record.tests
        ]
        return dataclasses.replace(record, tests=tests)

    report = build_report([fail_there(c) for c in cells], None, None)
    assert FEATURE not in {d.feature for d in report.parser_dependent}
    assert "test_hostile_message" in {d.feature for d in report.parser_dependent}
