"""Reading per-cell JUnit files (hand-made edge cases and files from real cells) and writing the
merged JUnit file."""

from __future__ import annotations

import shutil

import pytest
from junitparser import Error, JUnitXml, Properties, Skipped
from support import DATA

from streammatrix.errors import MergeError
from streammatrix.junit.read import load_cells, read_file
from streammatrix.junit.write import write_junit
from streammatrix.plugin import outcomes as o

CELLS = DATA / "cells"
GARBAGE = DATA / "garbage"
REAL = DATA / "real" / "cells"


def by_id(cells):
    return {c.id: c for c in cells}


def props(element) -> dict[str, str]:
    return {p.name: p.value for p in (element.child(Properties) or ())}


def test_hand_made_cells_load_with_their_properties():
    cells, warnings = load_cells([CELLS])
    assert warnings == []
    cells = by_id(cells)
    assert len(cells) == 8
    valkey = cells["valkey-8.0--redis-5.0--py3.11"]
    assert (valkey.server_name, valkey.server_version, valkey.server_redis_version) == (
        "valkey",
        "8.0.1",
        "7.2.4",
    )
    assert (valkey.client_name, valkey.client_version, valkey.python_version) == (
        "redis",
        "5.0.8",
        "3.11.7",
    )
    assert valkey.status == o.CELL_OK and valkey.seconds == 3.2
    assert cells["redis-6.0--redis-5.0--py3.11"].status == o.CELL_EXCLUDED
    assert cells["redis-6.0--redis-5.0--py3.11"].tests == []
    crashed = cells["redis-7.2--redis-5.0--py3.11"]
    assert crashed.status == o.CELL_ERROR
    assert crashed.reason == "server redis-7.2 did not come up"
    assert "last lines" in crashed.detail
    assert crashed.tests == []  # the runner's stand-in test is not a feature


def test_outcomes_come_from_the_outcome_property():
    cells = by_id(load_cells([CELLS])[0])
    old = {t.name: t for t in cells["redis-6.0--redis-4.6--py3.11"].tests}
    assert old["test_xautoclaim_command"].outcome == o.UNSUPPORTED_SERVER
    assert old["test_xautoclaim_command"].reason.startswith("XAUTOCLAIM needs Redis 6.2")
    assert old["test_xautoclaim_command"].feature == "xautoclaim"
    assert old["test_xautoclaim_command"].since == "6.2"
    failed = old["test_xreadgroup_and_xack"]
    assert failed.outcome == o.FAIL
    assert failed.message.startswith("AssertionError: XREADGROUP returned 2 entries")
    assert "AssertionError" in failed.text
    assert old["test_single_publish_latency"].latency_ms == 1.9
    assert old["test_single_publish_latency"].latency_target_ms == 5.0
    assert old["test_xadd_and_xrange"].latency_ms is None


def test_cells_from_real_runs():
    cells, warnings = load_cells([REAL])
    assert warnings == []
    cells = by_id(cells)
    assert set(cells) == {
        "redis-6.2--redis-4.6--py3.11",
        "redis-6.2--redis-latest--py3.11",
        "valkey-9.1--redis-latest--py3.11",
    }
    old = cells["redis-6.2--redis-4.6--py3.11"]
    assert (old.server_version, old.client_version) == ("6.2.5", "4.6.0")
    tests = {t.name: t for t in old.tests}
    assert tests["test_xadd_single_message"].outcome == o.PASS
    assert tests["test_xadd_single_message"].class_name == "TestSyncStreamsBasics"
    assert tests["test_xadd_single_message"].latency_ms is not None
    assert {t.outcome for t in old.tests} >= {o.PASS, o.UNSUPPORTED_SERVER, o.UNSUPPORTED_CLIENT}
    valkey = cells["valkey-9.1--redis-latest--py3.11"]
    assert (valkey.server_name, valkey.server_version) == ("valkey", "9.1.2")


