"""Provider selection: explicit kinds, auto with and without an engine, per-server fallback."""

from __future__ import annotations

import dataclasses

import pytest
from support.engine import (
    ABSENT_IMAGE,
    by_name,
    closed_port,
    engine,
    image_for,
    ours,
    start_in_subprocess,
)

from streammatrix.errors import ProviderError
from streammatrix.servers import base
from streammatrix.servers.binary.provider import BinaryProvider
from streammatrix.servers.docker.provider import DockerProvider
from streammatrix.servers.docker.pull import ImageUnavailable
from streammatrix.servers.select import AutoProvider, make_provider


@pytest.fixture
def no_engine(monkeypatch):
    address = f"tcp://127.0.0.1:{closed_port()}"
    monkeypatch.setenv("DOCKER_HOST", address)
    return address


@pytest.mark.docker
def test_docker_means_the_docker_provider():
    engine()
    said: list[str] = []
    provider = make_provider("docker", notify=said.append)
    assert isinstance(provider, DockerProvider)
    assert provider.kind == "docker"
    assert not isinstance(provider, AutoProvider)


def test_docker_without_an_engine_is_one_clear_error(no_engine):
    with pytest.raises(ProviderError, match=f"the Docker engine at {no_engine} does not answer"):
        make_provider("docker")


def test_binary_means_the_binary_provider(tmp_path):
    provider = make_provider("binary", cache_dir=tmp_path)
    assert isinstance(provider, BinaryProvider)
    assert provider.kind == "binary"


def test_an_unknown_kind_names_the_choices():
    with pytest.raises(
        ProviderError, match="unknown provider 'podman': choose one of auto, docker"
    ):
        make_provider("podman")


@pytest.mark.docker
def test_auto_uses_docker_when_an_engine_answers_and_says_nothing():
    engine()
    said: list[str] = []
    provider = make_provider("auto", notify=said.append)
    assert isinstance(provider, AutoProvider) and isinstance(provider.docker, DockerProvider)
    assert provider.kind == "auto"  # not "docker": it may run some rows from their binaries
    assert provider.kind_of(image_for("valkey-8.0")) == "docker"
    assert said == []


def test_auto_without_an_engine_says_why_once_and_uses_binaries(no_engine):
    said: list[str] = []
    provider = make_provider("auto", notify=said.append)
    assert isinstance(provider, BinaryProvider)
    assert len(said) == 1
    assert "not using Docker" in said[0] and no_engine in said[0]


@pytest.mark.docker
def test_auto_runs_a_server_without_an_image_from_its_binary_and_says_so_once():
    engine()
    said: list[str] = []
    provider = make_provider("auto", notify=said.append)
    spec = dataclasses.replace(by_name("redis-6.2"), image=ABSENT_IMAGE)
    assert provider.kind_of(spec) == "docker"  # until its image turns out to be missing
    for _ in range(2):
        with base.serve(provider, spec) as server:
            assert server.identity.version == "6.2.5"
            assert not hasattr(server, "container")  # a local process, not a container
            assert server.kind == "binary"
    assert provider.kind_of(spec) == "binary"
    notes = [line for line in said if "running its binary" in line]
    assert len(notes) == 1
    assert "server 'redis-6.2'" in notes[0] and ABSENT_IMAGE in notes[0]
    assert "nox -s images" in notes[0]
    assert any(line.startswith(f"pulling {ABSENT_IMAGE}") for line in said)  # tried first
    assert set(provider.fallbacks) == {"redis-6.2"}


@pytest.mark.docker
def test_auto_runs_a_row_with_only_a_binary_from_it_without_asking_docker():
    engine()
    said: list[str] = []
    provider = make_provider("auto", notify=said.append)
    spec = dataclasses.replace(by_name("redis-6.2"), image=None)
    assert provider.kind_of(spec) == "binary"
    with base.serve(provider, spec) as server:
        assert server.kind == "binary" and server.identity.version == "6.2.5"
    assert said == []  # no pull tried, no fallback to announce
    assert provider.fallbacks == {}


@pytest.mark.docker
def test_auto_keeps_docker_for_servers_whose_image_is_there():
    engine()
    provider = make_provider("auto", notify=lambda _: None)
    spec = image_for("valkey-8.0")
    with base.serve(provider, spec) as server:
        assert server.container is not None
        assert server.identity.version == "8.0.1"
    assert provider.fallbacks == {}


@pytest.mark.docker
def test_auto_without_image_or_binary_gives_the_image_error():
    engine()
    provider = make_provider("auto", notify=lambda _: None)
    spec = dataclasses.replace(by_name("redis-6.2"), image=ABSENT_IMAGE, binary=None)
    with pytest.raises(ImageUnavailable, match=f"image {ABSENT_IMAGE} is not present"):
        provider.start(spec)


@pytest.mark.docker
@pytest.mark.parametrize("kind", ["docker", "auto"])
def test_containers_of_a_killed_run_are_removed_and_named(kind):
    client = engine()
    process, run_id, name = start_in_subprocess(image_for("redis-7.0").image)
    process.kill()
    process.communicate(timeout=60)
    said: list[str] = []
    make_provider(kind, notify=said.append)
    assert not ours(client, run_id)
    assert any("removed" in line and name in line for line in said)
