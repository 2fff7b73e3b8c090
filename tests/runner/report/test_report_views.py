"""The answer on one screen at any scale: the headline, the glance, report.md's minimum table,
history and baseline per protocol, and the compact report.json (schema /3) with the earlier
schemas still read as baselines."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pytest
from packaging.version import Version
from support import DATA, ROOT
from support.cells import default_rule, write_cells

from streammatrix.config.load import load
from streammatrix.config.model import Matrix
from streammatrix.junit.read import load_cells
from streammatrix.junit.records import CellRecord, TestRecord
from streammatrix.plugin import outcomes as o
from streammatrix.report.analysis.baseline import BaselineError, load_baseline
from streammatrix.report.analysis.stored import expand, rows_of, unpack_history
from streammatrix.report.build import build_report, write_reports
from streammatrix.report.views import headline, markdown
from streammatrix.report.views.json_view import json_schema, to_dict
from streammatrix.report.views.render import MARKDOWN_BUDGET, render_markdown
from streammatrix.report.views.summary import COLUMN_LIMIT, overview

REQUIRED = load(ROOT / "matrix.yaml").required
PROTOCOLS = DATA / "protocols"  # real cells: RESP2 passes, RESP3 breaks the reply shapes
OLD_SCHEMA = DATA / "baselines" / "protocols-v2.json"  # written by the /2 writer from them
SERVERS = [("redis-6.2", "redis", "6.2.5"), ("redis-7.0", "redis", "7.0.15"),
           ("redis-7.2", "redis", "7.2.4"), ("valkey-8.0", "valkey", "8.0.1")]  # fmt: skip
CLIENTS = [(f"redis-{v}", v) for v in (
    "4.0.0", "4.0.2", "4.1.0", "4.1.4", "4.2.0", "4.2.2", "4.3.0", "4.3.6", "4.4.0", "4.4.4",
    "4.5.0", "4.5.5", "4.6.0", "5.0.8", "6.4.0", "7.0.1", "8.2.0",
)]  # fmt: skip


def matrix() -> Matrix:
    return Matrix(Path("matrix.yaml"), (), (), ("3.11",), required=tuple(REQUIRED))


def resp3_breaks_reads(feature, since, base, server, client):
    """RESP3 on redis-py 5+: every XREAD-like reply has another shape (what the real suite
    measures); redis-py 4 cannot speak it at all."""
    if client < Version("5"):
        return o.UNSUPPORTED_CLIENT
    if "xread" in feature:
        return o.FAIL
    return default_rule(feature, since, base, server, client)


@pytest.fixture(scope="module")
def default_like(tmp_path_factory):
    """The default matrix's shape: 4 servers x 17 clients x 2 Pythons x RESP2/RESP3 (272)."""
    root = tmp_path_factory.mktemp("default")
    for python in ("3.11", "3.13"):
        write_cells(root / "cells", SERVERS, CLIENTS, pythons=(python,), protocol="2")
        write_cells(root / "cells", SERVERS, CLIENTS, (python,), resp3_breaks_reads, "3")
    return write_reports([root / "cells"], root / "report", matrix(), None)


def test_the_headline_is_three_short_lines_that_say_why_a_protocol_fails(default_like):
    lines = headline.lines(default_like.report)
    assert len(lines) <= 3 and len("\n".join(lines)) <= 300
    resp2, resp3, red = lines
    assert resp2.startswith("RESP2: Redis >= 6.2.5 (lowest tested), Valkey >= 8.0.1")
    assert "with redis-py >= 4.0.0 (lowest tested)" in resp2
    # RESP3 fails everywhere: the clause names the features, and from which client on
    assert resp3.startswith("RESP3: none passes on Redis, Valkey: xread")
    assert "fail on every redis-py >= 5.0.8" in resp3
    assert red.startswith(f"{len(default_like.report.unexpected)} red result")