def test_a_foreign_xml_file_is_a_warning_naming_it_and_the_rest_is_merged(tmp_path):
    shutil.copytree(CELLS, tmp_path / "cells")
    shutil.copy(GARBAGE / "not-junit.xml", tmp_path / "cells" / "not-junit.xml")
    cells, warnings = load_cells([tmp_path])
    assert len(cells) == 8
    assert len(warnings) == 1
    assert "not-junit.xml" in warnings[0] and "not a JUnit XML file" in warnings[0]
    assert "skipped" in warnings[0]


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("truncated.xml", "not well-formed XML"),
        ("empty.xml", "not well-formed XML"),
        ("not-junit.xml", "not a JUnit XML file"),
    ],
)
def test_read_file_says_what_is_wrong_with_a_file(name, words):
    with pytest.raises(MergeError, match=words):
        read_file(GARBAGE / name)


def test_a_file_without_cell_properties_is_merged_with_a_warning():
    cells, warnings = load_cells([GARBAGE / "no-properties.xml"])
    (cell,) = cells
    assert cell.id == "no-properties"  # pytest's default suite name is not a cell id
    assert cell.server_version == "" and cell.status == o.CELL_OK
    assert [t.outcome for t in cell.tests] == [o.PASS, o.FAIL]
    assert [t.feature for t in cell.tests] == ["xadd_and_xrange", "xtrim_maxlen"]
    assert any("lacks the cell properties" in w and "no-properties.xml" in w for w in warnings)


def test_a_missing_input_is_a_warning(tmp_path):
    cells, warnings = load_cells([tmp_path / "nope", CELLS])
    assert len(cells) == 8
    assert warnings == [f"{tmp_path / 'nope'}: no such file or directory"]
    cells, warnings = load_cells([tmp_path])
    assert cells == [] and "no cell results" in warnings[-1]


def test_directories_are_read_recursively_like_ci_shard_artifacts(tmp_path):
    shards = {"shard-1": "redis-6.2--redis-4.6--py3.11", "shard-2": "valkey-8.0--redis-5.0--py3.11"}
    for shard, cell in shards.items():
        target = tmp_path / shard / "report" / "cells"
        target.mkdir(parents=True)
        shutil.copy(CELLS / f"{cell}.xml", target)
    cells, warnings = load_cells([tmp_path])
    assert sorted(c.id for c in cells) == sorted(shards.values())
    assert warnings == []


def test_skip_leaves_out_a_previous_merged_file(tmp_path):
    shutil.copytree(CELLS, tmp_path / "cells")
    write_junit(load_cells([CELLS])[0], tmp_path / "junit.xml")
    _, warnings = load_cells([tmp_path])
    assert len(warnings) == 8  # every cell twice
    _, warnings = load_cells([tmp_path], skip=[tmp_path / "junit.xml"])
    assert warnings == []


def test_an_unknown_outcome_falls_back_to_the_junit_result(tmp_path):
    text = (CELLS / "redis-6.2--redis-5.0--py3.11.xml").read_text()
    text = text.replace('name="outcome" value="unsupported-server"', 'name="outcome" value="meh"')
    (tmp_path / "cell.xml").write_text(text)
    (cell,), warnings = load_cells([tmp_path / "cell.xml"])
    test = next(t for t in cell.tests if t.name == "test_xadd_explicit_sequence")
    assert test.outcome == o.UNSUPPORTED_SERVER  # from <skipped message="unsupported-server: ...">
    assert any("unknown outcome 'meh'" in w for w in warnings)


