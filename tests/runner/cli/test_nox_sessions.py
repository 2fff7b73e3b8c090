"""The nox sessions, run by real nox: they end with the runner's own exit code."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from support import ROOT
from support.matrix import copy_suite, write_matrix


@pytest.fixture(scope="module")
def envdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One nox envdir for the module: the session environment is made once."""
    return tmp_path_factory.mktemp("nox")


def nox(
    envdir: Path, session: str, *args: str, cwd: Path, noxfile: Path = ROOT / "noxfile.py"
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    return subprocess.run(
        [
            sys.executable, "-m", "nox", "-f", str(noxfile), "-s", session,
            "--envdir", str(envdir), "--", *args,
        ],
        capture_output=True, text=True, env=env, cwd=cwd, timeout=900, check=False,
    )  # fmt: skip


@pytest.fixture
def config(tmp_path: Path) -> Path:
    copy_suite(tmp_path / "suite")
    return write_matrix(
        tmp_path / "matrix.yaml", servers=["redis-7.0"], clients=[{"name": "c", "version": "5.0.*"}]
    )


def test_matrix_ends_with_the_runners_exit_code(envdir, config, tmp_path):
    listed = nox(envdir, "matrix", "--config", str(config), "--list", cwd=tmp_path)
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert "redis-7.0--c--py" in listed.stdout

    unknown = nox(envdir, "matrix", "--config", str(config), "--servers", "redis-7.3", cwd=tmp_path)
    assert unknown.returncode == 2, unknown.stdout + unknown.stderr  # unusable input
    assert "redis-7.3" in unknown.stderr + unknown.stdout

    (tmp_path / "file").write_text("not a directory")
    unwritable = nox(
        envdir, "matrix", "--config", str(config), "--report-dir", str(tmp_path / "file"),
        cwd=tmp_path,
    )  # fmt: skip
    assert unwritable.returncode == 3, unwritable.stdout + unwritable.stderr


def test_report_ends_with_the_runners_exit_code(envdir, tmp_path):
    (tmp_path / "file").write_text("not a directory")
    done = nox(envdir, "report", str(tmp_path / "missing"), "--report-dir", str(tmp_path / "file"),
               cwd=tmp_path)  # fmt: skip
    assert done.returncode == 3, done.stdout + done.stderr  # the report could not be written


def test_the_matrix_session_reuses_its_environment_until_the_runner_changes(tmp_path):
    """A copy of the project: a second `nox -s matrix` installs nothing; an edit in src/ is
    installed by the next one."""
    project = tmp_path / "project"
    project.mkdir()
    for name in ("noxfile.py", "pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, project / name)
    shutil.copytree(ROOT / "src", project / "src", ignore=shutil.ignore_patterns("__pycache__"))
    config = write_matrix(
        copy_suite(tmp_path / "suite").parent / "matrix.yaml",
        servers=["redis-7.0"],
        clients=[{"name": "c", "version": "5.0.*"}],
    )
    envdir = tmp_path / "nox"

    def listed() -> str:
        done = nox(envdir, "matrix", "--config", str(config), "--list", cwd=project,
                   noxfile=project / "noxfile.py")  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        assert "redis-7.0--c--py" in done.stdout
        return done.stderr  # nox's own lines

    first = listed()
    assert "pip install" in first
    python = envdir / "matrix" / "bin" / "python"
    made = python.stat().st_mtime_ns

    second = listed()
    assert "pip install" not in second, second
    assert "the runner is installed and unchanged" in second
    assert python.stat().st_mtime_ns == made  # the same environment, not made again

    marker = "# edited after the first install\n"
    init = project / "src" / "streammatrix" / "__init__.py"
    init.write_text(init.read_text() + marker)
    third = listed()
    assert "pip install" in third, third
    installed = subprocess.run(
        [str(python), "-c", "import streammatrix, pathlib; "
         "print(pathlib.Path(streammatrix.__file__).read_text())"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert marker.strip() in installed
