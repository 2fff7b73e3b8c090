"""Shared by the Docker provider, image and selection tests: the engine and the catalogue images."""

from __future__ import annotations

import dataclasses
import functools
import socket
import subprocess
import sys

import docker
import pytest

from streammatrix.config.load import load
from streammatrix.config.model import ServerSpec
from streammatrix.errors import ProviderError
from streammatrix.servers.docker.engine import connect
from streammatrix.servers.docker.reaping import RUN_ID_LABEL, RUNNER, RUNNER_LABEL
from streammatrix.servers.images import BuildResult, build_images
from support import ROOT, image_tag

ABSENT_IMAGE = "streammatrix-test/absent:0"  # never built, never pullable


def engine() -> docker.DockerClient:
    """A client for the engine; skip (a failure under STREAMMATRIX_STRICT=1) when none answers."""
    try:
        return connect()
    except ProviderError as exc:
        pytest.skip(f"no Docker engine: {exc}")


def catalogue() -> list[ServerSpec]:
    """Every server of matrix.yaml that has a ``binary:`` source (and so a buildable image),
    with the tests' tag (:func:`support.image_tag`)."""
    servers = load(ROOT / "matrix.yaml").servers
    return [
        dataclasses.replace(s, image=image_tag(s.image)) for s in servers if s.binary and s.image
    ]


def by_name(name: str) -> ServerSpec:
    return next(s for s in catalogue() if s.name == name)


@functools.cache
def catalogue_images() -> dict[str, BuildResult]:
    """Build the catalogue's images once per test process; those present are left alone."""
    return {r.server: r for r in build_images(catalogue(), engine())}


@functools.cache
def image_for(name: str) -> ServerSpec:
    """The catalogue entry ``name``, its image there: built offline from its binary as
    `nox -s images` does, unless present (a test that needs an image makes it, whatever ran
    before; processes side by side build a tag once). The test fails naming why it could not."""
    spec = by_name(name)
    [result] = build_images([spec], engine())
    assert result.ok, f"the image {spec.image} of {name} could not be built: {result.error}"
    return spec


def ours(client: docker.DockerClient, run_id: str | None = None) -> list:
    """Containers carrying the runner label (of one run, when ``run_id`` is given)."""
    labels = [f"{RUNNER_LABEL}={RUNNER}"]
    if run_id:
        labels.append(f"{RUN_ID_LABEL}={run_id}")
    return client.containers.list(all=True, filters={"label": labels})


def closed_port() -> int:
    """A local TCP port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_in_subprocess(image: str) -> tuple[subprocess.Popen[str], str, str]:
    """A process serving ``image`` under the Docker provider: (process, run id, container)."""
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "runner" / "servers" / "serve_in_docker.py"), image],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = process.stdout.readline().split()
    if not line or line[0] != "READY":
        process.kill()
        pytest.fail(f"the server process did not get ready: {process.communicate()[1][-2000:]}")
    return process, line[1], line[2]
