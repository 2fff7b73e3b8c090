"""Where the report cannot be written, or what it would claim rests on nothing: one clear line.

Write failures exit 3 naming the path, with no traceback and no half-written file; a
`required:` list that matches no test exits 2 instead of stating a minimum from nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from support import DATA, ROOT

from streammatrix import files
from streammatrix.errors import OutputError
from streammatrix.run.lock import LOCK_NAME

GOOD = """\
servers: [{name: redis-7.0, image: "redis:7.0"}]
clients: [{name: redis-5.0, version: "5.0.*"}]
"""


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "COLUMNS": "300"}
    env.pop("STREAMMATRIX_CONFIG", None)
    return subprocess.run(
        [sys.executable, "-m", "streammatrix", *args],
        capture_output=True, text=True, cwd=cwd, env=env, timeout=300, check=False,
    )  # fmt: skip


def report(tmp_path: Path, out: str | Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return cli("report", str(DATA / "cells"), "--report-dir", str(out), *extra, cwd=tmp_path)


def one_error_line(done: subprocess.CompletedProcess[str], code: int) -> str:
    output = done.stdout + done.stderr
    assert done.returncode == code, output
    assert "Traceback" not in output
    errors = [line for line in done.stdout.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, output
    return errors[0]


def test_a_report_dir_that_is_a_file_exits_3_naming_it(tmp_path):
    out = tmp_path / "report"
    out.write_text("not a folder\n")
    line = one_error_line(report(tmp_path, out), 3)
    assert line == f"error: {out}: exists and is not a directory"
    assert out.read_text() == "not a folder\n"


def test_a_report_dir_below_a_file_exits_3_naming_it(tmp_path):
    (tmp_path / "file").write_text("")
    out = tmp_path / "file" / "report"
    line = one_error_line(report(tmp_path, out), 3)
    assert line.startswith(f"error: {out}: cannot make the folder: ")


def test_a_report_dir_under_proc_exits_3(tmp_path):
    out = Path("/proc/self/streammatrix-report")  # no one, root included, makes a folder here
    line = one_error_line(report(tmp_path, out), 3)
    assert line.startswith(f"error: {out}: cannot make the folder: ")


def test_a_report_that_cannot_be_renamed_into_place_leaves_no_temporary_file(tmp_path):
    out = tmp_path / "report"
    (out / "report.md").mkdir(parents=True)  # the rename onto it fails
    line = one_error_line(report(tmp_path, out), 3)
    assert line.startswith(f"error: {out / 'report.md'}: cannot write: ")
    left = sorted(p.name for p in out.iterdir() if p.name != LOCK_NAME)  # the dir's lock stays
    assert left == ["junit.xml", "report.json", "report.md"]
    assert list((out / "report.md").iterdir()) == []


def test_a_failed_write_keeps_the_earlier_file_whole(tmp_path):
    target = tmp_path / "report.json"
    target.write_text("{}\n")

    def half_then_full_disk(tmp: Path) -> None:
        tmp.write_text('{"half": ')
        raise OSError(28, "No space left on device")

    with pytest.raises(OutputError) as info:
        files.write_with(target, half_then_full_disk)
    assert str(info.value) == f"{target}: cannot write: No space left on device"
    assert target.read_text() == "{}\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]


def test_a_full_disk_exits_3_naming_the_file(tmp_path):
    """/dev/full answers every write with ENOSPC: the report's first file is written there."""
    out = tmp_path / "report"
    out.mkdir()
    (out / "junit.xml.tmp").symlink_to("/dev/full")
    line = one_error_line(report(tmp_path, out), 3)
    assert line == f"error: {out / 'junit.xml'}: cannot write: No space left on device"
    assert not (out / "junit.xml").exists()
    assert not (out / "junit.xml.tmp").exists()


def write_config(tmp_path: Path, required: str) -> Path:
    (tmp_path / "tests" / "streams").mkdir(parents=True, exist_ok=True)
    path = tmp_path / "matrix.yaml"
    path.write_text(GOOD + f"required: {required}\n")
    return path


def test_required_that_matches_no_test_claims_no_minimum(tmp_path):
    config = write_config(tmp_path, "[TestSyncStreamBasics, xautoclam]")  # two typos
    done = report(tmp_path, tmp_path / "report", "--config", str(config))
    line = one_error_line(done, 2)
    assert "required: 'TestSyncStreamBasics', 'xautoclam' match no test" in line
    assert str(config) in line
    assert "red result" not in done.stdout
    assert not (tmp_path / "report" / "report.json").exists()


def test_required_that_partly_matches_warns_about_the_rest(tmp_path):
    config = write_config(tmp_path, "[TestSyncStreamsBasics, xautoclam]")
    done = report(tmp_path, tmp_path / "report", "--config", str(config))
    assert done.returncode in (0, 1), done.stdout + done.stderr
    assert "warning: required feature 'xautoclam' matches no test" in done.stdout
    assert "red result" in done.stdout  # the headline's last line