def cluster_needs_five(feature, since, base, server, client):
    """A cluster client that routes every stream command from redis-py 5 on."""
    if client < Version("5"):
        return o.FAIL
    return default_rule(feature, since, base, server, client)


def test_the_headline_keeps_one_line_per_protocol_with_a_cluster_row(tmp_path):
    """The default matrix's shape with a cluster row on one server (both protocols): the
    standalone answer and its requirement lead each protocol's line, the cluster's follows
    it, and RESP3 still says why it fails, all in 300 characters."""
    cells = tmp_path / "cells"
    for protocol, rule in (("2", default_rule), ("3", resp3_breaks_reads)):
        write_cells(cells, SERVERS, CLIENTS, ("3.11",), rule, protocol, "standalone")
        cluster_rule = cluster_needs_five if protocol == "2" else resp3_breaks_reads
        write_cells(cells, SERVERS[1:2], CLIENTS, ("3.11",), cluster_rule, protocol, "cluster")
    report = write_reports([cells], tmp_path / "report", matrix(), None).report
    lines = headline.lines(report)
    assert len(lines) == 3 and len("\n".join(lines)) <= 300, lines
    resp2, resp3, _ = lines
    assert resp2.startswith("RESP2: Redis >= 6.2.5"), resp2
    assert "with redis-py >= 4.0.0" in resp2 and ": redis>=4.0.0" in resp2
    assert "; cluster: Redis >= 7.0.15 with redis-py >= 5.0.8" in resp2
    assert resp3.startswith("RESP3: none passes on Redis, Valkey: xread"), resp3


def test_the_glance_stays_a_glance(default_like):
    table = overview(default_like.report)
    assert table.columns <= COLUMN_LIMIT
    assert table.folded_axes == ["python"]  # Python changes nothing here; protocol does
    assert "Redis 7.0.15 · RESP3" in table.servers and "Redis 7.0.15 · RESP2" in table.servers
    assert "redis-py 5.0.8-8.2.0" in table.clients
    assert str(table.get("Redis 7.0.15 · RESP3", "redis-py 5.0.8-8.2.0")).startswith("✘")


def test_report_md_always_carries_every_required_feature_minimum(default_like):
    text = default_like.paths["markdown"].read_text()
    assert len(text.encode()) < MARKDOWN_BUDGET
    table = text.split("### Minimum versions per feature", 1)[1].split("\n###", 1)[0]
    header = table.strip().splitlines()[0]
    # the client minimum differs between the protocols: a column each
    assert "redis-py RESP2 ≥" in header and "redis-py RESP3 ≥" in header
    rows = {line.split(" | ")[1].removesuffix(" (required)"): line for line in table.splitlines()
            if line.startswith("| ") and " | " in line}  # fmt: skip
    for row in default_like.report.rows:
        if row.required:
            assert row.feature in rows
    # what bounds a minimum is said, never a bare "never"
    assert "6.2.5 (lowest tested)" in rows["xadd"]
    assert "fails where it runs" in rows["xread"]  # RESP3: fails on 5+, unsupported below
    assert "client lacks it" in table and "server lacks it" in table
    assert " never " not in table


def test_history_agrees_with_the_headline_per_protocol(default_like, tmp_path):
    # the next night, with tonight's report.json as its baseline
    cells = default_like.paths["json"].parent.parent / "cells"
    night = write_reports([cells], tmp_path, matrix(), default_like.paths["json"])
    lines = headline.lines(night.report)
    minimums = night.report.history["minimums"]
    assert set(minimums) == {"redis/redis/RESP2", "redis/redis/RESP3", "valkey/redis/RESP2",
                             "valkey/redis/RESP3"}  # fmt: skip
    resp2 = minimums["redis/redis/RESP2"]
    assert f"Redis >= {resp2['server']} " in lines[0]
    assert f"redis-py >= {resp2['client']}" in lines[0]
    assert minimums["redis/redis/RESP3"]["server"] is None and "none passes" in lines[1]
    md = night.paths["markdown"].read_text()
    assert f"minimum redis/redis/RESP2: {resp2['server']} / {resp2['client']}," in md


