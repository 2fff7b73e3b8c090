"""Reports that stay readable at 100+ cells: facts apart from breaks, the compact overview,
folded grid rows, the Markdown size budget and the badge. Built from the real cell files of a
small real run and from a 200-cell matrix made from a real cell file (support/cells.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support import DATA, ROOT
from support.cells import write_cells

from streammatrix.config.load import load
from streammatrix.config.model import Matrix
from streammatrix.junit.read import load_cells
from streammatrix.plugin import outcomes as o
from streammatrix.report.build import build_report, write_reports
from streammatrix.report.views import headline
from streammatrix.report.views.render import MARKDOWN_BUDGET, render_markdown
from streammatrix.report.views.summary import overview

REQUIRED = load(ROOT / "matrix.yaml").required
SERVERS = [
    *[(f"redis-{v}", "redis", v) for v in ("6.0.20", "6.2.5", "6.2.14", "7.0.0", "7.0.15")],
    *[(f"redis-{v}", "redis", v) for v in ("7.2.0", "7.2.4", "7.4.0", "7.4.2", "8.0.0")],
    *[(f"redis-{v}", "redis", v) for v in ("8.0.2", "8.2.0", "8.2.1")],
    *[(f"valkey-{v}", "valkey", v) for v in ("7.2.5", "7.2.8", "8.0.1", "8.0.4", "8.1.0")],
    *[(f"valkey-{v}", "valkey", v) for v in ("8.1.3", "9.0.0")],
]
CLIENTS = [
    (f"redis-{v}", v)
    for v in ("3.5.3", "4.0.0", "4.1.0", "4.2.0", "4.3.1", "4.3.4", "4.5.0", "4.6.0", "5.0.8")
] + [("redis-latest", "8.1.0")]


def matrix(required=(*REQUIRED, "trim-minid")) -> Matrix:
    return Matrix(Path("matrix.yaml"), (), (), ("3.11",), required=tuple(required))


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    """A 20 server x 10 client matrix: 200 cells, its report written."""
    root = tmp_path_factory.mktemp("big")
    assert len(write_cells(root / "cells", SERVERS, CLIENTS)) == 200
    return write_reports([root / "cells"], root / "report", matrix(), None)


def test_a_200_cell_report_states_the_minimum_and_stays_under_the_size_budget(big):
    report = big.report
    assert len(report.cells) == 200
    # trim-minid breaks on redis-py 4.2.0-4.3.1 above 4.0.0: the minimum is 4.3.4.
    lines = headline.lines(report)
    assert lines[0].startswith(
        "Redis >= 6.2.5, Valkey >= 7.2.5 (lowest tested) with redis-py >= 4.3.4"
    )
    assert len("\n".join(lines)) <= 300 and len(lines) <= 3
    text = big.paths["markdown"].read_bytes()
    assert len(text) < MARKDOWN_BUDGET == 60_000
    assert b"report.html has everything" in text
    # the answer always stays: every feature's minimums, whatever the budget cut
    table = text.decode().split("### Minimum versions per feature", 1)[1].split("###", 1)[0]
    for row in report.rows:
        line = next(x for x in table.splitlines() if x.startswith(f"| {row.group} | {row.feature}"))
        assert row.min_server.get("redis", "never") or "lacks it" in line
        assert (row.min_client.get("redis") or "") in line


def test_fails_below_the_minimum_are_facts_a_break_above_it_is_red(big):
    report = big.report
    # xautoclaim fails on redis-py 3.5.3: below its minimum client (4.0.0), a fact.
    assert report.facts and {(u.kind, u.feature) for u in report.facts} == {
        ("below minimum", "xautoclaim"),
        ("below minimum", "xautoclaim-deleted-ids"),
    }
    assert {u.cell.split("--")[1] for u in report.facts} == {"redis-3.5.3"}
    # trim-minid passes on 4.0.0 and 4.1.0, fails on 4.2.0 and 4.3.1: a break, red.
    assert {(u.kind, u.feature) for u in report.unexpected} == {
        ("break above minimum", "trim-minid")
    }
    assert {u.cell.split("--")[1] for u in report.unexpected} == {"redis-4.2.0", "redis-4.3.1"}
    assert not big.ok
    text = big.paths["markdown"].read_text()
    assert "**break above minimum**" in text
    assert "below minimum**" not in text  # facts are never listed among the red ones
    # xautoclaim: 2 tests x 19 servers from 6.2 on; xautoclaim-deleted-ids: 17 from 7.0 on
    assert "Facts: 55 fail(s) below their feature's minimum (2 feature(s)), not red" in text


def test_the_overview_folds_releases_with_the_same_answer_into_one_column(big):
    text = big.paths["markdown"].read_text()
    # Only required features count: xautoclaim (failing on 3.5.3) is not one, trim-minid is,
    # failing on 4.2.0 and 4.3.1 on every server that has it: three columns, not ten.
    header = "| server | redis-py 3.5.3-4.1.0 | redis-py 4.2.0-4.3.1 | redis-py 4.3.4-8.1.0 | "
    assert header in text.splitlines()
    row = next(line for line in text.splitlines() if line.startswith("| Redis 7.0.15 | "))
    assert [part.strip() for part in row.split("|")[2:-1]] == ["✔ pass", "✘ 1 failing", "✔ pass"]
    old = next(line for line in text.splitlines() if line.startswith("| Redis 6.0.20 | "))
    assert old.split("|")[2:-1] == [" ⊘ 1 unsupported "] * 3  # trim-minid: since 6.2


def test_rows_identical_in_every_cell_are_folded_into_one_line(big):
    text = big.paths["markdown"].read_text()
    html = big.paths["html"].read_text()
    passing = [
        r.feature for r in big.report.rows if {e.outcome for e in r.entries.values()} == {o.PASS}
    ]
    assert len(passing) > 10
    sentence = f"✔ {len(passing)} features pass in every cell"
    assert sentence in html
    assert html.count('<tr class="same">') == len(passing)
    assert html.count('<tr class="fold">') == 1
    # The Markdown grid is too wide for 200 columns; the size budget leaves it out.
    assert "The grid (" in text and "too large for this page" in text


def test_the_size_budget_drops_detail_in_its_stated_order(big):
    full = render_markdown(big.report, budget=10**7)
    assert "### Failure details" in full and "### Cells" in full
    size = len(full.encode())
    # Just under the whole page: the grid goes first (here too wide anyway), then the cells.
    less = render_markdown(big.report, budget=size - 1)
    assert "### Failure details" in less and "### Cells" not in less
    assert "leaves out the grid, the per-cell rows (cells, latency): report.html" in less
    assert "### Minimum versions per feature" in less
    small = render_markdown(big.report, budget=20_000)
    assert len(small.encode()) < 20_000
    assert "### Cells" not in small and "### Failure details" not in small
    assert "### Minimum versions per feature" in small


def test_the_badge_says_the_minimum_and_the_colour_says_the_status(big, tmp_path):
    badge = json.loads(big.paths["badge"].read_text())
    assert badge == {
        "schemaVersion": 1,
        "label": "Redis Streams",
        "message": "Redis >= 6.2.5 · redis-py >= 4.3.4",
        "color": "red",
    }
    real = write_reports([DATA / "real" / "cells"], tmp_path, matrix(REQUIRED), None)
    assert real.ok
    assert json.loads(real.paths["badge"].read_text())["color"] == "brightgreen"


def test_real_cells_fold_into_the_overview(tmp_path):
    cells, _ = load_cells([DATA / "real" / "cells"])
    report = build_report(cells, matrix(REQUIRED), None)
    table = overview(report)
    assert table.servers == ["Redis 6.2.5", "Valkey 9.1.2"]
    assert table.clients == ["redis-py 4.6.0", "redis-py 8.1.0"]
    assert str(table.get("Redis 6.2.5", "redis-py 8.1.0")) == "✔ pass"
    assert table.get("Valkey 9.1.2", "redis-py 4.6.0") is None
    assert report.unexpected == [] and report.facts == []


def test_python_is_folded_in_where_it_does_not_change_the_answer(tmp_path):
    servers, clients = SERVERS[6:8], CLIENTS[5:7]
    write_cells(tmp_path / "cells", servers, clients, pythons=("3.11", "3.12"))

    def broken(feature, since, base, server, client):
        return o.FAIL if feature == "xadd" else o.PASS

    write_cells(tmp_path / "cells", servers[:1], clients[:1], pythons=("3.12",), rule=broken)
    cells, _ = load_cells([tmp_path / "cells"])
    table = overview(build_report(cells, matrix(REQUIRED), None))
    # Python changes an answer: it is a row axis of its own, and is not folded
    assert table.folded_axes == []
    assert str(table.get("Redis 7.2.4 · py3.11", "redis-py 4.3.4")) == "✔ pass"
    assert str(table.get("Redis 7.2.4 · py3.12", "redis-py 4.3.4")) == "✘ 1 failing"
    assert str(table.get("Redis 7.4.0 · py3.12", "redis-py 4.3.4")) == "✔ pass"
    # where it changes nothing, Python is folded away and said so
    write_cells(tmp_path / "cells", servers[:1], clients[:1], pythons=("3.12",))
    cells, _ = load_cells([tmp_path / "cells"])
    table = overview(build_report(cells, matrix(REQUIRED), None))
    assert table.folded_axes == ["python"]
    assert table.servers == ["Redis 7.2.4", "Redis 7.4.0"]
