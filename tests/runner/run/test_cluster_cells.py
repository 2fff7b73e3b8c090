"""The topology axis end to end: a real redis-7.0 x (redis-py 4.0.x, 4.6.0, newest) x
(standalone, cluster) matrix, and a server that cannot run as a cluster, checked from the cell
files and the report."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from junitparser import JUnitXml
from support import PY
from support.matrix import catalogue_servers, copy_suite, write_matrix

from streammatrix.junit import proof
from streammatrix.junit.format import properties
from streammatrix.plugin import outcomes as o

pytestmark = [pytest.mark.servers, pytest.mark.slow]

CLIENTS = [
    {"name": "four-oh", "version": "4.0.*"},
    {"name": "old", "version": "4.6.0"},
    {"name": "new", "version": "latest"},
]
# a server whose CLUSTER command is disabled, as some managed deployments do: it runs, but
# cannot be made a cluster
NO_CLUSTER = {
    **catalogue_servers("redis-7.0")[0],
    "name": "no-cluster",
    "args": ["--rename-command", "CLUSTER", ""],
}


def cell_file(path: Path) -> tuple[dict[str, str], dict[str, tuple[str, str]]]:
    """(suite properties, test name -> (outcome, reason)) of one cell file."""
    suite = next(iter(JUnitXml.fromfile(str(path))))
    tests = {}
    for case in suite:
        props = properties(case)
        tests[case.name] = (props.get(o.CASE_OUTCOME, ""), props.get(o.CASE_REASON, ""))
    return properties(suite), tests


@pytest.fixture(scope="module")
def cluster_run(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("topologies")
    copy_suite(tmp_path / "suite")
    config = write_matrix(
        tmp_path / "matrix.yaml",
        servers=["redis-7.0"],
        clients=CLIENTS,
        topologies=["standalone", "cluster"],
    )
    data = yaml.safe_load(config.read_text())
    data["servers"].append(NO_CLUSTER)
    config.write_text(yaml.safe_dump(data, sort_keys=False))
    done = subprocess.run(
        [
            sys.executable, "-m", "streammatrix", "run", "--config", str(config),
            "--envdir", str(tmp_path / "envs"), "--report-dir", str(tmp_path / "report"),
            "--workers", "2",
        ],
        capture_output=True, text=True, timeout=1200, check=False,
    )  # fmt: skip
    return tmp_path / "report", done


def test_the_cells_of_both_topologies_and_their_ids(cluster_run):
    report, done = cluster_run
    names = sorted(p.stem for p in (report / "cells").glob("*.xml"))
    assert names == sorted(
        f"{s}--{c['name']}--py{PY}{t}"  # a standalone cell keeps the plain id
        for s in ("redis-7.0", "no-cluster")
        for c in CLIENTS
        for t in ("", "--cluster")
    ), done.stdout + done.stderr


def test_every_cluster_cell_reached_a_cluster_and_every_standalone_cell_a_server(cluster_run):
    report, _ = cluster_run
    for client in ("old", "new"):
        for topology in ("standalone", "cluster"):
            tail = "--cluster" if topology == "cluster" else ""
            props, tests = cell_file(report / "cells" / f"redis-7.0--{client}--py{PY}{tail}.xml")
            assert props[o.SUITE_CELL_STATUS] == o.CELL_OK, props
            assert props[o.SUITE_CELL_TOPOLOGY] == topology
            # measured: INFO cluster of every connection, to whichever node
            assert props[o.SUITE_CELL_MODE] == topology
            modes = [proof.measured(props, kind, "mode") for kind in ("sync", "async")]
            assert all(list(m) == [topology] for m in modes), modes
            assert (o.SUITE_CELL_NODES in props) == (topology == "cluster")
            assert tests["test_a_group_per_stream_on_every_node"][0] == o.PASS


def test_a_client_without_a_cluster_client_is_unsupported_on_a_cluster(cluster_run):
    report, _ = cluster_run
    props, tests = cell_file(report / "cells" / f"redis-7.0--four-oh--py{PY}--cluster.xml")
    assert props[o.SUITE_CELL_STATUS] == o.CELL_OK
    assert {outcome for outcome, _ in tests.values()} == {o.UNSUPPORTED_CLIENT}
    assert "redis.cluster" in next(iter(tests.values()))[1]
    _, standalone = cell_file(report / "cells" / f"redis-7.0--four-oh--py{PY}.xml")
    assert standalone["test_a_group_per_stream_on_every_node"][0] == o.PASS


def test_crossslot_is_the_clusters_behaviour_and_not_red(cluster_run):
    report, _ = cluster_run
    for client in ("old", "new"):
        _, cluster = cell_file(report / "cells" / f"redis-7.0--{client}--py{PY}--cluster.xml")
        _, alone = cell_file(report / "cells" / f"redis-7.0--{client}--py{PY}.xml")
        for test in ("test_xread_streams_of_different_slots",
                     "test_xreadgroup_streams_of_different_slots"):  # fmt: skip
            outcome, reason = cluster[test]
            assert outcome == o.UNSUPPORTED_SERVER and "same key slot" in reason, reason
            assert alone[test][0] == o.PASS
        assert cluster["test_xread_streams_sharing_a_hash_tag"][0] == o.PASS
    data = json.loads((report / "report.json").read_text())
    red = json.dumps(data["unexpected"])
    assert "multi-stream" not in red and "different_slots" not in red


def test_a_server_that_cannot_be_a_cluster_makes_its_cluster_cells_unsupported(cluster_run):
    report, done = cluster_run
    for client in CLIENTS:
        name = f"no-cluster--{client['name']}--py{PY}--cluster.xml"
        props, tests = cell_file(report / "cells" / name)
        assert props[o.SUITE_CELL_STATUS] == o.CELL_OK, props
        assert tests and {outcome for outcome, _ in tests.values()} == {o.UNSUPPORTED_SERVER}
        reason = next(iter(tests.values()))[1]
        assert "cannot run as a cluster" in reason and "unknown command" in reason, reason
    props, tests = cell_file(report / "cells" / f"no-cluster--new--py{PY}.xml")
    assert tests["test_xadd_single_message"][0] == o.PASS
    assert "cannot run as a cluster" in done.stdout + done.stderr