def test_a_29_release_range_with_one_broken_span_is_a_few_columns(tmp_path):
    releases = [f"4.{minor}.{patch}" for minor in range(0, 6) for patch in range(0, 5)][:29]
    clients = [(f"redis-{v}", v) for v in releases]

    def broken_span(feature, since, base, server, client):
        if feature == "xadd" and Version("4.2.1") <= client <= Version("4.2.3"):
            return o.FAIL
        return o.PASS if base != o.UNSUPPORTED_SERVER else base

    write_cells(tmp_path / "cells", SERVERS[:2], clients, rule=broken_span)
    report = build_report(load_cells([tmp_path / "cells"])[0], matrix(), None)
    table = overview(report)
    assert table.columns <= 5
    assert table.clients == ["redis-py 4.0.0-4.2.0", "redis-py 4.2.1-4.2.3", "redis-py 4.2.4-4.5.3"]
    assert str(table.get("Redis 7.0.15", "redis-py 4.2.1-4.2.3")) == "✘ 1 failing"


def test_past_the_limit_neighbouring_columns_merge_and_say_every_answer(tmp_path):
    clients = [(f"redis-4.{m}.0", f"4.{m}.0") for m in range(0, 20)]

    def alternating(feature, since, base, server, client):
        return o.FAIL if feature == "xadd" and client.minor % 2 else o.PASS

    write_cells(tmp_path / "cells", SERVERS[:1], clients, rule=alternating)
    table = overview(build_report(load_cells([tmp_path / "cells"])[0], matrix(), None))
    assert table.columns <= COLUMN_LIMIT and table.merged
    assert any(str(p) == "✘ 1 failing / ✔ pass" for p in table.pairs.values())


def protocol_report(paths, baseline=None):
    cells, warnings = load_cells(paths)
    return build_report(cells, load(ROOT / "matrix.yaml"), baseline, warnings=warnings)


def test_a_raised_minimum_of_one_protocol_is_red_with_old_and_new():
    before = json.loads(json.dumps(to_dict(protocol_report([PROTOCOLS]))))
    resp2 = next(m for m in before["minimum"] if m["protocol"] == "2")
    assert resp2["client"] == "5.0.8"
    resp2["client"] = "4.6.0"  # the baseline's RESP2 minimum was lower; RESP3's is none
    now = protocol_report([PROTOCOLS], before)
    raised = [u.message for u in now.unexpected if u.kind == "minimum raised"]
    assert raised == ["minimum redis-py 4.6.0 -> 5.0.8 (with redis/redis/RESP2)"]


def test_a_subset_run_says_what_it_could_not_compare(tmp_path):
    before = json.loads(json.dumps(to_dict(protocol_report([PROTOCOLS]))))
    subset = tmp_path / "cells"
    subset.mkdir()
    shutil.copy(PROTOCOLS / "redis-7.0--redis-5.0--py3.11--resp2.xml", subset)
    diff = protocol_report([subset], before).baseline
    assert diff.new_failures == [] and diff.new_cells == []
    assert diff.not_compared == ["protocol RESP3: 2 cell(s)", "minimum redis/redis/RESP3"]


def test_the_previous_schemas_still_read_as_baselines(tmp_path):
    data = load_baseline(OLD_SCHEMA)
    assert data["schema"] == "streammatrix-report/2"
    now = protocol_report([PROTOCOLS], data)
    assert now.baseline.empty and now.unexpected == []
    assert len(now.history["runs"]) == 2
    key = "reply shapes/reply-shape-xread"
    assert now.history["outcomes"][key]["redis-7.0--redis-5.0--py3.11--resp3"] == ["fail"] * 2
    # schema /1: no history, no ranges, no facts
    old = {k: v for k, v in data.items() if k not in ("history", "ranges", "facts")}
    old["schema"] = "streammatrix-report/1"
    again = protocol_report([PROTOCOLS], old)
    assert again.baseline.empty and again.history["runs"][0] == data["generated"]


