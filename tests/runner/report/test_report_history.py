"""History across nights: three runs chained by ``--baseline`` through the command line keep
each feature's outcomes per cell, count its flips and flag one that flips repeatedly."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from support import ROOT
from support.cells import default_rule, write_cells
from support.matrix import write_matrix

from streammatrix.config.load import load
from streammatrix.config.model import Matrix
from streammatrix.junit.read import load_cells
from streammatrix.plugin import outcomes as o
from streammatrix.report.analysis.history import flips, trail
from streammatrix.report.analysis.stored import rows_of, unpack_history
from streammatrix.report.build import build_report

REQUIRED = load(ROOT / "matrix.yaml").required
MATRIX = Matrix(Path("matrix.yaml"), (), (), ("3.11",), required=REQUIRED)

SERVERS = [("redis-7.0", "redis", "7.0.15"), ("redis-7.2", "redis", "7.2.4")]
CLIENTS = [("redis-4.6", "4.6.0"), ("redis-5.0", "5.0.8")]
CELL = "redis-7.2--redis-5.0--py3.11"


def broken_xadd(feature, since, base, server, client):
    if feature == "xadd" and str(server) == "7.2.4" and str(client) == "5.0.8":
        return o.FAIL
    return default_rule(feature, since, base, server, client)


def report(tmp_path: Path, night: int, rule, baseline: Path | None) -> tuple[int, dict, str]:
    cells = tmp_path / f"night{night}" / "cells"
    write_cells(cells, SERVERS, CLIENTS, rule=rule)
    out = tmp_path / f"night{night}" / "report"
    (tmp_path / "suite").mkdir(exist_ok=True)
    config = write_matrix(
        tmp_path / "matrix.yaml",
        servers=["redis-7.0"],
        clients=[{"name": "redis-5.0", "version": "5.0.*"}],
        required=list(REQUIRED),
    )
    command = [sys.executable, "-m", "streammatrix", "report", str(cells)]
    command += ["--report-dir", str(out), "--config", str(config)]
    if baseline is not None:
        command += ["--baseline", str(baseline)]
    done = subprocess.run(
        command, cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False
    )
    assert (out / "report.json").is_file(), done.stdout + done.stderr
    data = json.loads((out / "report.json").read_text())
    return done.returncode, data, (out / "report.md").read_text()


def test_three_nights_chained_by_baseline_keep_the_trail_and_count_flips(tmp_path):
    code1, first, _ = report(tmp_path, 1, default_rule, None)
    code2, second, _ = report(tmp_path, 2, broken_xadd, tmp_path / "night1/report/report.json")
    code3, third, md = report(tmp_path, 3, default_rule, tmp_path / "night2/report/report.json")
    assert (code1, code3) == (0, 0)
    assert code2 == 1  # xadd broke above its minimum, is newly failing, and so no minimum holds
    assert {u["kind"] for u in rows_of(second["unexpected"])} == {
        "break above minimum",
        "newly failing",
        "minimum raised",
    }
    assert third["schema"] == "streammatrix-report/3"
    history = unpack_history(third["history"])
    assert history["runs"] == [first["generated"], second["generated"], third["generated"]]
    key = "sync streams basics/xadd"
    assert history["outcomes"][key][CELL] == ["pass", "fail", "pass"]
    assert history["outcomes"][key]["redis-7.0--redis-5.0--py3.11"] == ["pass"] * 3
    assert history["flips"] == {key: {CELL: 2}}
    assert history["last_verified"][key] == third["generated"]
    # Flaky across nights although tonight passed: flagged in the report.
    assert "**≈ Flaky across nights**" in md
    assert f"| {key} | `{CELL}` | 2 | `✔✘✔` |" in md
    html = (tmp_path / "night3/report/report.html").read_text()
    assert f'title="{CELL}: pass (flaky across nights)"' in html
    # The minimum was gone on night 2 and back on night 3: it last changed then.
    assert [m["server"] for m in (first["minimum"][0], second["minimum"][0])] == ["7.0.15", None]
    assert history["minimums"]["redis/redis"] == {
        "server": "7.0.15",
        "client": "4.6.0",
        "changed": third["generated"],
    }


def test_history_keeps_only_the_last_n_runs(tmp_path):
    cells = tmp_path / "cells"
    write_cells(cells, SERVERS[:1], CLIENTS[:1])
    records, _ = load_cells([cells])
    baseline = None
    for _ in range(4):
        built = build_report(records, MATRIX, baseline, history=3)
        baseline = {"schema": "streammatrix-report/2", "history": built.history}
    assert len(built.history["runs"]) == 3
    assert all(len(seq) == 3 for per in built.history["outcomes"].values() for seq in per.values())


def test_a_baseline_without_history_contributes_its_own_run(tmp_path):
    cells = tmp_path / "cells"
    write_cells(cells, SERVERS, CLIENTS)
    records, _ = load_cells([cells])
    old = build_report(records, MATRIX, None)
    # The shape of a streammatrix-report/1 file: a grid per feature, minimums, no history.
    baseline = {
        "schema": "streammatrix-report/1",
        "generated": "2026-01-01T00:00:00+00:00",
        "minimum": [
            {"server_family": m.server_family, "client_family": m.client_family,
             "server": m.server, "client": m.client}
            for m in old.minimums
        ],
        "features": [
            {"key": r.key, "grid": {cid: e.outcome for cid, e in r.entries.items()},
             "min_server": r.min_server, "min_client": r.min_client}
            for r in old.rows
        ],
        "cells": [], "tests": [],
    }  # fmt: skip
    records2, _ = load_cells([cells])
    now = build_report(records2, MATRIX, baseline)
    assert now.history["runs"][0] == "2026-01-01T00:00:00+00:00"
    assert len(now.history["runs"]) == 2
    assert now.history["outcomes"]["sync streams basics/xadd"][CELL] == ["pass", "pass"]
    assert now.history["minimums"]["redis/redis"]["changed"] == "2026-01-01T00:00:00+00:00"


def test_a_minimum_that_moved_up_since_the_baseline_is_red(tmp_path):
    cells = tmp_path / "cells"
    write_cells(cells, SERVERS, CLIENTS)
    before = build_report(load_cells([cells])[0], MATRIX, None)
    baseline = {
        "schema": "streammatrix-report/2",
        "minimum": [
            {"server_family": "redis", "client_family": "redis", "server": "7.0.15",
             "client": "4.6.0"}
        ],
    }  # fmt: skip
    assert [(m.server, m.client) for m in before.minimums] == [("7.0.15", "4.6.0")]

    def old_client_breaks(feature, since, base, server, client):
        if feature == "xadd" and str(client) == "4.6.0":
            return o.FAIL
        return default_rule(feature, since, base, server, client)

    write_cells(cells, SERVERS, CLIENTS, rule=old_client_breaks)
    now = build_report(load_cells([cells])[0], MATRIX, baseline)
    raised = [u for u in now.unexpected if u.kind == "minimum raised"]
    assert [u.message for u in raised] == ["minimum redis-py 4.6.0 -> 5.0.8 (with redis/redis)"]


def test_trail_and_flips():
    assert trail(["pass", "fail", None, "flaky", "unsupported-server"]) == "✔✘·≈⊘"
    assert flips(["pass", "fail", "pass", "unsupported-client", "pass"]) == 2
    assert flips(["pass", "pass", None, "pass"]) == 0
