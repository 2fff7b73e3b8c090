"""Input the command line must refuse with one clear line and exit 2, before anything runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from support import DATA, ROOT


def streammatrix(*args: str, cwd: Path, env: dict[str, str] | None = None):
    base = {k: v for k, v in os.environ.items() if k != "STREAMMATRIX_CONFIG"}
    env = {**base, "PYTHONPATH": str(ROOT / "src"), "COLUMNS": "400", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "streammatrix", *args],
        capture_output=True, text=True, cwd=cwd, env=env, timeout=300, check=False,
    )  # fmt: skip


def test_report_with_a_named_config_that_is_missing_exits_2(tmp_path):
    missing = tmp_path / "missing.yaml"
    done = streammatrix(
        "report", str(DATA / "cells"), "--report-dir", str(tmp_path / "out"),
        "--config", str(missing), cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stdout.strip() == (
        f"error: {missing}: cannot read the matrix file: No such file or directory"
    )
    assert not (tmp_path / "out").exists()
    # named through the environment: the same
    done = streammatrix(
        "report", str(DATA / "cells"), "--report-dir", str(tmp_path / "out"),
        cwd=tmp_path, env={"STREAMMATRIX_CONFIG": str(missing)},
    )  # fmt: skip
    assert done.returncode == 2 and str(missing) in done.stdout, done.stdout + done.stderr
    # not named, and no matrix.yaml where it runs: the report is made without one
    done = streammatrix(
        "report", str(DATA / "cells"), "--report-dir", str(tmp_path / "out"), cwd=tmp_path
    )
    assert done.returncode == 1 and (tmp_path / "out" / "report.json").is_file(), done.stdout


def test_an_empty_shard_option_is_refused_not_read_as_no_shard(tmp_path):
    (tmp_path / "tests" / "streams").mkdir(parents=True)
    config = tmp_path / "matrix.yaml"
    config.write_text("servers: [{name: r, image: 'redis:7.0'}]\nclients: [{version: latest}]\n")
    done = streammatrix("list", "--config", str(config), "--shard", "", cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stdout.strip() == "error: --shard '': expected I/N, e.g. 1/4"


def test_a_matrix_file_that_is_no_file_is_refused_without_reading_it(tmp_path):
    """/dev/zero never ends (the run read it into memory until MemoryError), a FIFO without a
    writer never opens: both hung the run. Refused as --baseline and --declared refuse them."""
    fifo = tmp_path / "matrix.fifo"
    os.mkfifo(fifo)
    base = {k: v for k, v in os.environ.items() if k != "STREAMMATRIX_CONFIG"}
    for path in (fifo, Path("/dev/zero"), tmp_path):
        done = subprocess.run(
            [sys.executable, "-m", "streammatrix", "list", "--config", str(path)],
            capture_output=True, text=True, cwd=tmp_path, timeout=20, check=False,
            env={**base, "PYTHONPATH": str(ROOT / "src"), "COLUMNS": "400"},
        )  # fmt: skip
        assert done.returncode == 2, done.stdout + done.stderr
        assert done.stdout.strip() == f"error: {path}: cannot read the matrix file: not a file"
