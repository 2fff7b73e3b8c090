"""The stream suite against real servers, run the way the runner runs a cell.

Redis 6.2 and 7.0 come from the binary provider; the suite runs in a subprocess with the plugin
and ``--junitxml``, and the classified outcomes are read back from the JUnit file. These skip
only when the provider cannot get a binary (PyPI/Debian unreachable); CI turns that into a
failure.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis
from support import ROOT
from support import servers as h

from streammatrix.config.load import load
from streammatrix.plugin import outcomes
from streammatrix.servers.base import RunningServer, serve
from streammatrix.servers.binary.provider import BinaryProvider

pytestmark = pytest.mark.servers

SUITE = ROOT / "tests" / "streams"
SEED_LATENCY_TARGETS = {
    "test_xadd_single_message": 1,
    "test_xadd_batch_of_100_in_pipeline": 10,
    "test_xreadgroup_two_consumers_each_message_once": 5,
    "test_1000_messages_in_pipelined_batches_read_back_in_order": 500,
    "test_five_consumer_threads_share_one_group": 1000,
}


@dataclass
class Case:
    classname: str
    name: str
    properties: dict[str, str]

    @property
    def outcome(self) -> str:
        return self.properties.get(outcomes.CASE_OUTCOME, "")

    @property
    def feature(self) -> str:
        return self.properties.get(outcomes.CASE_FEATURE, "")

    @property
    def cls(self) -> str:
        return self.classname.rsplit(".", 1)[-1]


@dataclass
class CellRun:
    server: RunningServer
    proc: subprocess.CompletedProcess[str]
    junit: Path
    suite_name: str
    suite_properties: dict[str, str]
    cases: list[Case] = field(default_factory=list)

    def outcome_of(self, test_name: str) -> str:
        (case,) = [c for c in self.cases if c.name == test_name]
        return case.outcome

    def by_feature(self, feature: str) -> set[str]:
        return {c.outcome for c in self.cases if c.feature == feature}

    @property
    def output(self) -> str:
        return self.proc.stdout[-4000:] + self.proc.stderr[-4000:]


def run_cell(server: RunningServer, junit: Path, prefix: str, cell_id: str) -> subprocess.Popen:
    """Start the suite exactly as the runner does for one cell."""
    cell = {"id": cell_id, "server": server.spec.name, "client": "redis-installed", "python": ""}
    env = {
        **os.environ,
        "TEST_REDIS_ENABLED": "true",
        "REDIS_URL": server.url,
        "TEST_STREAM_PREFIX": prefix,
        "TEST_REDIS_CLIENT": "redis",
        "STREAMMATRIX_CELL": json.dumps(cell),
        "PYTHONPATH": str(ROOT / "src"),
        # a claimed protocol, so that the plugin's proof of it is checked too (redis-py 8
        # would speak RESP3 by default)
        "TEST_REDIS_PROTOCOL": "2",
    }
    argv = [
        sys.executable,
        "-m",
        "pytest",
        str(SUITE),
        "-p",
        "streammatrix.plugin.pytest_plugin",
        f"--junitxml={junit}",
        "-o",
        f"junit_suite_name={cell_id}",
        "-o",
        "junit_family=xunit1",
        "-q",
        "-p",
        "no:cacheprovider",
    ]
    return subprocess.Popen(
        argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def collect(server: RunningServer, popen: subprocess.Popen, junit: Path) -> CellRun:
    stdout, stderr = popen.communicate(timeout=600)
    proc = subprocess.CompletedProcess(popen.args, popen.returncode, stdout, stderr)
    assert junit.exists(), stdout + stderr
    root = ET.parse(junit).getroot()
    suite = root if root.tag == "testsuite" else root.find("testsuite")
    assert suite is not None
    props = {p.get("name", ""): p.get("value", "") for p in suite.findall("./properties/property")}
    cases = [
        Case(
            c.get("classname", ""),
            c.get("name", ""),
            {p.get("name", ""): p.get("value", "") for p in c.findall("./properties/property")},
        )
        for c in suite.findall("testcase")
    ]
    return CellRun(server, proc, junit, suite.get("name", ""), props, cases)


@pytest.fixture(scope="module", params=["redis-6.2", "redis-7.0"])
def server(request) -> Iterator[RunningServer]:
    spec = h.by_name(request.param)
    with h.reachable(), serve(BinaryProvider(), spec) as running:
        yield running


@pytest.fixture(scope="module")
def cell(server, tmp_path_factory) -> CellRun:
    junit = tmp_path_factory.mktemp("cell") / "junit.xml"
    cell_id = f"{server.spec.name}--redis--py{sys.version_info[0]}.{sys.version_info[1]}"
    return collect(server, run_cell(server, junit, "test_stream_outcomes_", cell_id), junit)


def test_every_test_is_classified_and_nothing_fails(cell):
    assert cell.proc.returncode == 0, cell.output
    assert len(cell.cases) >= 45
    for case in cell.cases:
        assert case.feature, case.name
        assert case.properties.get(outcomes.CASE_SINCE), case.name
        assert case.outcome in outcomes.TEST_OUTCOMES, case
    bad = [(c.name, c.properties) for c in cell.cases if c.outcome in (outcomes.FAIL, "error")]
    assert not bad, bad


def test_seed_classes_pass(cell):
    required = load(ROOT / "matrix.yaml").required
    seed = [c for c in cell.cases if c.cls in required]
    assert {c.cls for c in seed} == set(required)
    assert {c.name: c.outcome for c in seed if c.outcome != outcomes.PASS} == {}


def test_gated_features_by_server_version(cell):
    version = cell.suite_properties[outcomes.SUITE_SERVER_REDIS_VERSION]
    seven = version.startswith("7.0")
    assert version.startswith(("6.2", "7.0")), version
    # 6.2 features pass on both
    for feature in ("xautoclaim", "xadd-nomkstream", "trim-minid", "trim-limit", "xpending-idle"):
        assert cell.by_feature(feature) == {outcomes.PASS}, feature
    assert cell.by_feature("xgroup-createconsumer") == {outcomes.PASS}
    # 7.0 features: unsupported on 6.2, pass on 7.0
    for feature in (
        "xadd-explicit-ms-auto-seq",
        "xgroup-create-entriesread",
        "xgroup-setid-entriesread",
        "xinfo-stream-entries-added",
        "xinfo-groups-lag",
        "xautoclaim-deleted-ids",
    ):
        expected = outcomes.PASS if seven else outcomes.UNSUPPORTED_SERVER
        assert cell.by_feature(feature) == {expected}, feature
    # the server has XSETID ENTRIESADDED from 7.0; redis-py has no xsetid method at all
    assert cell.outcome_of("test_xsetid_entriesadded_maxdeletedid_command") == (
        outcomes.PASS if seven else outcomes.UNSUPPORTED_SERVER
    )
    assert cell.outcome_of("test_xsetid_entriesadded_maxdeletedid_method") == (
        outcomes.UNSUPPORTED_CLIENT
    )
    # newer than both
    for feature in (
        "xinfo-consumers-inactive",
        "xinfo-stream-full-active-time",
        "xread-last-entry",
        "xackdel",
        "xdelex",
        "trim-keepref-delref",
    ):
        assert outcomes.UNSUPPORTED_SERVER in cell.by_feature(feature), feature
        assert cell.by_feature(feature) <= {
            outcomes.UNSUPPORTED_SERVER,
            outcomes.UNSUPPORTED_CLIENT,
        }, feature


def test_unsupported_results_are_junit_skips_with_their_class(cell):
    root = ET.parse(cell.junit).getroot()
    for case in root.iter("testcase"):
        props = {p.get("name"): p.get("value") for p in case.iter("property")}
        skipped = case.find("skipped")
        if props.get(outcomes.CASE_OUTCOME, "").startswith("unsupported-"):
            assert skipped is not None
            assert skipped.get("message", "").startswith(props[outcomes.CASE_OUTCOME] + ": ")
            assert props.get(outcomes.CASE_REASON)


def test_latencies_are_recorded_not_asserted(cell):
    for name, target in SEED_LATENCY_TARGETS.items():
        (case,) = [c for c in cell.cases if c.name == name]
        assert float(case.properties[outcomes.CASE_LATENCY_MS]) >= 0
        assert float(case.properties[outcomes.CASE_LATENCY_TARGET_MS]) == target


def test_suite_properties_describe_the_cell(cell):
    props = cell.suite_properties
    assert cell.suite_name == props[outcomes.SUITE_CELL]
    assert props[outcomes.SUITE_CELL_SERVER] == cell.server.spec.name
    assert props[outcomes.SUITE_SERVER_NAME] == "redis"
    assert props[outcomes.SUITE_SERVER_VERSION] == cell.server.identity.version
    assert props[outcomes.SUITE_CLIENT_NAME] == "redis"
    assert props[outcomes.SUITE_CLIENT_VERSION] == redis.__version__
    assert props[outcomes.SUITE_CELL_PROTOCOL] == "2"
    assert props[outcomes.SUITE_CELL_RESP] == "2"  # measured on the suite's own connections
    for kind in ("sync", "async"):  # every one of them, of either kind
        assert int(props[f"connections.{kind}"]) > 0
        assert props[f"connections.{kind}.resp"] == f"2={props[f'connections.{kind}']}"
    assert props[outcomes.SUITE_PYTHON_VERSION].startswith(
        f"{sys.version_info[0]}.{sys.version_info[1]}."
    )


def test_no_key_left_behind(cell):
    client = redis.Redis(host=cell.server.host, port=cell.server.port)
    try:
        assert list(client.scan_iter(match="test_stream_outcomes_*")) == []
    finally:
        client.close()


@pytest.mark.parametrize("name", ["redis-7.0"])
def test_two_cells_share_one_server_at_the_same_time(name, tmp_path):
    """Two prefixes at once on one server: both green, other keys untouched, nothing left."""
    spec = h.by_name(name)
    with h.reachable(), serve(BinaryProvider(), spec) as running:
        client = redis.Redis(host=running.host, port=running.port, decode_responses=True)
        try:
            sentinel = f"not-the-suite:{uuid.uuid4().hex}"
            client.xadd(sentinel, {"keep": "me"})
            client.set(sentinel + ":string", "keep")
            runs = []
            for n in (1, 2):
                junit = tmp_path / f"cell{n}.xml"
                popen = run_cell(running, junit, f"test_stream_cell{n}_", f"concurrent-{n}")
                runs.append((popen, junit))
            results = [collect(running, popen, junit) for popen, junit in runs]
            for result in results:
                assert result.proc.returncode == 0, result.output
                assert not [c.name for c in result.cases if c.outcome == outcomes.FAIL]
            assert client.xlen(sentinel) == 1
            assert client.get(sentinel + ":string") == "keep"
            assert sorted(client.scan_iter(match="*")) == sorted([sentinel, sentinel + ":string"])
        finally:
            client.close()


def test_the_readme_command_by_hand(server, tmp_path):
    """Exactly what README.md shows a user: no runner, no -p, no -o; the plugin arrives through
    its entry point because the project is installed."""
    junit = tmp_path / "streams.xml"
    env = {
        **os.environ,
        "TEST_REDIS_ENABLED": "true",
        "REDIS_URL": server.url,
        "TEST_STREAM_PREFIX": "test_stream_by_hand_",
    }
    env.pop("STREAMMATRIX_CELL", None)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/streams", f"--junitxml={junit}"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "warning" not in done.stdout.splitlines()[-1], done.stdout
    text = junit.read_text()
    assert 'name="outcome" value="pass"' in text
    assert 'name="server.version"' in text
