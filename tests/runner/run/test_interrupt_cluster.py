"""Interrupting a run while a cell's cluster starts: every node it started is stopped, from a
binary (processes) and from an image (containers)."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from support.matrix import write_matrix
from support.servers import eventually, gone

pytestmark = [pytest.mark.servers, pytest.mark.slow]

RUN_ID = "io.streammatrix.run-id"  # <host>:<runner pid>:<its start time>


def binary_nodes(runner: int) -> list[int]:
    """Server processes of ``runner`` started as cluster nodes (their directory names the
    runner's pid; see servers/binary/provider.py)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        named = any(f"streammatrix-server-{runner}-".encode() in arg for arg in argv)
        if named and b"--cluster-enabled" in argv and not gone(int(entry.name)):
            found.append(int(entry.name))
    return found


def docker_nodes(runner: int) -> list[str]:
    """Containers of ``runner`` started as cluster nodes, running or not (one listing call: a
    container removed meanwhile is simply not in it)."""
    import docker

    client = docker.from_env()
    found = client.api.containers(all=True, filters={"label": RUN_ID})
    return [
        c["Id"] for c in found
        if f":{runner}:" in c["Labels"][RUN_ID] and "--cluster-enabled" in c["Command"]
    ]  # fmt: skip


PROVIDERS = [
    pytest.param("binary", binary_nodes, id="binary"),
    pytest.param("docker", docker_nodes, id="docker", marks=pytest.mark.docker),
]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize(("provider", "nodes"), PROVIDERS)
def test_a_signal_while_a_cluster_starts_leaves_no_node_running(
    tmp_path, sig, provider: str, nodes: Callable[[int], list]
):
    if provider == "docker":
        from support.engine import image_for

        image_for("redis-7.0")
    config = write_matrix(
        tmp_path / "matrix.yaml",
        servers=["redis-7.0"],
        clients=[{"name": "new", "version": "latest"}],
        topologies=["cluster"],
        suite=str(Path(__file__).resolve().parents[2] / "streams"),
    )
    log = tmp_path / "runner.log"
    cmd = [
        sys.executable, "-m", "streammatrix", "run", "--config", str(config), "--workers", "1",
        "--provider", provider, "--report-dir", str(tmp_path / "report"),
        "--envdir", str(tmp_path / "envs"),
    ]  # fmt: skip
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, text=True)
    try:
        assert eventually(lambda: nodes(proc.pid), within=180), log.read_text()
        seen = nodes(proc.pid)
        proc.send_signal(sig)
        assert proc.wait(timeout=60) == 130, log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = log.read_text()
    # it was interrupted while the cluster started: the cluster never said it was ready
    assert "(cluster) ready" not in text, text
    assert seen and not nodes(proc.pid)
    if provider == "binary":
        assert all(gone(pid) for pid in seen)
    assert "interrupted" in text