def test_merged_junit_has_one_suite_per_cell_with_its_properties(tmp_path):
    cells, _ = load_cells([CELLS, REAL])
    path = write_junit(cells, tmp_path / "junit.xml")
    xml = JUnitXml.fromfile(str(path))
    suites = {s.name: s for s in xml}
    assert list(suites) == [c.id for c in cells]
    for cell in cells:
        assert props(suites[cell.id]) == cell.properties
    old = suites["redis-6.0--redis-4.6--py3.11"]
    assert (old.tests, old.failures, old.errors, old.skipped) == (10, 1, 0, 3)
    case = next(c for c in old if c.name == "test_xautoclaim_command")
    assert isinstance(case.result[0], Skipped)
    assert case.result[0].message.startswith("unsupported-server: ")
    assert props(case)["outcome"] == o.UNSUPPORTED_SERVER
    (stand_in,) = list(suites["redis-7.2--redis-5.0--py3.11"])
    assert isinstance(stand_in.result[0], Error)
    assert "did not come up" in stand_in.result[0].message
    (excluded,) = list(suites["redis-6.0--redis-5.0--py3.11"])
    assert isinstance(excluded.result[0], Skipped)
    assert xml.tests == sum(len(c.tests) for c in cells) + 2


def test_merged_junit_reads_back_into_the_same_cells(tmp_path):
    cells, _ = load_cells([CELLS, REAL])
    again, warnings = load_cells([write_junit(cells, tmp_path / "junit.xml")])
    assert warnings == []
    for before, after in zip(cells, again):
        assert (after.id, after.properties, after.detail) == (
            before.id,
            before.properties,
            before.detail,
        )
        assert [(t.id, t.feature, t.outcome, t.message, t.latency_ms) for t in after.tests] == [
            (t.id, t.feature, t.outcome, t.message, t.latency_ms) for t in before.tests
        ]


def test_an_expected_failure_is_written_as_skipped_not_failed(tmp_path):
    cells, _ = load_cells([CELLS / "redis-7.0--redis-5.0--py3.11.xml"])
    test_id = "test_redis62.TestRedis62Streams::test_xautoclaim_client_method"
    key = ("redis-7.0--redis-5.0--py3.11", test_id)
    path = write_junit(cells, tmp_path / "junit.xml", expected={key: "redis-py 5.0 bug #1"})
    (suite,) = list(JUnitXml.fromfile(str(path)))
    assert suite.failures == 0 and suite.skipped == 1
    case = next(c for c in suite if c.name == "test_xautoclaim_client_method")
    assert case.result[0].message.startswith("expected-failure: redis-py 5.0 bug #1 (fail: ")
    assert props(case)["outcome"] == o.FAIL and props(case)["expected"] == "redis-py 5.0 bug #1"


UNMARKED = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="c" tests="3">
<properties><property name="cell" value="c" /></properties>
<testcase classname="test_x.TestSync" name="test_add">
  <properties><property name="outcome" value="pass" />
  <property name="nodeid" value="/s/test_x.py::TestSync::test_add" /></properties></testcase>
<testcase classname="test_x.TestAsync" name="test_add">
  <properties><property name="outcome" value="fail" />
  <property name="nodeid" value="/s/test_x.py::TestAsync::test_add" /></properties>
  <failure message="boom">boom</failure></testcase>
<testcase classname="test_x" name="test_pool[a-b]">
  <properties><property name="outcome" value="pass" />
  <property name="nodeid" value="/s/test_x.py::test_pool[a-b]" /></properties></testcase>
</testsuite></testsuites>
"""


def test_a_test_without_a_feature_mark_is_a_feature_of_its_own(tmp_path):
    path = tmp_path / "c.xml"
    path.write_text(UNMARKED)
    ((cell,), _) = load_cells([path])
    # one method name in two classes: two features, each with its own outcome
    assert [t.feature for t in cell.tests] == [
        "TestSync::test_add", "TestAsync::test_add", "test_pool",
    ]  # fmt: skip
    assert not any(t.marked for t in cell.tests)
    assert cell.feature_outcomes() == {
        "TestSync::test_add": o.PASS, "TestAsync::test_add": o.FAIL, "test_pool": o.PASS,
    }  # fmt: skip