@pytest.fixture(scope="module")
def nine_hundred(tmp_path_factory):
    """30 servers x 30 clients: 900 cells made from a real cell file, their report."""
    root = tmp_path_factory.mktemp("nine-hundred")
    servers = [(f"redis-{v}", "redis", v) for v in
               [f"{major}.{minor}.{patch}" for major in (6, 7) for minor in (0, 2, 4)
                for patch in range(5)]]  # fmt: skip
    clients = [(f"redis-{v}", v) for v in
               [f"{major}.{minor}.0" for major in (4, 5) for minor in range(15)]]  # fmt: skip
    assert len(write_cells(root / "cells", servers, clients)) == 900
    return root, write_reports([root / "cells"], root / "report", matrix(), None)


def test_report_json_at_900_cells_is_compact_and_reads_back(nine_hundred):
    root, result = nine_hundred
    path = result.paths["json"]
    assert path.stat().st_size <= 5_000_000
    data = json.loads(path.read_text())
    jsonschema.validate(data, json_schema())
    assert data["schema"] == "streammatrix-report/3"
    cells = rows_of(data["cells"])
    assert len(cells) == 900
    tests = rows_of(data["tests"])
    assert sum(len(c["outcomes"]) for c in cells) == sum(len(c.record.tests)
                                                         for c in result.report.cells)  # fmt: skip
    # each message once
    assert len(data["messages"]) == len(set(data["messages"]))
    first = result.report.cells[0]
    assert [tests[i]["id"] for i in cells[0]["tests"]] == [t.id for t in first.record.tests]
    again = write_reports([root / "cells"], root / "again", matrix(), path)
    assert again.report.baseline.empty and again.report.unexpected == result.report.unexpected
    history = unpack_history(json.loads(again.paths["json"].read_text())["history"])
    assert len(history["runs"]) == 2
    md = again.paths["markdown"].read_bytes()
    assert len(md) < MARKDOWN_BUDGET and b"### Minimum versions per feature" in md


def test_a_new_axis_is_one_entry(monkeypatch, tmp_path):
    """A topology (say) beside Python and protocol: one Axis, and the glance splits on it where
    it changes an answer, the grid gets its header row and report.json its column."""
    from streammatrix.report.analysis import axes

    def topology(cell):  # standing in for a coordinate of its own: here on the 3.12 cells
        return "cluster" if cell.record.python == "3.12" else "standalone"

    extra = axes.Axis("topology", value=topology, label=topology)
    monkeypatch.setattr(axes, "AXES", (*axes.AXES, extra))

    def cluster_breaks(feature, since, base, server, client):
        return o.FAIL if feature == "xadd" else default_rule(feature, since, base, server, client)

    write_cells(tmp_path / "cells", SERVERS[:1], CLIENTS[3:6], pythons=("3.11",))
    write_cells(tmp_path / "cells", SERVERS[:1], CLIENTS[3:6], ("3.12",), cluster_breaks)
    result = write_reports([tmp_path / "cells"], tmp_path / "out", matrix(), None)
    table = overview(result.report)
    assert table.servers == ["Redis 6.2.5 · standalone", "Redis 6.2.5 · cluster"]
    assert table.folded_axes == ["python"]  # the topology says it all
    assert '<th class="corner">topology</th>' in result.paths["html"].read_text()
    data = json.loads(result.paths["json"].read_text())
    assert data["axes"][-1] == "topology"
    assert {c["axis_topology"] for c in rows_of(data["cells"])} == {"cluster", "standalone"}
    jsonschema.validate(data, json_schema())


