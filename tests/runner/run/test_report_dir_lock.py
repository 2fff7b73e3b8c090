"""One run per report dir: a second run into it stops at once (exit 2) naming the dir and the
run that writes there, and touches nothing; a run killed outright (SIGKILL) leaves no lock that
blocks the next one."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from support import PY, ROOT
from support.matrix import write_matrix
from support.servers import eventually, runner_pids

from streammatrix.report.analysis.stored import expand
from streammatrix.run.lock import LOCK_NAME, report_dir_lock

SLOW = f"redis-6.2--new--py{PY}"


def env(**extra: str) -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}, **extra}


def run_args(config: Path, report: Path, envs: Path) -> list[str]:
    return [
        sys.executable, "-m", "streammatrix", "run", "--config", str(config), "--provider",
        "binary", "--workers", "1", "--report-dir", str(report), "--envdir", str(envs),
    ]  # fmt: skip


def start_slow_run(tmp_path: Path) -> tuple[subprocess.Popen[str], Path]:
    """A run whose second cell sleeps; returned once that cell's test is sleeping."""
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "test_tiny.py").write_text((ROOT / "tests/runner/data/slow_cell.py").read_text())
    config = write_matrix(
        tmp_path / "matrix.yaml",
        servers=["redis-6.2"],
        clients=[{"name": "old", "version": "4.6.0"}, {"name": "new", "version": "latest"}],
    )
    started, log = tmp_path / "slow-started", tmp_path / "first.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            run_args(config, tmp_path / "report", tmp_path / "envs"),
            stdout=out, stderr=subprocess.STDOUT, text=True,
            env=env(SLOW_CELL=SLOW, SLOW_CELL_STARTED=str(started)),
        )  # fmt: skip
    assert eventually(started.exists, within=300), log.read_text()
    return proc, log


def quick_run(tmp_path: Path, report: Path) -> subprocess.CompletedProcess[str]:
    """Another matrix (one excluded cell: nothing to start) into ``report``."""
    folder = tmp_path / "other"
    (folder / "suite").mkdir(parents=True, exist_ok=True)
    config = folder / "matrix.yaml"
    config.write_text(
        yaml.safe_dump({
            "suite": "suite", "provider": "binary", "python": [PY],
            "servers": [{"name": "s", "binary": {"pypi": "x==1", "path": "x"}}],
            "clients": [{"name": "c", "version": "5.0.1"}],
            "exclude": [{"server": "s", "reason": "nothing to start"}],
        })
    )  # fmt: skip
    return subprocess.run(
        run_args(config, report, folder / "envs"),
        capture_output=True, text=True, env=env(), timeout=120, check=False,
    )  # fmt: skip


@pytest.mark.servers
@pytest.mark.slow
def test_a_second_run_into_the_same_report_dir_stops_at_once_and_names_the_first(tmp_path):
    report = tmp_path / "report"
    first, log = start_slow_run(tmp_path)
    try:
        done_before = sorted(p.name for p in (report / "cells").iterdir())
        second = quick_run(tmp_path, report)
        said = second.stdout + second.stderr
        assert second.returncode == 2, said
        assert f"{report}: another run is writing its report here (pid {first.pid} " in said
        assert "--report-dir" in said
        # it touched nothing: the first run's files are all there, no cell of its own
        assert sorted(p.name for p in (report / "cells").iterdir()) == done_before
        assert not (report / "cells" / f"s--c--py{PY}.xml").exists()
        assert first.poll() is None  # the first run goes on
        first.send_signal(signal.SIGINT)
        assert first.wait(timeout=60) == 130, log.read_text()
    finally:
        if first.poll() is None:
            first.kill()
    cells = expand(json.loads((report / "report.json").read_text()))["cells"]
    assert sorted(c["id"] for c in cells) == sorted([f"redis-6.2--old--py{PY}", SLOW])
    # the first run has ended: the dir is free again
    assert quick_run(tmp_path, report).returncode == 0


@pytest.mark.servers
@pytest.mark.slow
def test_a_run_killed_outright_leaves_no_lock_that_blocks_the_next(tmp_path):
    report = tmp_path / "report"
    first, _ = start_slow_run(tmp_path)
    first.kill()
    first.wait(timeout=30)
    assert eventually(lambda: not runner_pids(report, tmp_path / "envs"))
    assert (report / LOCK_NAME).exists()  # the file stays; the kernel's lock went with the run
    second = quick_run(tmp_path, report)
    assert second.returncode == 0, second.stdout + second.stderr
    cells = expand(json.loads((report / "report.json").read_text()))["cells"]
    assert [c["id"] for c in cells] == [f"s--c--py{PY}"]


def _no_run_writes(tmp_path: Path, report: Path, words: str) -> None:
    """``run`` into ``report`` stops with one line naming the lock file (exit 3)."""
    done = quick_run(tmp_path, report)
    said = done.stdout + done.stderr
    assert done.returncode == 3, said
    assert f"{report / LOCK_NAME}" in said and words in said, said
    assert "Traceback" not in said and not (report / "report.json").exists()


def test_a_link_in_place_of_the_lock_file_is_refused_and_its_target_untouched(tmp_path):
    report, target = tmp_path / "report", tmp_path / "someone-elses-file"
    report.mkdir()
    target.write_text("precious\n")
    (report / LOCK_NAME).symlink_to(target)
    _no_run_writes(tmp_path, report, "is a symbolic link")
    assert target.read_text() == "precious\n"
    (report / LOCK_NAME).unlink()
    (report / LOCK_NAME).symlink_to(tmp_path / "nowhere")  # dangling: nothing is created there
    _no_run_writes(tmp_path, report, "is a symbolic link")
    assert not (tmp_path / "nowhere").exists()


def test_a_fifo_in_place_of_the_lock_file_is_refused(tmp_path):
    report = tmp_path / "report"
    report.mkdir()
    os.mkfifo(report / LOCK_NAME)
    _no_run_writes(tmp_path, report, "is not a regular file")


def test_a_lock_file_that_cannot_be_written_is_one_line(tmp_path):
    """No space for the holder's name (here: a file size limit of 0, as a full disk): exit 3."""
    folder, report = tmp_path / "other", tmp_path / "report"
    quick_run(tmp_path, tmp_path / "warm")  # the matrix file and suite, written unlimited

    def no_writes() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))

    done = subprocess.run(
        run_args(folder / "matrix.yaml", report, folder / "envs"),
        capture_output=True, text=True, env=env(), timeout=120, check=False,
        preexec_fn=no_writes,
    )  # fmt: skip
    said = done.stdout + done.stderr
    assert done.returncode == 3, said
    assert f"{report / LOCK_NAME}: cannot write: " in said and "Traceback" not in said, said


def test_report_into_a_dir_a_run_holds_stops_and_writes_nothing(tmp_path):
    """`report` writes the report files a run is about to write: it waits its turn too."""
    report = tmp_path / "report"
    assert quick_run(tmp_path, report).returncode == 0

    def written() -> dict[str, int]:
        return {p.name: p.stat().st_mtime_ns for p in report.glob("*.*") if p.name != LOCK_NAME}

    before = written()
    assert "report.json" in before
    with report_dir_lock(report):  # the kernel lock a run holds, as run/lock.py takes it
        done = subprocess.run(
            [sys.executable, "-m", "streammatrix", "report", str(report / "cells"),
             "--report-dir", str(report)],
            capture_output=True, text=True, env=env(), cwd=tmp_path, timeout=120, check=False,
        )  # fmt: skip
    said = done.stdout + done.stderr
    assert done.returncode == 2, said
    assert f"{report}: another run is writing its report here" in said, said
    assert written() == before
