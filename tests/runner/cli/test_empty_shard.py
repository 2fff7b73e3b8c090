"""A shard left without cells (whole lines went to the others) runs nothing and says why."""

from __future__ import annotations

import os
import subprocess
import sys

from support import ROOT


def test_a_shard_without_cells_exits_0_and_starts_nothing(tmp_path):
    (tmp_path / "tests" / "streams").mkdir(parents=True)
    config = tmp_path / "matrix.yaml"
    config.write_text(
        "python: ['3.11']\n"
        "servers:\n"
        "  - {name: r, releases: ['5.0.7', '5.0.9', '5.0.10'], expand: all,"
        " image: 'redis:{release}'}\n"
        "clients: [{version: '5.0.*'}]\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "COLUMNS": "300"}

    def listing(i: int) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "streammatrix", "run", "--config", str(config),
             "--shard", f"{i}/2", "--list"],
            capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120, check=False,
        )  # fmt: skip

    runs = [listing(1), listing(2)]
    listed = [[ln for ln in r.stdout.splitlines() if "--py3.11" in ln] for r in runs]
    assert sorted(map(len, listed)) == [0, 3], [r.stdout for r in runs]  # one line: one shard
    empty = 1 + [len(x) for x in listed].index(0)
    done = subprocess.run(
        [sys.executable, "-m", "streammatrix", "run", "--config", str(config),
         "--shard", f"{empty}/2", "--report-dir", str(tmp_path / "report")],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "a shard keeps the releases bisection compares together" in done.stdout
    assert not (tmp_path / "report" / "cells").exists()