@pytest.mark.parametrize(
    "broken",
    [
        {"cells": {"columns": ["status"], "rows": [["ok"]]}},  # a cell without its id
        {"cells": {"columns": ["id", "tests", "outcomes"], "rows": [["c", [7], "P"]]}},
        {"features": {"columns": ["key", "grid"], "rows": [["k", 3]]}},
    ],
)
def test_a_compact_baseline_of_the_wrong_shape_is_a_clear_error(tmp_path, broken):
    path = tmp_path / "old.json"
    path.write_text(json.dumps({"schema": "streammatrix-report/3", **broken}))
    with pytest.raises(BaselineError, match="not the shape of a streammatrix-report/3 file"):
        write_reports([PROTOCOLS], tmp_path / "out", None, path)


def test_the_compact_file_holds_what_the_previous_schema_held():
    """Expanded, report.json /3 of the protocol cells says what the /2 writer wrote for them."""
    old = load_baseline(OLD_SCHEMA)
    new = expand(json.loads(json.dumps(to_dict(protocol_report([PROTOCOLS])))))
    keys = ("id", "status", "server", "client", "python", "protocol")
    assert [{k: c[k] for k in keys} for c in new["cells"]] == [
        {k: c[k] for k in keys} for c in old["cells"]
    ]
    fields = ("cell", "id", "classname", "name", "feature", "group", "since", "outcome", "shown",
              "expected")  # fmt: skip
    assert [{k: t[k] for k in fields} for t in new["tests"]] == [
        {k: t[k] for k in fields} for t in old["tests"]
    ]
    assert [t["message"][:60] for t in new["tests"]] == [t["message"] for t in old["tests"]]
    assert {f["key"]: f["grid"] for f in new["features"]} == {
        f["key"]: f["grid"] for f in old["features"]
    }
    assert new["protocol_dependent"] == old["protocol_dependent"]


def test_rows_of_matrix_yaml_that_resolve_to_one_release_are_one_column(tmp_path):
    # `redis-7` and `redis-latest` both installed 7.0.1; `redis-7.0` and `redis-7` one server
    clients = [("redis-7", "7.0.1"), ("redis-latest", "7.0.1"), ("redis-5.0", "5.0.8")]
    servers = [("redis-7.0", "redis", "7.0.15"), ("redis-7", "redis", "7.0.15")]
    write_cells(tmp_path / "cells", servers, clients)
    table = overview(build_report(load_cells([tmp_path / "cells"])[0], matrix(), None))
    assert table.servers == ["Redis 7.0.15"]
    assert table.clients == ["redis-py 5.0.8-7.0.1"]


def unmarked_suite_cells(features: int, breaks_every: int = 7) -> list[CellRecord]:
    """A user's suite without marks (every test its own feature, long names), 3 servers x 5
    clients x 2 Pythons: every 7th test breaks on redis-py 5, every 11th on Redis 6.2."""
    cells = []
    for server in ("6.2.5", "7.0.15", "7.2.4"):
        for client in ("4.0.0", "4.5.5", "5.0.8", "6.4.0", "7.0.1"):
            for python in ("3.11", "3.13"):
                cell_id = f"redis-{server}--redis-{client}--py{python}"
                tests = []
                for i in range(features):
                    name = f"test_user_behaviour_{i:03d}_with_a_rather_long_descriptive_name"
                    broken = (i % breaks_every == 0 and client == "5.0.8") or (
                        i % 11 == 0 and server < "7"
                    )
                    outcome = o.FAIL if broken else o.PASS
                    message = f"AssertionError: expected {i}, got something else" if broken else ""
                    tests.append(TestRecord(f"tests.test_m{i % 20}", name, name, outcome,
                                            message=message))  # fmt: skip
                props = {
                    o.SUITE_CELL: cell_id,
                    o.SUITE_CELL_STATUS: o.CELL_OK,
                    o.SUITE_SERVER_NAME: "redis",
                    o.SUITE_SERVER_VERSION: server,
                    o.SUITE_CLIENT_NAME: "redis",
                    o.SUITE_CLIENT_VERSION: client,
                    o.SUITE_PYTHON_VERSION: python,
                }
                cells.append(CellRecord(cell_id, Path(f"{cell_id}.xml"), props, tests))
    return cells


