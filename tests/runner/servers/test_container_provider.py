"""The Docker provider against the real engine: start, answer, identify, label, remove, reap."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import threading

import pytest
import redis
from docker.errors import APIError, NotFound
from support.engine import (
    ABSENT_IMAGE,
    closed_port,
    engine,
    image_for,
    ours,
    start_in_subprocess,
)

from streammatrix.errors import ProviderError, ServerStartError
from streammatrix.plugin import resp
from streammatrix.servers import base
from streammatrix.servers.docker.provider import DockerProvider
from streammatrix.servers.docker.pull import ImageUnavailable
from streammatrix.servers.docker.reaping import (
    RUN_ID_LABEL,
    RUNNER,
    RUNNER_LABEL,
    SERVER_LABEL,
    current_run_id,
    reap,
    run_is_alive,
)
from streammatrix.versions import matches_claim

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def client():
    return engine()


@pytest.fixture(scope="module")
def provider(client):
    return DockerProvider(client)


@pytest.fixture(scope="module")
def redis70():
    return image_for("redis-7.0")


def gone(client, container) -> bool:
    try:
        client.containers.get(container.id)
    except NotFound:
        return True
    return False


def test_a_container_answers_reports_info_version_binds_loopback_and_is_labelled(
    client, provider, redis70
):
    with base.serve(provider, redis70, {"io.streammatrix.cell": "redis-7.0|redis-7|py3.11"}) as s:
        assert s.alive()
        assert resp.responsive(s.host, s.port)
        assert s.url == f"redis://127.0.0.1:{s.port}/0"
        assert (s.identity.name, s.identity.version) == ("redis", "7.0.15")

        s.container.reload()
        bindings = s.container.attrs["NetworkSettings"]["Ports"]["6379/tcp"]
        assert [(b["HostIp"], int(b["HostPort"])) for b in bindings] == [("127.0.0.1", s.port)]
        gateway = s.container.attrs["NetworkSettings"]["Gateway"]  # this host, on docker0
        assert gateway and not resp.responsive(gateway, s.port)  # loopback only

        labels = s.container.labels
        assert labels[RUNNER_LABEL] == "streammatrix"
        assert labels[RUN_ID_LABEL] == provider.run_id == current_run_id()
        assert labels[SERVER_LABEL] == "redis-7.0"
        assert labels["io.streammatrix.cell"] == "redis-7.0|redis-7|py3.11"
        assert "Ready to accept connections" in s.logs()
        container = s.container
    assert gone(client, container)
    assert not s.alive()
    s.stop()  # idempotent


def test_stream_commands_work_against_a_container(provider, redis70):
    with base.serve(provider, redis70) as s:
        r = redis.Redis.from_url(s.url, decode_responses=True)
        first = r.xadd("orders", {"item": "book", "qty": "1"})
        r.xadd("orders", {"item": "pen", "qty": "3"})
        assert r.xlen("orders") == 2
        [[stream, entries]] = r.xread({"orders": "0"})
        assert stream == "orders"
        assert [fields["item"] for _, fields in entries] == ["book", "pen"]
        assert r.xgroup_create("orders", "billing", id="0") is True
        [[_, claimed]] = r.xreadgroup("billing", "worker-1", {"orders": ">"}, count=1)
        assert claimed[0][0] == first
        assert r.xack("orders", "billing", first) == 1
        assert r.xpending("orders", "billing")["pending"] == 0
        r.close()


def test_the_container_is_removed_when_the_block_raises(client, provider, redis70):
    with pytest.raises(RuntimeError, match="boom"), base.serve(provider, redis70) as s:
        container = s.container
        raise RuntimeError("boom")
    assert gone(client, container)
    assert not ours(client, provider.run_id)


def test_a_version_mismatch_names_both_versions_and_leaves_nothing(client, provider, redis70):
    claimed = dataclasses.replace(redis70, version="6.2")
    with pytest.raises(ServerStartError, match=r"claims version 6\.2.*runs redis 7\.0\.15"):
        provider.start(claimed)
    assert not ours(client, provider.run_id)


def test_a_server_that_exits_reports_its_last_log_lines(client, provider, redis70):
    broken = dataclasses.replace(redis70, args=("--no-such-directive", "1"))
    with pytest.raises(ServerStartError) as info:
        provider.start(broken)
    message = str(info.value)
    assert "'redis-7.0'" in message and "exited before answering PING" in message
    assert "no-such-directive" in message  # the server's own complaint, from its log
    assert not ours(client, provider.run_id)


def test_an_unpullable_image_is_one_clear_error(provider, redis70):
    absent = dataclasses.replace(redis70, image=ABSENT_IMAGE)
    with pytest.raises(ImageUnavailable) as info:
        provider.start(absent)
    message = str(info.value)
    assert f"server 'redis-7.0': image {ABSENT_IMAGE} is not present and could not be pulled" in (
        message
    )
    assert "nox -s images" in message
    no_binary = dataclasses.replace(absent, binary=None)
    with pytest.raises(ImageUnavailable, match="give the entry a `binary:` source"):
        provider.start(no_binary)


@pytest.mark.parametrize("kind", ["tcp", "unix"])
def test_an_engine_that_does_not_answer_is_one_clear_error(monkeypatch, tmp_path, kind):
    address = (
        f"tcp://127.0.0.1:{closed_port()}" if kind == "tcp" else f"unix://{tmp_path}/none.sock"
    )
    monkeypatch.setenv("DOCKER_HOST", address)
    with pytest.raises(ProviderError, match=f"the Docker engine at {address} does not answer"):
        DockerProvider()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_an_interrupted_run_removes_its_container(client, redis70, sig):
    process, run_id, name = start_in_subprocess(redis70.image)
    assert [c.name for c in ours(client, run_id)] == [name]
    process.send_signal(sig)
    process.communicate(timeout=60)
    assert not ours(client, run_id)


def test_a_killed_run_leaves_its_container_and_the_next_provider_reaps_it(client, redis70):
    process, run_id, name = start_in_subprocess(redis70.image)
    process.kill()
    process.communicate(timeout=60)
    assert [c.name for c in ours(client, run_id)] == [name]  # SIGKILL: nothing could clean up
    assert not run_is_alive(run_id)

    next_provider = DockerProvider(client)
    assert name in next_provider.reaped
    assert not ours(client, run_id)
    assert name not in reap(client)


def test_reap_leaves_live_runs_alone(client, provider, redis70):
    with base.serve(provider, redis70) as s:
        assert s.container.name not in reap(client)
        assert s.alive()


def test_run_ids_and_versions():
    run_id = current_run_id()
    host, pid, _ = run_id.split(":")
    assert int(pid) == os.getpid()
    assert run_is_alive(run_id)
    assert not run_is_alive(f"{run_id}0")  # same pid, another start time: a reused pid
    assert run_is_alive(f"elsewhere-{host}:1:1")  # another host's run is not ours to judge
    assert matches_claim("7.0", "7.0.15")
    assert matches_claim("7.0.15", "7.0.15")
    assert not matches_claim("7.0.1", "7.0.15")
    assert not matches_claim("7", "8.0.2")


def test_reap_survives_containers_that_another_run_removes_meanwhile(client, redis70):
    """Two runs start at once: one removes a dead run's containers while the other lists them.
    Listing used to inspect each container, so one removed in between ended the second run with
    NotFound."""
    dead = f"{os.uname().nodename}:999999999:0"  # no such process: a dead run
    labels = {RUNNER_LABEL: RUNNER, RUN_ID_LABEL: dead}
    for _ in range(3):
        made = [client.containers.create(redis70.image, labels=labels) for _ in range(15)]
        remover = threading.Thread(target=_remove_all, args=(made,), daemon=True)
        remover.start()
        try:
            while remover.is_alive():
                reap(client)  # must not raise, whatever disappears under it
        finally:
            remover.join()
        for container in made:
            with contextlib.suppress(NotFound):
                container.remove(force=True)


def _remove_all(containers: list) -> None:
    """The other run: removes each container, and shrugs when the reaper got there first."""
    for container in containers:
        with contextlib.suppress(APIError):  # NotFound, or 409: removal already in progress
            container.remove(force=True)
