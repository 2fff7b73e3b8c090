"""A client release that does not exist (redis==99.0), in a real run on real servers: its cells
are errors that say why on one line, the report never shows the claimed version as installed,
and the cells that one cause broke are listed under it once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from support import PY
from support.matrix import copy_suite, write_matrix

from streammatrix.report.analysis.stored import expand

pytestmark = [pytest.mark.servers, pytest.mark.slow]

SERVERS = ("redis-6.2", "redis-7.0")
GHOSTS = [f"{server}--ghost--py{PY}" for server in SERVERS]


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> tuple[subprocess.CompletedProcess[str], Path]:
    tmp = tmp_path_factory.mktemp("missing-client")
    copy_suite(tmp / "suite")
    config = write_matrix(
        tmp / "matrix.yaml",
        servers=SERVERS,
        clients=[{"name": "ghost", "version": "99.0"}, {"name": "old", "version": "4.6.0"}],
        exclude=[{"server": "redis-7.0", "client": "old", "reason": "one real cell is enough"}],
    )
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    done = subprocess.run(
        [
            sys.executable, "-m", "streammatrix", "run", "--config", str(config),
            "--report-dir", str(tmp / "report"), "--envdir", str(tmp / "envs"),
            "--workers", "2",
        ],
        capture_output=True, text=True, env=env, timeout=900, check=False, cwd=tmp,
    )  # fmt: skip
    return done, tmp / "report"


def _says_why(line: str) -> bool:
    """uv: "there is no version of redis==99.0"; pip: "No matching distribution ... 99.0"."""
    lowered = line.lower()
    return "99.0" in line and ("no version" in lowered or "no matching distribution" in lowered)


def test_the_console_says_why_the_environment_failed_on_one_line(run):
    done, _ = run
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    (env_line,) = [line for line in lines if line.startswith(f"environment ghost py{PY}")]
    assert _says_why(env_line), env_line
    for cell in GHOSTS:
        (cell_line,) = [line for line in lines if cell in line and "error" in line]
        assert _says_why(cell_line), cell_line


def test_the_report_does_not_show_the_claimed_version_as_installed(run):
    _, report = run
    data = expand(json.loads((report / "report.json").read_text()))
    cells = {c["id"]: c for c in data["cells"]}
    for cell in GHOSTS:
        assert cells[cell]["status"] == "error"
        assert cells[cell]["client"]["measured"] is False
        assert _says_why(cells[cell]["reason"]), cells[cell]["reason"]
    ran = cells[f"redis-6.2--old--py{PY}"]
    assert ran["status"] == "ok" and ran["client"]["version"] == "4.6.0"
    markdown = (report / "report.md").read_text()
    html = (report / "report.html").read_text()
    for page in (markdown, html):
        assert "redis-py 99.0 (not installed)" in page
        assert page.count("redis-py 99.0") == page.count("redis-py 99.0 (not installed)")
        assert "redis-py 4.6.0 (not installed)" not in page


def test_one_cause_lists_every_cell_it_broke(run):
    done, report = run
    lines = done.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if "unexpected result(s)" in line)
    listed = lines[start + 1 :]
    ghost = [line for line in listed if "client ghost" in line]
    assert len(ghost) == 1 and _says_why(ghost[0]), listed
    (cells,) = [line for line in listed if line.strip().startswith("cells:")]
    assert all(cell in cells for cell in GHOSTS), listed
    data = expand(json.loads((report / "report.json").read_text()))
    ghost_results = [u for u in data["unexpected"] if u["cell"] in GHOSTS]
    assert len(ghost_results) == 2  # report.json still lists every result
    (cause,) = {u["cause"] for u in ghost_results}
    assert sorted(data["causes"][cause]["cells"]) == sorted(GHOSTS)
    markdown = (report / "report.md").read_text()
    items = [line for line in markdown.splitlines() if line.startswith("- **cell error**")]
    assert len(items) == 1 and "2 cells (client ghost)" in markdown
