"""SIGTERM while the Docker provider is still starting a server leaves no container behind.

Once, 3 of 18 tries of ``streammatrix run --provider docker ... & sleep 0.3; kill -TERM $!``
left a container running: the handlers were restored before the servers were stopped, so the
second signal of a clean-up ended the runner with 143, and a stop could run while a worker was
still creating the container. Here the real runner is signalled, again and again, at moments
that cover the creation window (from just before the engine is asked until the container
exists and is starting), once and twice in a row; every time it must exit 130, remove every
container of its run before it exits, and give the cells it could not run the reason
"interrupted".
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from junitparser import JUnitXml
from support import PY
from support.engine import engine, image_for
from support.matrix import write_matrix
from support.servers import eventually

from streammatrix.servers.docker.reaping import RUN_ID_LABEL, RUNNER, RUNNER_LABEL

pytestmark = [pytest.mark.docker, pytest.mark.servers, pytest.mark.slow]

SERVERS = ("redis-6.2", "redis-7.0")
CELLS = [f"{server}--new--py{PY}" for server in SERVERS]
SUITE = """
import os
import time


def test_takes_a_while():
    time.sleep(float(os.environ.get("STREAMMATRIX_TEST_SLEEP", "0")))
"""
# When to signal, plus a delay: when the run says its provider is ready (its client
# environment is checked next), when it says the environment is ready (it asks the engine for
# the containers next), or as soon as the engine lists a container of the run (being started).
TRIES = [
    *[("provider", d) for d in (0.0, 0.05, 0.2)],
    *[("environment", d) for d in (0.0, 0.005, 0.01, 0.015, 0.02, 0.03, 0.04, 0.06, 0.1)],
    *[("container", d) for d in (0.0, 0.0, 0.01, 0.05)],
]
SAID = {"provider": "docker servers", "environment": "environment new"}


@pytest.fixture(scope="module")
def setup(tmp_path_factory) -> Path:
    """The matrix (two servers, one client env made once), its images, one clean run first."""
    for name in SERVERS:
        image_for(name)
    tmp = tmp_path_factory.mktemp("sigterm")
    (tmp / "suite").mkdir()
    (tmp / "suite" / "test_sleep.py").write_text(SUITE)
    write_matrix(
        tmp / "matrix.yaml",
        servers=list(SERVERS),
        clients=[{"name": "new", "version": "latest"}],
    )
    proc, log = start(tmp, "warm-up", sleep=0)
    assert proc.wait(timeout=600) == 0, log.read_text()
    return tmp


def start(tmp: Path, name: str, sleep: float) -> tuple[subprocess.Popen[bytes], Path]:
    log = tmp / f"{name}.log"
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    env["STREAMMATRIX_TEST_SLEEP"] = str(sleep)
    with log.open("w") as out:
        proc = subprocess.Popen(
            [
                sys.executable, "-m", "streammatrix", "run", "--config", str(tmp / "matrix.yaml"),
                "--provider", "docker", "--workers", "2", "--envdir", str(tmp / "envs"),
                "--report-dir", str(tmp / name),
            ],
            stdout=out, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
    return proc, log


def containers_of(pid: int) -> list:
    """Containers whose run id (``<host>:<pid>:<start time>``) names the runner ``pid``."""
    found = engine().containers.list(  # sparse: no inspection of a container being removed
        all=True, sparse=True, filters={"label": [f"{RUNNER_LABEL}={RUNNER}", RUN_ID_LABEL]}
    )
    return [c for c in found if f":{pid}:" in (c.attrs.get("Labels") or {}).get(RUN_ID_LABEL, "")]


def wait_for(trigger: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    if trigger in SAID:
        ready = eventually(lambda: SAID[trigger] in log.read_text(), within=120)
    else:
        ready = eventually(lambda: bool(containers_of(proc.pid)), within=120)
    assert ready and proc.poll() is None, log.read_text()


def cell_properties(report: Path, cell: str) -> dict[str, str]:
    suite = next(iter(JUnitXml.fromfile(str(report / "cells" / f"{cell}.xml"))))
    return {p.name: p.value for p in suite.properties()}


def check(tmp: Path, name: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    assert proc.wait(timeout=120) == 130, log.read_text()
    left = containers_of(proc.pid)
    for container in left:  # do not leave them to the next test either
        container.remove(force=True, v=True)
    assert not left, ([c.id for c in left], log.read_text())
    text = log.read_text()
    assert "exited before answering PING" not in text, text
    for cell in CELLS:
        path = tmp / name / "cells" / f"{cell}.xml"
        assert path.is_file(), (cell, text)  # every planned cell ends with a file
        props = cell_properties(tmp / name, cell)
        if props["cell.status"] != "ok":
            assert "interrupted" in props.get("cell.reason", ""), (cell, props, text)


def signal_while_starting(setup: Path, name: str, trigger: str, delay: float, signals: int):
    """Start a run, wait for ``trigger`` and ``delay``, send SIGTERM ``signals`` times in a row."""
    proc, log = start(setup, name, sleep=60)
    try:
        wait_for(trigger, proc, log)
        time.sleep(delay)
        for _ in range(signals):
            proc.send_signal(signal.SIGTERM)
        check(setup, name, proc, log)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize(("trigger", "delay"), TRIES)
def test_one_sigterm_while_a_server_starts(setup, trigger, delay):
    name = f"{trigger}-{delay}-{time.monotonic_ns()}"
    signal_while_starting(setup, name, trigger, delay, signals=1)


@pytest.mark.parametrize(
    ("trigger", "delay"), [("provider", 0.0), ("environment", 0.01), ("container", 0.0)]
)
def test_two_sigterms_in_a_row_leave_nothing_behind(setup, trigger, delay):
    name = f"twice-{trigger}-{delay}-{time.monotonic_ns()}"
    signal_while_starting(setup, name, trigger, delay, signals=2)
