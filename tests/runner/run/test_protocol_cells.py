"""The protocol axis end to end: a real redis-7.0 x (redis-py 4.6.0, 5.0.x, newest) x (RESP2,
RESP3, RESP3 unified) matrix, checked from the cell files and the report; and a suite whose
client ignores the protocol it is told, whose cell must be an error."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from junitparser import JUnitXml
from support import PY
from support.matrix import copy_suite, write_matrix

from streammatrix.junit.format import properties
from streammatrix.plugin import outcomes as o
from streammatrix.report.analysis.stored import expand

pytestmark = [pytest.mark.servers, pytest.mark.slow]

CLIENTS = [
    {"name": "old", "version": "4.6.0"},
    {"name": "five", "version": "5.0.*"},
    {"name": "new", "version": "latest"},
]


def run(tmp_path: Path, config: Path, report: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable, "-m", "streammatrix", "run", "--config", str(config),
            "--envdir", str(tmp_path / "envs"), "--report-dir", str(tmp_path / report),
            "--workers", "2",
        ],
        capture_output=True, text=True, timeout=1200, check=False,
    )  # fmt: skip


def cell_file(path: Path) -> tuple[dict[str, str], dict[str, str]]:
    """(suite properties, test name -> outcome) of one cell file."""
    xml = JUnitXml.fromfile(str(path))
    suite = next(iter(xml))
    tests = {case.name: properties(case).get(o.CASE_OUTCOME, "") for case in suite}
    return properties(suite), tests


@pytest.fixture(scope="module")
def protocol_run(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("protocols")
    copy_suite(tmp_path / "suite")
    config = write_matrix(
        tmp_path / "matrix.yaml",
        servers=["redis-7.0"],
        clients=CLIENTS,
        protocols=[2, 3, "3-unified"],
    )
    done = run(tmp_path, config, "report")
    return tmp_path / "report", done


def test_every_cell_spoke_the_protocol_it_claims(protocol_run):
    report, done = protocol_run
    output = done.stdout + done.stderr
    files = sorted(p.stem for p in (report / "cells").glob("*.xml"))
    assert files == sorted(
        f"redis-7.0--{c['name']}--py{PY}--resp{p}" for c in CLIENTS for p in ("2", "3", "3-unified")
    ), output
    for name in files:
        props, tests = cell_file(report / "cells" / f"{name}.xml")
        claim = name.rsplit("--resp", 1)[1]
        assert props[o.SUITE_CELL_PROTOCOL] == claim
        assert props[o.SUITE_CELL_STATUS] == o.CELL_OK, (name, props)
        if name in (
            f"redis-7.0--old--py{PY}--resp3",
            f"redis-7.0--old--py{PY}--resp3-unified",
            f"redis-7.0--five--py{PY}--resp3-unified",
        ):
            # redis-py 4.6.0 has no protocol option, 5.0 no legacy_responses: nothing to
            # measure, and every test says why
            assert props[o.SUITE_CELL_RESP] == "", props
            assert set(tests.values()) == {o.UNSUPPORTED_CLIENT}, tests
            continue
        assert props[o.SUITE_CELL_RESP] == claim[0], (name, props)
        assert props[o.SUITE_CELL_RESP_SOURCE] == "CLIENT INFO"  # Redis 7.0
        for kind in ("sync", "async"):  # every connection of either kind, as the server says
            count = props[f"connections.{kind}"]
            assert props[f"connections.{kind}.resp"] == f"{claim[0]}={count}", (name, props)
        assert o.PASS in tests.values()


def test_the_unsupported_protocol_names_its_cause(protocol_run):
    report, _ = protocol_run
    data = expand(json.loads((report / "report.json").read_text()))
    old_resp3 = [t for t in data["tests"] if t["cell"] == f"redis-7.0--old--py{PY}--resp3"]
    assert old_resp3
    assert all("unexpected keyword argument 'protocol'" in t["reason"] for t in old_resp3)
    five = [t for t in data["tests"] if t["cell"] == f"redis-7.0--five--py{PY}--resp3-unified"]
    assert five
    assert all("unexpected keyword argument 'legacy_responses'" in t["reason"] for t in five)


def test_the_report_lists_what_depends_on_the_protocol(protocol_run):
    report, _ = protocol_run
    data = expand(json.loads((report / "report.json").read_text()))
    by_cell = {c["id"]: c for c in data["cells"]}
    assert by_cell[f"redis-7.0--five--py{PY}--resp3"]["protocol"]["resp"] == "3"
    dependent = {
        (d["feature"], d["client"]): {s["protocol"]: s for s in d["sides"]}
        for d in data["protocol_dependent"]
    }
    five = next(c for (f, c) in dependent if c.startswith("redis-py 5.0"))
    sides = dependent[("reply-shape-xread", five)]
    assert sides["RESP2"]["outcome"] == o.PASS
    assert sides["RESP3"]["outcome"] == o.FAIL
    assert sides["RESP3"]["message"]  # the failure message of that side
    # the newest client's unified shapes: a dict too, and the report says how each side failed
    newest = next(c for (f, c) in dependent if f == "reply-shape-xread" and c != five)
    unified = dependent[("reply-shape-xread", newest)]
    assert unified["RESP2"]["outcome"] == o.PASS
    assert unified["RESP3 unified"]["outcome"] == o.FAIL, unified
    # redis-py 4.6.0 cannot speak RESP3 at all: a client fact, not a feature of the protocol
    assert not any(c.startswith("redis-py 4.6") for (_, c) in dependent)
    # minimum versions are stated per protocol
    assert {m["protocol"] for m in data["minimum"]} == {"2", "3", "3-unified"}
    markdown = (report / "report.md").read_text()
    section = markdown.split("### Depends on the protocol", 1)[1].split("###", 1)[0]
    assert "`reply shapes/reply-shape-xread`" in section
    html = (report / "report.html").read_text()
    assert '<th class="corner">protocol</th>' in html
    assert 'id="protocols"' in html
