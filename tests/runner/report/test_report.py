"""The report built from hand-made and real cell files: grid, minimum versions, expectations,
exclusions, baseline diff, and the JSON / Markdown / JUnit it writes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pytest
from junitparser import JUnitXml
from support import DATA, ROOT

from streammatrix.config.load import load
from streammatrix.config.model import (
    ClientSpec,
    Exclude,
    Expectation,
    Matrix,
    Selector,
    ServerSpec,
)
from streammatrix.junit.read import CellRecord, TestRecord, load_cells
from streammatrix.junit.records import worst
from streammatrix.plugin import outcomes as o
from streammatrix.report.analysis import minimums as report_versions
from streammatrix.report.analysis.baseline import BaselineError, load_baseline
from streammatrix.report.analysis.stored import rows_of
from streammatrix.report.build import build_report, write_reports
from streammatrix.report.views import headline
from streammatrix.report.views import render as report_render
from streammatrix.report.views.json_view import SCHEMA, json_schema, to_dict
from streammatrix.report.views.markdown import text as md_text

CELLS = DATA / "cells"
REAL = DATA / "real"
OLD_CLIENT_FAIL = "redis-6.0--redis-4.6--py3.11"
XAUTOCLAIM_FAIL = "redis-7.0--redis-5.0--py3.11"
CRASHED = "redis-7.2--redis-5.0--py3.11"


# What "supported" means in the project's own matrix.yaml (the seed suite's classes).
REQUIRED = load(ROOT / "matrix.yaml").required


def matrix(**kwargs) -> Matrix:
    kwargs.setdefault("required", REQUIRED)
    return Matrix(
        path=Path("matrix.yaml"),
        servers=tuple(
            ServerSpec(name, version=v)
            for name, v in [
                ("redis-6.0", "6.0.16"),
                ("redis-6.2", "6.2.5"),
                ("redis-7.0", "7.0.15"),
                ("redis-7.2", "7.2.4"),
                ("valkey-8.0", "8.0.1"),
            ]
        ),
        clients=(
            ClientSpec("redis-4.6", version="==4.6.0"),
            ClientSpec("redis-5.0", version="5.0.*"),
        ),
        python=("3.11",),
        **kwargs,
    )


def hand_made(m: Matrix | None = None, baseline=None):
    cells, warnings = load_cells([CELLS])
    return build_report(cells, m or matrix(), baseline, warnings=warnings)


def row(report, feature):
    return next(r for r in report.rows if r.feature == feature)


def test_grid_groups_rows_and_columns():
    report = hand_made()
    # groups come from the suite's own metadata: its test classes in the order they ran,
    # then the features newer than streams by the version their marks name
    assert [g.name for g in report.groups] == [
        "sync streams basics",
        "sync consumer groups",
        "async streams basics",
        "error handling",
        "high throughput",
        "stream metadata",
        "Redis 6.2",
        "Redis 7.0",
    ]
    assert [c.id for c in report.cells] == [
        "redis-6.0--redis-4.6--py3.11",
        "redis-6.0--redis-5.0--py3.11",  # excluded: sits at the version its sibling measured
        "redis-6.2--redis-4.6--py3.11",
        "redis-6.2--redis-5.0--py3.11",
        "redis-7.0--redis-4.6--py3.11",
        "redis-7.0--redis-5.0--py3.11",
        "redis-7.2--redis-5.0--py3.11",
        "valkey-8.0--redis-5.0--py3.11",
    ]
    assert report.cell("redis-6.0--redis-5.0--py3.11").at.server_version == "6.0.16"
    # nothing measured it: the version its matrix.yaml row claims
    assert report.cell(CRASHED).at.server_version == "7.2.4"


def test_a_feature_with_several_tests_shows_the_worst_result():
    xautoclaim = row(hand_made(), "xautoclaim")
    assert xautoclaim.tests == ("test_xautoclaim_command", "test_xautoclaim_client_method")
    shown = {cid: (e.symbol, e.word) for cid, e in xautoclaim.entries.items()}
    assert shown == {
        "redis-6.0--redis-4.6--py3.11": ("⊘", "server"),
        "redis-6.0--redis-5.0--py3.11": ("\u2013", "excluded"),
        "redis-6.2--redis-4.6--py3.11": ("⊘", "client"),  # command passes, method missing
        "redis-6.2--redis-5.0--py3.11": ("✔", "pass"),
        "redis-7.0--redis-4.6--py3.11": ("⊘", "client"),
        "redis-7.0--redis-5.0--py3.11": ("✘", "fail"),
        "redis-7.2--redis-5.0--py3.11": ("!", "error"),
        "valkey-8.0--redis-5.0--py3.11": ("✔", "pass"),
    }
    assert xautoclaim.entries["redis-6.2--redis-4.6--py3.11"].note.startswith("redis-py 4.6.0")


@pytest.mark.parametrize(
    ("outcomes", "expected"),
    [
        ([o.PASS, o.UNSUPPORTED_CLIENT], o.UNSUPPORTED_CLIENT),
        ([o.UNSUPPORTED_CLIENT, o.UNSUPPORTED_SERVER, o.PASS], o.UNSUPPORTED_SERVER),
        ([o.UNSUPPORTED_SERVER, o.FAIL], o.FAIL),
        ([o.FAIL, o.ERROR, o.PASS], o.ERROR),
        ([o.PASS, o.PASS], o.PASS),
    ],
)
def test_aggregation_order(outcomes, expected):
    assert worst(outcomes) == expected


def test_minimum_versions_per_feature_and_a_non_monotone_break():
    report = hand_made()
    xautoclaim = row(report, "xautoclaim")
    assert xautoclaim.min_server == {"redis": "6.2.5", "valkey": "8.0.1"}
    assert xautoclaim.min_client == {"redis": "5.0.8"}
    assert [(b.cell, b.outcome) for b in xautoclaim.breaks] == [(XAUTOCLAIM_FAIL, o.FAIL)]
    assert xautoclaim.non_monotone
    explicit = row(report, "xadd-explicit-seq")
    assert explicit.min_server == {"redis": "7.0.15", "valkey": "8.0.1"}
    assert explicit.min_client == {"redis": "4.6.0"}
    assert not explicit.non_monotone
    assert row(report, "xreadgroup").min_server["redis"] == "6.2.5"


def test_headline_states_the_minimum_supported_versions():
    report = hand_made()
    (redis, valkey) = report.minimums
    assert (redis.server, redis.client, redis.cells) == ("6.2.5", "4.6.0", 4)
    assert redis.not_counted == [CRASHED]
    assert (valkey.server_family, valkey.server, valkey.client) == ("valkey", "8.0.1", "5.0.8")
    # Redis 6.0 ran and fails: 6.2.5 is bounded by a failure; Valkey 8.0.1 is all that ran
    assert headline.lines(report) == [
        "Redis >= 6.2.5 with redis-py >= 4.6.0 (lowest tested): redis>=4.6.0",
        "Valkey >= 8.0.1 (lowest tested) with redis-py >= 5.0.8 (lowest tested): redis>=5.0.8",
        "2 red results, 1 fail(s) below a minimum (not red)",
    ]


def cell(server: str, client: str, passing: bool = True, status: str = o.CELL_OK) -> CellRecord:
    """A synthetic cell with one required feature."""
    props = {
        o.SUITE_CELL: f"redis-{server}--redis-{client}--py3.11",
        o.SUITE_CELL_SERVER: f"redis-{server}",
        o.SUITE_CELL_CLIENT: f"redis-{client}",
        o.SUITE_CELL_STATUS: status,
        o.SUITE_SERVER_NAME: "redis",
        o.SUITE_SERVER_VERSION: server,
        o.SUITE_CLIENT_NAME: "redis",
        o.SUITE_CLIENT_VERSION: client,
    }
    tests = []
    if status == o.CELL_OK:
        outcome = o.PASS if passing else o.FAIL
        tests = [TestRecord("m.TestSyncStreamsBasics", "test_xadd", "xadd", outcome)]
    return CellRecord(props[o.SUITE_CELL], Path("x.xml"), props, tests)


def redis_minimum(*cells: CellRecord):
    (minimum,) = build_report(list(cells), matrix(), None).minimums
    return minimum


def test_minimum_lists_a_newer_server_with_an_older_client_as_an_alternative():
    m = redis_minimum(
        cell("6.2.5", "4.6.0", passing=False),
        cell("6.2.5", "5.0.8"),
        cell("7.0.15", "4.6.0"),
        cell("7.0.15", "5.0.8"),
    )
    assert (m.server, m.client, m.alternatives) == ("6.2.5", "5.0.8", [("7.0.15", "4.6.0")])
    assert m.sentence == "Redis 6.2.5 with redis-py 5.0.8 (or Redis 7.0.15 with redis-py 4.6.0)"


def test_minimum_is_above_a_non_monotone_failure():
    m = redis_minimum(
        cell("6.2.5", "5.0.8"), cell("7.0.15", "5.0.8", passing=False), cell("7.2.4", "5.0.8")
    )
    assert (m.server, m.client) == ("7.2.4", "5.0.8")


def test_minimum_needs_a_cell_that_ran_at_the_stated_versions():
    # redis-6.0 x redis-5.0 did not run: "6.0.16 with 5.0.8" would rest on no evidence at 6.0.
    m = redis_minimum(
        cell("6.0.16", "4.6.0", passing=False),
        cell("6.0.16", "5.0.8", status=o.CELL_EXCLUDED),
        cell("6.2.5", "4.6.0"),
        cell("6.2.5", "5.0.8"),
    )
    assert (m.server, m.client, m.cells) == ("6.2.5", "4.6.0", 2)


def test_no_minimum_when_the_newest_cell_fails():
    m = redis_minimum(cell("6.2.5", "5.0.8"), cell("7.0.15", "5.0.8", passing=False))
    assert (m.server, m.client) == (None, None)
    assert m.sentence == "Redis with redis-py: no measured combination passes them all"


def test_cells_that_could_not_run_are_named_not_counted():
    m = redis_minimum(cell("6.2.5", "5.0.8"), cell("7.0.15", "5.0.8", status=o.CELL_ERROR))
    assert (m.server, m.not_counted) == ("6.2.5", ["redis-7.0.15--redis-5.0.8--py3.11"])
    assert "could not run" in report_versions.DEFINITION


def test_a_required_feature_missing_from_one_cell_fails_it():
    xadd = TestRecord("m.TestSyncStreamsBasics", "test_xadd", "xadd", o.PASS)
    xlen = TestRecord("m.TestSyncStreamsBasics", "test_xlen", "xlen", o.PASS)
    older, newer = cell("6.2.5", "5.0.8"), cell("7.0.15", "5.0.8")
    older.tests, newer.tests = [xadd, xlen], [xadd]  # 7.0 lacks xlen: it did not pass it
    m = redis_minimum(older, newer)
    assert (m.server, m.client) == (None, None)


def test_a_foreign_file_does_not_move_the_minimum():
    cells, _ = load_cells([CELLS, DATA / "garbage" / "no-properties.xml"])
    report = build_report(cells, matrix(), None)
    assert [(m.server, m.client) for m in report.minimums] == [
        ("6.2.5", "4.6.0"),
        ("8.0.1", "5.0.8"),
    ]


def test_a_skipped_cell_shows_as_skipped_and_is_neither_counted_nor_unexpected():
    skipped = cell("7.0.15", "5.0.8", status=o.CELL_SKIPPED)
    skipped.properties[o.SUITE_CELL_REASON] = "python 3.13 is not installed"
    report = build_report([cell("6.2.5", "5.0.8"), skipped], matrix(), None)
    entry = row(report, "xadd").entries[skipped.id]
    assert (entry.outcome, entry.word, entry.note) == (
        o.SKIPPED,
        "skipped",
        "python 3.13 is not installed",
    )
    assert report.unexpected == []
    assert (report.minimums[0].server, report.minimums[0].cells) == ("6.2.5", 1)


def test_unexpected_results_read_as_one_line():
    report = hand_made()
    first, *_, last = report.unexpected
    assert str(first) == (
        f"break above minimum: {XAUTOCLAIM_FAIL}: "
        "test_redis62.TestRedis62Streams::test_xautoclaim_client_method: fail: "
        "AssertionError: assert [b'1-0'] == ['1-0'] (deleted ids are returned as a third element)"
    )
    assert str(last) == f"cell error: {CRASHED}: the cell: error: server redis-7.2 did not come up"
    (fact,) = report.facts
    assert str(fact) == (
        "below minimum: redis-6.0--redis-4.6--py3.11: "
        "test_consumer_groups.TestSyncConsumerGroups::test_xreadgroup_and_xack: fail: "
        "AssertionError: XREADGROUP returned 2 entries, expected 1 (NOACK ignored)"
    )


def test_required_features_are_ids_globs_or_class_names():
    report = hand_made(matrix(required=("xadd*", "TestRedis62Streams", "nothing-*")))
    required = sorted(r.feature for r in report.rows if r.required)
    assert required == ["xadd", "xadd-explicit-seq", "xautoclaim"]
    assert report.warnings == ["required feature 'nothing-*' matches no test"]
    default = hand_made()
    assert {r.group for r in default.rows if r.required} == {
        "sync streams basics",
        "sync consumer groups",
        "async streams basics",
        "error handling",
        "high throughput",
        "stream metadata",
    }


def test_a_fail_below_the_minimum_is_a_fact_a_break_above_it_is_unexpected():
    # xreadgroup passes from Redis 6.2.5 on: its fail on 6.0 (redis-py 4.6) defines that
    # minimum; xautoclaim passes on 6.2 with redis-py 5.0 and fails on 7.0: a break.
    report = hand_made()
    assert row(report, "xreadgroup").min_server["redis"] == "6.2.5"
    assert [(u.kind, u.cell, u.feature) for u in report.unexpected] == [
        ("break above minimum", XAUTOCLAIM_FAIL, "xautoclaim"),
        ("cell error", CRASHED, ""),
    ]
    assert [(u.kind, u.cell, u.feature) for u in report.facts] == [
        ("below minimum", OLD_CLIENT_FAIL, "xreadgroup"),
    ]


def test_an_expected_failure_is_shown_as_such_and_is_not_unexpected():
    m = matrix(
        expected=(
            Expectation("xautoclaim", Selector("redis-7.0"), Selector("redis-5.*"), "fail", "bug"),
            Expectation("xreadgroup", Selector("redis<6.2"), Selector("redis>=4"), "fail"),
            Expectation("*", Selector("redis-7.2"), Selector("*"), "error", "no 7.2 binary here"),
        )
    )
    report = hand_made(m)
    entry = row(report, "xautoclaim").entries[XAUTOCLAIM_FAIL]
    assert (entry.outcome, entry.measured, entry.symbol, entry.word) == (
        o.EXPECTED_FAILURE,
        o.FAIL,
        "✔?",
        "expected",
    )
    assert entry.note == "bug"
    assert row(report, "xreadgroup").entries[OLD_CLIENT_FAIL].outcome == o.EXPECTED_FAILURE
    assert report.unexpected == []
    assert row(report, "xautoclaim").breaks[0].expected
    test_id = "test_redis62.TestRedis62Streams::test_xautoclaim_client_method"
    assert set(report.expected) == {
        (XAUTOCLAIM_FAIL, test_id),
        (OLD_CLIENT_FAIL, "test_consumer_groups.TestSyncConsumerGroups::test_xreadgroup_and_xack"),
    }


def test_an_expected_unsupported_result_is_shown_as_expected():
    m = matrix(
        expected=(
            Expectation("xadd-explicit-seq", Selector("redis<7"), outcome=o.UNSUPPORTED_SERVER),
        )
    )
    entries = row(hand_made(m), "xadd-explicit-seq").entries
    assert entries["redis-6.2--redis-4.6--py3.11"].outcome == o.EXPECTED_FAILURE
    assert entries["redis-7.0--redis-4.6--py3.11"].outcome == o.PASS


def test_an_expectation_that_no_longer_holds_is_unexpected():
    m = matrix(
        expected=(Expectation("xautoclaim", Selector("redis-6.2"), outcome="unsupported-server"),)
    )
    found = [u for u in hand_made(m).unexpected if u.kind == "expectation no longer holds"]
    assert [(u.cell, u.outcome, u.expected) for u in found] == [
        ("redis-6.2--redis-4.6--py3.11", o.UNSUPPORTED_CLIENT, o.UNSUPPORTED_SERVER),
        ("redis-6.2--redis-5.0--py3.11", o.PASS, o.UNSUPPORTED_SERVER),
    ]


def test_an_expected_error_that_now_fails_is_an_expectation_no_longer_held():
    m = matrix(expected=(Expectation("xreadgroup", Selector("redis-6.0"), outcome="error"),))
    (item,) = [u for u in hand_made(m).unexpected if u.feature == "xreadgroup"]
    assert (item.kind, item.outcome, item.expected) == (
        "expectation no longer holds",
        o.FAIL,
        o.ERROR,
    )


def test_excluded_cells_show_as_excluded_with_their_reason():
    report = hand_made()
    excluded = report.cell("redis-6.0--redis-5.0--py3.11")
    assert (excluded.status, excluded.note) == (
        o.CELL_EXCLUDED,
        "redis 6.0 is only checked with the oldest client",
    )
    assert row(report, "xadd").entries[excluded.id].outcome == o.EXCLUDED


def test_a_cell_that_ran_is_never_hidden_by_an_exclusion_rule():
    """Exclusions are decided before a run; a rule that matches a cell only by its measured
    version (which the plan could not know) must not turn its results into 'excluded'."""
    m = matrix(exclude=(Exclude(server=Selector("valkey>=8"), reason="no valkey this week"),))
    valkey = hand_made(m).cell("valkey-8.0--redis-5.0--py3.11")
    assert valkey.status == o.CELL_OK


def baseline_of(report) -> dict:
    data = json.loads(json.dumps(to_dict(report)))
    data["source"] = "old/report.json"
    return data


def test_baseline_diff(tmp_path):
    before = baseline_of(hand_made())
    shutil.copytree(CELLS, tmp_path / "cells")
    cells = tmp_path / "cells"
    (cells / "valkey-8.0--redis-5.0--py3.11.xml").unlink()
    shutil.copy(REAL / "cells" / "valkey-9.1--redis-latest--py3.11.xml", cells)
    fixed = cells / "redis-6.0--redis-4.6--py3.11.xml"
    text = fixed.read_text().replace('value="fail"', 'value="pass"')
    fixed.write_text(text.replace("<failure", "<system-out").replace("</failure>", "</system-out>"))
    broken = cells / "redis-6.2--redis-5.0--py3.11.xml"
    broken.write_text(
        broken.read_text().replace(
            '<property name="outcome" value="pass" />',
            '<property name="outcome" value="fail" />',
            1,
        )
    )
    records, _ = load_cells([cells])
    diff = build_report(records, None, before).baseline
    assert diff.source == "old/report.json"
    assert [(c.cell, c.test, c.before, c.after) for c in diff.new_failures] == [
        (
            "redis-6.2--redis-5.0--py3.11",
            "test_streams_basics.TestSyncStreamsBasics::test_xadd_and_xrange",
            o.PASS,
            o.FAIL,
        )
    ]
    assert [(c.cell, c.feature, c.after) for c in diff.new_passes] == [
        (OLD_CLIENT_FAIL, "xreadgroup", o.PASS)
    ]
    assert diff.new_cells == ["valkey-9.1--redis-latest--py3.11"]
    assert diff.gone_cells == ["valkey-8.0--redis-5.0--py3.11"]


def test_a_cell_that_ran_before_and_cannot_run_now_is_a_new_failure():
    before = baseline_of(hand_made())
    status = before["cells"]["columns"].index("status")
    for c in before["cells"]["rows"]:
        if c[0] == CRASHED:
            c[status] = o.CELL_OK
    diff = hand_made(baseline=before).baseline
    assert [(c.cell, c.after) for c in diff.new_failures] == [(CRASHED, o.ERROR)]
    assert diff.new_cells == diff.gone_cells == [] and not diff.empty
    assert hand_made(baseline=baseline_of(hand_made())).baseline.empty


@pytest.mark.parametrize(
    ("content", "words"),
    [("{not json", "not JSON"), ('{"schema": "other/1"}', "not a streammatrix report.json")],
)
def test_an_unusable_baseline_is_a_clear_error(tmp_path, content, words):
    path = tmp_path / "report.json"
    path.write_text(content)
    with pytest.raises(BaselineError, match=words):
        load_baseline(path)
    with pytest.raises(BaselineError, match="cannot be read"):
        load_baseline(tmp_path / "missing.json")


def test_write_reports_writes_four_files_and_the_verdict(tmp_path):
    out = tmp_path / "report"
    result = write_reports([CELLS], out, matrix(), None)
    assert {k: p.name for k, p in result.paths.items()} == {
        "junit": "junit.xml",
        "json": "report.json",
        "markdown": "report.md",
        "html": "report.html",
        "badge": "badge.json",
    }
    assert all(p.is_file() for p in result.paths.values())
    assert not result.ok and len(result.unexpected) == 2 and result.new_failures == []
    lines = result.summary_lines()
    assert lines[0].startswith("8 cells (")
    assert lines[1 : len(headline.lines(result.report)) + 1] == headline.lines(result.report)
    assert any(line.startswith("2 unexpected") for line in lines)
    assert any(line.startswith("1 fail(s) below a feature's minimum") for line in lines)
    # The merged JUnit: one suite per cell.
    suites = list(JUnitXml.fromfile(str(result.paths["junit"])))
    assert [s.name for s in suites] == [c.id for c in result.report.cells]
    # Logs are linked relative to the report, wherever the cell files came from.
    crashed = result.report.cell(CRASHED)
    assert (out / crashed.log).resolve() == (DATA / "logs" / f"{CRASHED}.log").resolve()


def test_report_json_follows_its_schema(tmp_path):
    data_dir = tmp_path / "out"
    baseline = tmp_path / "old.json"
    write_reports([CELLS], data_dir, None, None).paths["json"].replace(baseline)
    result = write_reports([CELLS, REAL], data_dir, matrix(), baseline)
    data = json.loads(result.paths["json"].read_text())
    jsonschema.validate(data, json_schema())
    assert data["schema"] == SCHEMA == "streammatrix-report/3"
    cells = {c["id"]: c for c in rows_of(data["cells"])}
    valkey = cells["valkey-9.1--redis-latest--py3.11"]
    assert (valkey["server_entry"], valkey["server_name"], valkey["server_version"]) == (
        "valkey-9.1",
        "valkey",
        "9.1.2",
    )
    assert valkey["server_measured"] is True
    assert valkey["client_version"] == "8.1.0" and valkey["status"] == "ok"
    assert cells[CRASHED]["status"] == "error" and cells[CRASHED]["server_measured"] is False
    features = {f["key"]: f for f in rows_of(data["features"])}
    assert features["Redis 6.2/xautoclaim"]["non_monotone"] is True
    column = list(cells).index(XAUTOCLAIM_FAIL)
    assert data["codes"][features["Redis 6.2/xautoclaim"]["grid"][column]] == "fail"
    # Hand-made cells lack most of the real suite's required features: no minimum holds.
    assert [(m["server_family"], m["server"]) for m in data["minimum"]] == [
        ("redis", None),
        ("valkey", None),
    ]
    assert set(data["baseline"]["new_cells"]) == {
        "redis-6.2--redis-latest--py3.11",
        "valkey-9.1--redis-latest--py3.11",
    }
    # Both sets hold a redis-6.2--redis-4.6 cell with different results: which one is right is
    # unknown, so the disagreement is unexpected.
    assert any(
        u["kind"] == "conflicting files" and u["cell"] == "redis-6.2--redis-4.6--py3.11"
        for u in rows_of(data["unexpected"])
    )
    # a failing test's outcome is a code in its cell's string, its message stored once
    failing = cells[XAUTOCLAIM_FAIL]
    notes = {n[0]: n for n in failing["notes"]}
    fails = [i for i, c in enumerate(failing["outcomes"]) if data["codes"][c] == "fail"]
    assert fails and data["messages"][notes[fails[0]][2]].startswith("AssertionError")
    assert {lat["test"] for lat in rows_of(data["latencies"])} >= {
        "test_high_throughput.TestHighThroughput::test_single_publish_latency"
    }


def test_markdown_fits_a_job_summary(tmp_path):
    result = write_reports([CELLS], tmp_path, matrix(), None)
    text = result.paths["markdown"].read_text()
    assert all(f"**{md_text(line)}**" in text for line in headline.lines(result.report))
    assert "How the minimum is defined" in text
    assert "### ✘ Unexpected results (2)" in text
    assert (
        "| xautoclaim | " in text and "⚠ non-monotone: `redis-7.0--redis-5.0--py3.11` fail" in text
    )
    grid_line = next(line for line in text.splitlines() if line.startswith("| xautoclaim | ⊘"))
    assert grid_line.count("|") == 10 and "⊘ client" in grid_line and "✘ fail" in grid_line
    details = text.split("### Failure details", 1)[1]
    failure = next(line for line in details.splitlines() if "XREADGROUP returned 2" in line)
    assert failure.startswith("- ✘ fail `redis-6.0--redis-4.6--py3.11`")
    assert failure.endswith(".log)") and "[log](" in failure
    assert len(text) < 65_536


def test_markdown_leaves_out_a_grid_too_large_for_a_comment(monkeypatch):
    monkeypatch.setattr(report_render, "MARKDOWN_GRID_LIMIT", 100)
    text = report_render.render_markdown(hand_made())
    assert "too large for this page: see report.html" in text
    assert "C1 = " not in text


def test_report_from_real_cells(tmp_path):
    result = write_reports([REAL], tmp_path, matrix(), None)
    report = result.report
    assert result.ok and result.warnings == []
    assert [(m.server, m.client) for m in report.minimums] == [
        ("6.2.5", "4.6.0"),
        ("9.1.2", "8.1.0"),
    ]
    assert headline.lines(report)[0].startswith("Redis >= 6.2.5 (lowest tested) with redis-py")
    groups = [g.name for g in report.groups]
    assert groups[:6] == [  # the suite's collection order
        "async streams basics",
        "sync consumer groups",
        "error handling",
        "high throughput",
        "sync streams basics",
        "stream metadata",
    ]
    # xinfo-stream-full (TestStreamMetadata) is marked since 6.0.0: a group of its own
    assert groups[6:] == [
        "Redis 6.0",
        "Redis 6.2",
        "Redis 7.0",
        "Redis 7.2",
        "Redis 7.4",
        "Redis 8.2",
    ]
    assert row(report, "xautoclaim").entries["redis-6.2--redis-4.6--py3.11"].outcome == o.PASS
    newer = row(report, "xadd-explicit-ms-auto-seq").entries
    assert newer["redis-6.2--redis-latest--py3.11"].outcome == o.UNSUPPORTED_SERVER
    assert newer["valkey-9.1--redis-latest--py3.11"].outcome == o.PASS
    assert len(report.latencies) == 6
    for latency in report.latencies:
        assert set(latency.values) == {c.id for c in report.cells}
        assert all(ms >= 0 and target > 0 for ms, target in latency.values.values())
    html = result.paths["html"].read_text()
    assert '<h2 id="latency">Latency</h2>' in html
    assert "xadd batch of 100 in pipeline" in html


def test_no_cells_at_all_is_unexpected(tmp_path):
    result = write_reports([tmp_path / "nothing"], tmp_path / "out", None, None)
    assert not result.ok
    assert [str(u) for u in result.unexpected] == ["no cells: there were no cell results at all"]
    assert result.summary_lines()[:2] == [
        "0 cells, 0 test results",
        "No cell ran to the end, so no minimum supported version can be stated.",
    ]
    jsonschema.validate(json.loads(result.paths["json"].read_text()), json_schema())


def test_messages_are_escaped_in_html_and_markdown():
    evil = cell("6.2.5", "5.0.8", passing=False)
    evil.tests[0].message = "<script>alert(1)</script> | ok"
    report = build_report([evil], None, None)
    html = report_render.render_html(report)
    markdown = report_render.render_markdown(report)
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>" not in markdown and "&lt;script&gt;" in markdown and "\\| ok" in markdown


def test_an_expectation_for_a_feature_no_test_has_is_a_warning():
    m = matrix(expected=(Expectation("xautoclaimm", Selector("*"), outcome="fail"),))
    warnings = hand_made(m).warnings
    assert "expected: feature 'xautoclaimm' matches no test (a typo?)" in warnings
