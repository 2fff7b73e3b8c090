"""End to end through the nox session: a real 2 servers x 2 clients matrix.

One cell's server is shut down mid-run: that cell is an `error`, every other cell completes
(the server is started again for the next cell that needs it), and the exit code says so.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from junitparser import JUnitXml
from support import PY, ROOT
from support.matrix import copy_suite, write_matrix

KILLED = "redis-7.0--old--py{py}"

pytestmark = [pytest.mark.servers, pytest.mark.slow]


def tiny_matrix(tmp_path: Path) -> Path:
    suite = copy_suite(tmp_path / "suite")
    shutil.copy(ROOT / "tests" / "runner" / "data" / "kill_server.py", suite / "test_aa_kill.py")
    return write_matrix(
        tmp_path / "matrix.yaml",
        servers=["redis-6.2", "redis-7.0"],
        clients=[{"name": "old", "version": "4.6.0"}, {"name": "new", "version": "latest"}],
    )


def run_matrix(tmp_path: Path, config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KILL_CELL": KILLED.format(py=PY)}
    env.pop("VIRTUAL_ENV", None)
    return subprocess.run(
        [
            sys.executable, "-m", "nox", "-f", str(ROOT / "noxfile.py"), "-s", "matrix",
            "--envdir", str(tmp_path / "nox"), "--",
            "--config", str(config), "--report-dir", str(tmp_path / "report"),
            "--workers", "2", *args,
        ],
        capture_output=True, text=True, env=env, timeout=1200, check=False,
    )  # fmt: skip


def suite_properties(path: Path) -> dict[str, str]:
    xml = JUnitXml.fromfile(str(path))
    suite = next(iter(xml)) if not hasattr(xml, "properties") else xml
    return {p.name: p.value for p in suite.properties()}


def test_small_matrix_end_to_end_with_a_killed_server(tmp_path):
    config = tiny_matrix(tmp_path)
    done = run_matrix(tmp_path, config)
    output = done.stdout + done.stderr
    assert done.returncode == 1, output  # the killed cell is an unexpected error

    cells = tmp_path / "report" / "cells"
    files = sorted(p.stem for p in cells.glob("*.xml"))
    assert files == sorted(
        f"{server}--{client}--py{PY}"
        for server in ("redis-6.2", "redis-7.0")
        for client in ("old", "new")
    ), output
    for name in files:
        props = suite_properties(cells / f"{name}.xml")
        server, client, _ = name.split("--")
        assert props["cell"] == name
        assert props["cell.server"] == server
        assert props["cell.client"] == client
        assert props["cell.python"] == PY
        assert (tmp_path / "report" / props["cell.log"]).is_file()
        if name == KILLED.format(py=PY):
            assert props["cell.status"] == "error", props
            assert "died" in props["cell.reason"]
        else:
            assert props["cell.status"] == "ok", (name, props)
            assert props["server.version"].startswith(server.split("-")[1]), props
            assert props["client.version"] == (
                "4.6.0" if client == "old" else props["client.version"]
            )
    assert "unexpected" in output
    assert KILLED.format(py=PY) in output
    for artefact in ("junit.xml", "report.json", "report.md", "report.html"):
        assert (tmp_path / "report" / artefact).is_file()

    # The same matrix, expecting that error (and redis-py 4.6.0's flat XINFO STREAM FULL
    # consumers), is green; the client envs are reused.
    config.write_text(
        config.read_text()
        + "expected:\n  - {server: redis-7.0, client: old, outcome: error, reason: killed}\n"
        + "  - {feature: reply-shape-xinfo-stream-full, client: old, outcome: fail}\n"
    )
    again = run_matrix(tmp_path, config)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "reused" in again.stdout + again.stderr