def test_report_md_of_500_unmarked_features_keeps_every_minimum():
    """Too many features for the budget: the features that share the most common minimums fold
    into one row that says how many it stands for; every other feature keeps its own row, the
    page stays under budget and says what it left out (the table is never cut off midway)."""
    report = build_report(unmarked_suite_cells(500), None, None)
    text = render_markdown(report)
    assert len(text.encode()) < MARKDOWN_BUDGET
    assert "cut here" not in text
    table = text.split("### Minimum versions per feature", 1)[1].split("\n###", 1)[0]
    lines = [line for line in table.splitlines() if line.startswith("| ")][1:]
    named = {line.split(" | ")[1].removesuffix(" (required)") for line in lines}
    other = [line for line in lines if " other features" in line]
    assert len(other) == 1
    count = int(other[0].split(" | ")[1].split()[0])
    shown = [r for r in report.rows if markdown.text(r.feature) in named]
    assert len(shown) + count == len(report.rows) == 500
    assert all(r.breaks or r.min_server["redis"] != "6.2.5" for r in shown)
    assert "6.2.5 (lowest tested) | 4.0.0 (lowest tested)" in other[0]
    assert "the names of the features that share the most common minimums" in text


def _column(table, name, change):
    """``change`` applied to column ``name`` of every row of a /3 table."""
    index = table["columns"].index(name)
    for row in table["rows"]:
        row[index] = change(row[index])


CORRUPT = {
    "a cell row one value short": lambda d: d["cells"]["rows"][0].pop(),
    "a cell row one value long": lambda d: d["cells"]["rows"][0].append("x"),
    "a feature row one value short": lambda d: d["features"]["rows"][0].pop(),
    "an outcome code out of range": lambda d: _column(
        d["cells"], "outcomes", lambda s: "Z" * len(s)
    ),
    "a grid code out of range": lambda d: _column(d["features"], "grid", lambda s: "Z" * len(s)),
    "a grid longer than the cells": lambda d: _column(d["features"], "grid", lambda s: s + "P"),
    "fewer outcomes than tests": lambda d: _column(d["cells"], "outcomes", lambda s: s[:-1]),
    "a negative test index": lambda d: _column(d["cells"], "tests", lambda t: [-1] * len(t)),
    "a message index past the end": lambda d: _column(
        d["cells"], "notes", lambda notes: [[n[0], 10**6, n[2], n[3]] for n in notes]
    ),
    "a note that is no note": lambda d: _column(d["cells"], "notes", lambda notes: "text"),
    "a table whose rows are no list": lambda d: d["features"].update(rows={"a": 1}),
    "history cells that are one string": lambda d: d.update(
        history={"runs": ["r"], "outcomes": {"cells": "abc", "features": {"k": ["P", "P", "P"]}}}
    ),
}


@pytest.mark.parametrize("corrupt", CORRUPT.values(), ids=CORRUPT.keys())
def test_a_corrupt_compact_baseline_is_a_clear_error_not_a_shifted_one(tmp_path, corrupt):
    """A /3 file a real run wrote, then damaged: read as a baseline it is one clear error (exit
    2 before a run starts), never a baseline with rows shortened, shifted or misread."""
    data = json.loads(json.dumps(to_dict(protocol_report([PROTOCOLS]))))
    assert any(row[data["cells"]["columns"].index("notes")] for row in data["cells"]["rows"])
    corrupt(data)
    path = tmp_path / "old.json"
    path.write_text(json.dumps(data))
    with pytest.raises(BaselineError, match="not the shape of a streammatrix-report/3 file"):
        load_baseline(path)


