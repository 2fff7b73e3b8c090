"""A feature that really depends on the parser, from real cell files: a user's suite (clients
from REDIS_URL, sync and asyncio, no marks) whose one test asserts its connection's parser is
not hiredis, run on Redis 7.0.15 with redis-py 8.2.0 over RESP2 and RESP3, each with its own
parser and with hiredis 3.5.0. The outcome depends on the parser alone: the protocol changes
nothing, and the report must not say it does."""

from __future__ import annotations

from support import DATA

from streammatrix.junit.read import load_cells
from streammatrix.report.build import build_report
from streammatrix.report.views import headline
from streammatrix.report.views.render import render_markdown

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
