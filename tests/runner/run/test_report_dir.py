"""The report dir: relative to where `run` is started, and only the run's own files replaced.

A real cell (redis-7.0 from its binary, the newest redis-py) runs with the matrix file in
another folder and the default `--report-dir report`: pytest runs in the matrix file's folder,
so a path left relative would make every cell an error ("pytest wrote no JUnit file").
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from junitparser import JUnitXml
from support import PY
from support.matrix import copy_suite, write_matrix

from streammatrix.plugin import outcomes as o
from streammatrix.report.analysis.stored import expand

pytestmark = [pytest.mark.servers, pytest.mark.slow]

CELL = f"redis-7.0--new--py{PY}"
GONE = f"redis-6.2--old--py{PY}"  # an earlier run's cell that this run does not have


def run(cwd: Path, config: Path, envdir: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "STREAMMATRIX_CONFIG")}
    return subprocess.run(
        [sys.executable, "-m", "streammatrix", "run", "--config", os.path.relpath(config, cwd),
         "--envdir", str(envdir), "--workers", "1"],
        capture_output=True, text=True, cwd=cwd, env=env, timeout=900, check=False,
    )  # fmt: skip


def status(path: Path) -> str:
    xml = JUnitXml.fromfile(str(path))
    suite = next(iter(xml)) if not hasattr(xml, "properties") else xml
    return {p.name: p.value for p in suite.properties()}[o.SUITE_CELL_STATUS]


def test_relative_report_dir_lands_in_the_cwd_and_keeps_foreign_files(tmp_path):
    conf, cwd = tmp_path / "conf", tmp_path / "work"
    copy_suite(conf / "suite")
    config = write_matrix(
        conf / "matrix.yaml", servers=["redis-7.0"], clients=[{"name": "new", "version": "latest"}]
    )
    report = cwd / "report"
    (report / "cells").mkdir(parents=True)
    (report / "logs").mkdir()
    foreign = {report / "logs" / "app.log": "mine\n", report / "cells" / "notes.txt": "keep\n"}
    earlier = {
        report / "cells" / f"{CELL}.xml": "<earlier/>",
        report / "cells" / f"{GONE}.xml": "<earlier/>",
        report / "cells" / f"{GONE}.xml.tmp": "<half",
        report / "logs" / f"{CELL}.log": "earlier log\n",
        report / "logs" / f"{GONE}.log": "earlier log\n",
    }
    for path, text in {**foreign, **earlier}.items():
        path.write_text(text)

    done = run(cwd, config, tmp_path / "envs")
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "pytest wrote no JUnit file" not in output
    assert status(report / "cells" / f"{CELL}.xml") == o.CELL_OK
    assert (report / "logs" / f"{CELL}.log").read_text().startswith("$ ")
    for path, text in foreign.items():
        assert path.read_text() == text
    assert sorted(p.name for p in (report / "cells").iterdir()) == ["notes.txt", f"{CELL}.xml"]
    assert sorted(p.name for p in (report / "logs").iterdir()) == ["app.log", f"{CELL}.log"]
    data = expand(json.loads((report / "report.json").read_text()))
    assert [c["id"] for c in data["cells"]] == [CELL]
    assert not (conf / "report").exists()

    # A required: list that matches no test: the cells run, but no minimum is claimed.
    config.write_text(config.read_text() + "required: [TestSyncStreamBasics]\n")  # a typo
    done = run(cwd, config, tmp_path / "envs")
    output = done.stdout + done.stderr
    assert done.returncode == 2, output
    assert "Traceback" not in output
    assert "required: 'TestSyncStreamBasics' match no test" in done.stdout
    assert "Minimum supported" not in done.stdout


def test_a_report_dir_that_is_a_file_or_an_unwritable_log_exits_3(tmp_path):
    copy_suite(tmp_path / "suite")
    config = write_matrix(
        tmp_path / "matrix.yaml",
        servers=["redis-7.0"],
        clients=[{"name": "new", "version": "latest"}],
    )
    (tmp_path / "report").write_text("a file\n")
    done = run(tmp_path, config, tmp_path / "envs")
    output = done.stdout + done.stderr
    assert done.returncode == 3, output
    assert "Traceback" not in output
    assert f"error: {tmp_path / 'report'}: exists and is not a directory" in done.stdout
    assert (tmp_path / "report").read_text() == "a file\n"

    (tmp_path / "report").unlink()
    (tmp_path / "report" / "logs" / f"{CELL}.log").mkdir(parents=True)  # not a file: kept
    done = run(tmp_path, config, tmp_path / "envs")
    output = done.stdout + done.stderr
    assert done.returncode == 3, output
    assert "Traceback" not in output
    log = tmp_path / "report" / "logs" / f"{CELL}.log"
    assert f"error: {log}: cannot write: Is a directory" in done.stdout