def test_a_client_that_could_not_be_installed_is_one_glance_label_not_two():
    """Cells whose client was never installed show the claimed release marked "not
    installed": the column says it once, and neighbours with the same answer still fold."""
    cells = []
    for client in ("4.0.0", "5.0.8"):
        cell_id = f"redis-7.0--redis-{client}--py3.11"
        props = {
            o.SUITE_CELL: cell_id,
            o.SUITE_CELL_SERVER: "redis-7.0",
            o.SUITE_CELL_CLIENT: f"redis-{client}",
            o.SUITE_CELL_STATUS: o.CELL_ERROR,
            o.SUITE_CELL_REASON: "pip could not install it",
            o.SUITE_CELL_PROVIDER: "binary",
        }
        cells.append(CellRecord(cell_id, Path(f"{cell_id}.xml"), props))
    table = overview(build_report(cells, None, None))
    assert table.clients == ["redis-py 4.0.0 (not installed) - redis-py 5.0.8 (not installed)"]
    # ... and the headline, with no minimum to state, still counts the red results
    assert headline.lines(build_report(cells, None, None))[-1].startswith("2 red results")


def xadd_from_4_3(feature, since, base, server, client):
    """xadd (required) fails on redis-py before 4.3.0: a client minimum above the lowest."""
    if feature == "xadd" and client < Version("4.3.0"):
        return o.FAIL
    return default_rule(feature, since, base, server, client)


def test_a_headline_line_too_long_drops_remarks_before_it_cuts_a_minimum(tmp_path):
    """Three protocol claims: the second line takes "+1 more below"; to make room it drops the
    "(lowest tested)" remarks (the table below has them), never the client's minimum."""
    for protocol in ("2", "3", "3-unified"):
        write_cells(tmp_path / "cells", SERVERS, CLIENTS[4:8], ("3.11",), xadd_from_4_3, protocol)
    report = build_report(load_cells([tmp_path / "cells"])[0], matrix(), None)
    resp3 = next(m for m in report.minimums if m.protocol == "3" and m.server_family == "redis")
    assert resp3.client == "4.3.0" and not resp3.client_lowest_tested
    lines = headline.lines(report)
    assert len("\n".join(lines)) <= 300
    assert lines[1].startswith("RESP3: ") and lines[1].endswith("; +1 more below")
    assert f" with redis-py >= {resp3.client}" in lines[1], lines[1]
    assert "…" not in lines[1]


def test_cells_that_ran_with_versions_that_do_not_order_are_not_called_unrun():
    """A cell ran to the end and passed, but its server says no PEP 440 version ("unstable"):
    no minimum can be stated, and the headline says why, not that no cell ran."""
    props = {
        o.SUITE_CELL: "redis-dev--redis-5.0--py3.11",
        o.SUITE_CELL_STATUS: o.CELL_OK,
        o.SUITE_SERVER_NAME: "redis",
        o.SUITE_SERVER_VERSION: "unstable",
        o.SUITE_CLIENT_NAME: "redis",
        o.SUITE_CLIENT_VERSION: "5.0.8",
    }
    tests = [TestRecord("tests.test_user", "test_a", "a", o.PASS)]
    report = build_report(
        [CellRecord(props[o.SUITE_CELL], Path("c.xml"), props, tests)], None, None
    )
    first = headline.lines(report)[0]
    assert not first.startswith("No cell ran") and "unstable" in first, first


def test_a_page_cut_at_the_budget_still_says_what_it_left_out():
    """Every feature breaks somewhere: no minimum row folds, the page is cut at the budget; the
    cut says so, and still names what it had left out before (the note at the end is gone)."""
    text = render_markdown(build_report(unmarked_suite_cells(500, breaks_every=1), None, None))
    assert len(text.encode()) < MARKDOWN_BUDGET
    last = text.rstrip().splitlines()[-1]
    assert "cut here" in last and "the grid" in last and "the failure details" in last, last
