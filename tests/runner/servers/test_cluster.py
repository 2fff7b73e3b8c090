"""A cell's cluster, from both providers: three primaries of the row's own binary or image, every
slot assigned, ready when every node says so, every node reachable at the address the cluster
announces, stopped as one; and a server that cannot be a cluster."""

from __future__ import annotations

import dataclasses

import pytest
from support import servers as h
from support.engine import engine, image_for

from streammatrix import processes
from streammatrix.plugin import resp
from streammatrix.servers import topology
from streammatrix.servers.binary.provider import BinaryProvider
from streammatrix.servers.docker.provider import DockerProvider


def announced(cluster) -> list[tuple[str, int, str]]:
    """(host, port, slots) of every node, as the first node's CLUSTER NODES hands them out."""
    found = []
    for line in resp.call(cluster.host, cluster.port, "CLUSTER", "NODES").splitlines():
        fields = line.split()
        address = fields[1].split("@")[0]
        host, _, port = address.rpartition(":")
        found.append((host, int(port), " ".join(fields[8:])))
    return found


def check_cluster(cluster) -> None:
    assert len(cluster.nodes) == topology.NODES
    for node in cluster.nodes:
        info = resp.call(node.host, node.port, "CLUSTER", "INFO")
        assert "cluster_state:ok" in info and "cluster_slots_assigned:16384" in info
        assert f"cluster_known_nodes:{topology.NODES}" in info
    nodes = announced(cluster)
    assert sorted((h, p) for h, p, _ in nodes) == sorted((n.host, n.port) for n in cluster.nodes)
    for host, port, slots in nodes:
        assert slots  # every primary owns a share
        assert resp.responsive(host, port)  # reached from here where the cluster says it is
    assert cluster.alive() and cluster.url == cluster.nodes[0].url


@pytest.mark.servers
@pytest.mark.parametrize("name", ["redis-7.0", "valkey-8.0", "redis-5.0.7"])
def test_a_cluster_from_a_binary(name):
    with h.reachable():
        cluster = topology.start_cluster(BinaryProvider(), h.by_name(name))
    pids = [node.process.pid for node in cluster.nodes]
    try:
        check_cluster(cluster)
        assert cluster.identity.version.startswith(h.SHIPPED[name])
    finally:
        cluster.stop()
    assert all(h.gone(pid) for pid in pids)
    assert cluster not in processes.tracked()


@pytest.mark.docker
def test_a_cluster_from_an_image():
    client = engine()
    spec = image_for("redis-7.0")
    cluster = topology.start_cluster(DockerProvider(client), spec)
    containers = [node.container.id for node in cluster.nodes]
    try:
        assert cluster.kind == "docker"
        check_cluster(cluster)
    finally:
        cluster.stop()
    running = {c.id for c in client.containers.list(all=True)}
    assert not running & set(containers)


@pytest.mark.servers
def test_a_server_that_refuses_cluster_commands_cannot_be_a_cluster():
    spec = dataclasses.replace(h.by_name("redis-7.0"), args=("--rename-command", "CLUSTER", ""))
    with pytest.raises(topology.ClusterUnsupported, match="unknown command 'CLUSTER'"):
        topology.start_cluster(BinaryProvider(), spec)
    assert not processes.tracked()


@pytest.mark.servers
def test_a_node_that_does_not_start_stops_the_others():
    spec = dataclasses.replace(h.by_name("redis-7.0"), args=("--no-such-option",))
    with pytest.raises(topology.ServerStartError, match="no-such-option") as info:
        topology.start_cluster(BinaryProvider(), spec)
    assert not isinstance(info.value, topology.ClusterUnsupported)  # a broken row, not a fact
    assert not processes.tracked()
