"""Sessions: the compatibility matrix and the project's own checks.

The sessions are thin: each installs the package and calls its command line, so the same run
works from nox, from CI, and by hand (``python -m streammatrix run --help``). The runner's
sessions keep their environment and install into it only when pyproject.toml or src/ changed
(``--no-reuse-existing-virtualenvs`` makes it anew), and end with the runner's exit code.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import nox
from nox.command import CommandFailed

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["lint", "tests"]
nox.options.error_on_missing_interpreters = False

# pip downloads binary wheels for local servers (uv-made environments do not ship it); uv, which
# makes the client environments, is a dependency of the runner.
RUNNER = [".", "pip"]


def _install_runner(session: nox.Session) -> None:
    """Install the runner, unless the session's (reused) environment has this very one: what
    it installs is RUNNER, pyproject.toml and src/, so their digest says when to install."""
    digest = hashlib.sha256(repr(RUNNER).encode())
    for path in [Path("pyproject.toml"), *sorted(Path("src").rglob("*"))]:
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(f"{path}\0".encode() + path.read_bytes())
    stamp = Path(session.virtualenv.location) / ".streammatrix-runner"
    if stamp.is_file() and stamp.read_text() == digest.hexdigest():
        session.log("the runner is installed and unchanged: nothing to install")
        return
    session.install(*RUNNER)
    stamp.write_text(digest.hexdigest())


def _runner(session: nox.Session, *args: str) -> None:
    """Run the runner's command line; nox ends with the runner's own exit code (README: 0, 1, 2,
    3, 130), where it would turn any failure into 1."""
    try:
        session.run("streammatrix", *args)
    except CommandFailed as exc:
        sys.exit(exc.return_code if exc.return_code is not None else 1)


def _envdir(session: nox.Session) -> str:
    """Client environments live beside the session's own, under nox's envdir."""
    return str(Path(session.virtualenv.location).parent)


@nox.session(reuse_venv=True)
def matrix(session: nox.Session) -> None:
    """Run the stream suite in every cell of matrix.yaml and write the report (report/).

    Options after --: --servers, --clients, --python, --workers N, --shard I/N,
    --provider auto|docker|binary, --report-dir, --baseline report.json, --history N,
    --timeout S, --refresh, --keep, --list (see `python -m streammatrix run --help`).
    """
    _install_runner(session)
    _runner(session, "run", "--envdir", _envdir(session), *session.posargs)


@nox.session(reuse_venv=True)
def report(session: nox.Session) -> None:
    """Merge cell files (report/cells, or paths after --) into report/: JUnit, JSON, MD, HTML."""
    _install_runner(session)
    _runner(session, "report", *session.posargs)


@nox.session(reuse_venv=True)
def images(session: nox.Session) -> None:
    """Build local server images from the binary sources in matrix.yaml (no registry needed)."""
    _install_runner(session)
    _runner(session, "images", *session.posargs)


@nox.session(reuse_venv=True)
def bench(session: nox.Session) -> None:
    """Measure the runner itself; print tables and write report/bench.json (nothing asserted).

    Server start-to-ready per provider, a 4 servers x 2 clients matrix cold and warm at 1, the
    cores and twice the cores workers (cell start-up median and p90 per run), the runner
    against a hand-written loop, a one-feature cell forked and spawned, the suite's
    latencies, and what bisecting a redis-py range costs next to running every release of it.
    Options after --: --starts N, --workers 1,2,4, --providers docker,binary, --provider,
    --servers, --clients, --protocols, --rounds N, --feature F, --repeats N, --skip-runs,
    --bisect-range, --fixed (the fixed 30-cell matrix: 6 servers x 5 redis-py lines, RESP2;
    e.g. `nox -s bench -- --fixed --workers 2 --rounds 3 --bisect-range none`).
    """
    _install_runner(session)
    _runner(session, "bench", "--envdir", _envdir(session), *session.posargs)


@nox.session
def tests(session: nox.Session) -> None:
    """The project's own tests: real servers, a real Docker engine, a real small matrix."""
    session.install("-e", ".[test]", "pip")
    # a hung test fails on its own instead of eating the whole CI budget
    session.run("pytest", "--timeout=900", *(session.posargs or ["-ra"]))


@nox.session
def lint(session: nox.Session) -> None:
    """ruff (lint and formatting) and the import contracts of pyproject.toml (lint-imports)."""
    session.install("ruff", "import-linter", ".")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("lint-imports")
