"""Unexpected results grouped by cause: a server that does not start is one thing to fix, listed
once with the cells it broke, in the console's list, report.md and report.html; report.json
keeps every result and says which cause it belongs to."""

from __future__ import annotations

import json
import re
from pathlib import Path

from streammatrix.junit.records import CellRecord, TestRecord
from streammatrix.junit.write import write_junit
from streammatrix.plugin import outcomes as o
from streammatrix.report.analysis.stored import rows_of
from streammatrix.report.build import build_report, write_reports
from streammatrix.report.views import render

START_ERROR = "exited before answering PING\nlast lines of the log:\nFatal: bad config"


def cell(server: str, client: str, status: str = o.CELL_OK, reason: str = "") -> CellRecord:
    cell_id = f"{server}--{client}--py3.11"
    props = {
        o.SUITE_CELL: cell_id,
        o.SUITE_CELL_SERVER: server,
        o.SUITE_CELL_CLIENT: client,
        o.SUITE_CELL_PYTHON: "3.11",
        o.SUITE_CELL_STATUS: status,
        o.SUITE_CELL_REASON: reason,
        o.SUITE_CELL_PROVIDER: "binary",
        o.SUITE_CLIENT_NAME: "redis",
        o.SUITE_CLIENT_VERSION: client.removeprefix("redis-") + ".0",
    }
    if status == o.CELL_OK:
        props.update({o.SUITE_SERVER_NAME: "redis", o.SUITE_SERVER_VERSION: server[6:] + ".0"})
    tests = []
    if status == o.CELL_OK:
        tests = [
            TestRecord("m.TestSyncStreamsBasics", "test_xadd", "xadd", o.FAIL, message="boom"),
            TestRecord("m.TestSyncStreamsBasics", "test_xlen", "xlen", o.PASS),
        ]
    return CellRecord(cell_id, Path(f"{cell_id}.xml"), props, tests)


def cells() -> list[CellRecord]:
    down = [cell("redis-7.2", c, o.CELL_ERROR, START_ERROR) for c in ("redis-4.6", "redis-5.0")]
    down.append(cell("redis-7.2", "redis-6.0", o.CELL_ERROR, START_ERROR))
    return [
        *down,
        cell("redis-6.2", "redis-5.0"),  # test_xadd fails ...
        cell("redis-7.0", "redis-4.6"),  # ... here too: no server or client in common
    ]


def test_one_start_error_is_one_cause_with_its_cells():
    report = build_report(cells(), None, None)
    assert len(report.unexpected) == 5
    (down,) = [c for c in report.causes if c.kind == "cell error"]
    regressions = [c for c in report.causes if c.kind == "never passes"]
    assert down.kind == "cell error" and down.shared == "server redis-7.2"
    assert down.cells == [
        f"redis-7.2--{c}--py3.11" for c in ("redis-4.6", "redis-5.0", "redis-6.0")
    ]
    assert str(down).startswith("cell error: 3 cells (server redis-7.2): the cell: error: exited")
    # The same failure on cells that share neither server nor client: one cause per server.
    assert [c.cells for c in regressions] == [
        ["redis-6.2--redis-5.0--py3.11"],
        ["redis-7.0--redis-4.6--py3.11"],
    ]


def test_report_md_and_html_list_a_cause_once():
    report = build_report(cells(), None, None)
    markdown = render.render_markdown(report)
    section = markdown.split("### ✘ Unexpected results")[1].split("###")[0]
    assert section.startswith(" (5, 3 cause(s))")
    assert section.count("exited before answering PING") == 1
    assert "3 cells (server redis-7.2)" in section
    assert all(f"`redis-7.2--{c}--py3.11`" in section for c in ("redis-4.6", "redis-5.0"))
    html = render.render_html(report)
    table = html.split('id="unexpected"')[1].split("</table>")[0]
    assert len(re.findall(r"<tr><td>", table)) == 3
    assert table.count("exited before answering PING") == 1
    assert "3 cells (server redis-7.2)" in table


def test_report_json_keeps_every_result_with_its_cause(tmp_path):
    for record in cells():
        write_junit([record], tmp_path / "cells" / f"{record.id}.xml")
    result = write_reports([tmp_path / "cells"], tmp_path / "out")
    data = json.loads(result.paths["json"].read_text())
    unexpected = rows_of(data["unexpected"])
    assert len(unexpected) == 5
    starts = [u for u in unexpected if u["kind"] == "cell error"]
    assert len(starts) == 3 and len({u["cause"] for u in starts}) == 1
    cause = data["causes"][starts[0]["cause"]]
    assert sorted(cause["cells"]) == sorted(u["cell"] for u in starts)
    assert len(data["causes"]) == 3
