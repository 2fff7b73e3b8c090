"""Stopping the runner mid-cell: SIGINT/SIGTERM stop everything and keep finished cells;
SIGKILL leaves nothing running either (binary) or leaves a container the next run reaps."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from junitparser import JUnitXml
from support import PY, ROOT
from support.matrix import write_matrix
from support.servers import eventually, runner_pids, server_port

from streammatrix.plugin import resp
from streammatrix.report.analysis.stored import expand

FIRST, SLOW = f"redis-6.2--old--py{PY}", f"redis-6.2--new--py{PY}"
LABEL = "io.streammatrix.run-id"


def tiny(tmp_path: Path) -> Path:
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "test_tiny.py").write_text((ROOT / "tests/runner/data/slow_cell.py").read_text())
    return write_matrix(
        tmp_path / "matrix.yaml",
        servers=["redis-6.2"],
        clients=[{"name": "old", "version": "4.6.0"}, {"name": "new", "version": "latest"}],
    )


def start_runner(tmp_path: Path, provider: str) -> tuple[subprocess.Popen[str], Path]:
    log = tmp_path / "runner.log"
    cmd = [
        sys.executable, "-m", "streammatrix", "run", "--config", str(tiny(tmp_path)),
        "--provider", provider, "--workers", "1", "--report-dir", str(tmp_path / "report"),
        "--envdir", str(tmp_path / "envs"),
    ]  # fmt: skip
    started = tmp_path / "slow-test-started"
    env = {**os.environ, "SLOW_CELL": SLOW, "SLOW_CELL_STARTED": str(started)}
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, text=True, env=env)
    assert eventually(lambda: f"start {SLOW}" in log.read_text(), within=180), log.read_text()
    assert eventually(started.exists, within=60), log.read_text()  # its sleep has begun
    return proc, log


def cell_pids(tmp_path: Path) -> list[int]:
    return runner_pids(tmp_path / "report", tmp_path / "envs")


def slow_cell(tmp_path: Path) -> int:
    """The pid of the slow cell's pytest, as its test wrote it."""
    return int((tmp_path / "slow-test-started").read_text())


def status(tmp_path: Path, cell: str) -> dict[str, str]:
    suite = next(iter(JUnitXml.fromfile(str(tmp_path / "report" / "cells" / f"{cell}.xml"))))
    return {p.name: p.value for p in suite.properties()}


def containers_of(pid: int) -> list:
    import docker

    client = docker.from_env()
    found = client.containers.list(all=True, filters={"label": LABEL})
    return [c for c in found if f":{pid}:" in c.labels[LABEL]]


PROVIDERS = [
    pytest.param("binary", marks=pytest.mark.servers),
    pytest.param("docker", marks=[pytest.mark.docker, pytest.mark.servers]),
]


@pytest.fixture
def need_engine(request):
    """For the docker runs: an engine (else skip, a failure in CI) and the server's image."""
    if "docker" in request.node.name:
        from support.engine import image_for

        image_for("redis-6.2")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_signal_stops_everything_and_keeps_finished_cells(tmp_path, provider, sig, need_engine):
    proc, log = start_runner(tmp_path, provider)
    port = server_port(log)
    assert slow_cell(tmp_path) in cell_pids(tmp_path)
    proc.send_signal(sig)
    assert proc.wait(timeout=60) == 130, log.read_text()
    assert "interrupted" in log.read_text()
    assert not cell_pids(tmp_path)
    assert not resp.responsive("127.0.0.1", port)
    if provider == "docker":
        assert not containers_of(proc.pid)
    first = status(tmp_path, FIRST)
    assert first["cell.status"] == "ok"  # finished cells are kept
    assert first["cell.start"] == "fork"  # ... and were forked: the slow one too, so ...
    slow = status(tmp_path, SLOW)
    assert slow["cell.status"] == "error" and "interrupted" in slow["cell.reason"]
    report = expand(json.loads((tmp_path / "report" / "report.json").read_text()))
    assert len(report["cells"]) == 2


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_runner_killed_outright_leaves_nothing_or_is_reaped(tmp_path, provider, need_engine):
    proc, log = start_runner(tmp_path, provider)
    port = server_port(log)
    assert slow_cell(tmp_path) in cell_pids(tmp_path)  # seen, forked or spawned, until ...
    proc.kill()
    proc.wait(timeout=30)
    assert eventually(lambda: not cell_pids(tmp_path)), "a cell outlived its runner"
    if provider == "binary":
        assert eventually(lambda: not resp.responsive("127.0.0.1", port))
        return
    (left,) = containers_of(proc.pid)  # SIGKILL: nobody could remove it ...
    from streammatrix.servers.select import make_provider

    said: list[str] = []
    make_provider("docker", notify=said.append)  # ... so the next run reaps it, and says so
    assert not containers_of(proc.pid)
    assert any(left.name in line for line in said), said
