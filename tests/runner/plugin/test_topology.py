"""The topology's proof on real servers: every connection of a cell asked by the server whether
it is a cluster node, what a cluster's refusal of keys in different slots is, and when a claim
does not hold (a cell that claims a cluster and reached a standalone server is an error)."""

from __future__ import annotations

import pytest
import redis
from support import servers as h
from test_plugin import enabled, run_pytest

from streammatrix.junit import proof
from streammatrix.plugin import connections, outcomes, topology
from streammatrix.plugin.classify import classify_failure
from streammatrix.servers import topology as deploy
from streammatrix.servers.base import serve
from streammatrix.servers.binary.provider import BinaryProvider


@pytest.fixture(scope="module")
def standalone():
    with h.reachable(), serve(BinaryProvider(), h.by_name("redis-7.0")) as running:
        yield running


@pytest.fixture(scope="module")
def cluster():
    with h.reachable():
        running = deploy.start_cluster(BinaryProvider(), h.by_name("redis-7.0"))
    try:
        yield running
    finally:
        running.stop()


def mode_of(props: dict[str, str]) -> dict[str, int]:
    """How many connections (of either kind) said each mode, from a cell's properties."""
    found: dict[str, int] = {}
    for kind in connections.KINDS:
        for value, count in proof.measured(props, kind, "mode").items():
            found[value] = found.get(value, 0) + count
    return found


SUITE = """
# a suite that builds its client as users do, whatever the cell claims
import pytest, redis, os

@pytest.fixture
def r():
    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    yield client
    client.close()

@pytest.mark.feature("xlen", since="5.0.0")
def test_xlen(r):
    assert r.xlen("sm-topology-proof-missing") == 0
"""


@pytest.mark.servers
@pytest.mark.parametrize(
    ("claim", "reached"), [("cluster", "standalone"), ("standalone", "cluster")]
)
def test_a_claim_the_connections_contradict_is_the_cells_error(
    tmp_path, standalone, cluster, claim, reached
):
    server = standalone if reached == "standalone" else cluster
    environ = {outcomes.ENV_TOPOLOGY: claim}
    done = run_pytest(tmp_path, SUITE, env=enabled(server.url, "redis", **environ))
    props = done.suite_properties
    assert props[outcomes.SUITE_CELL_MODE] == reached
    assert list(mode_of(props)) == [reached]  # every connection, asked by the server
    why = proof.unproven(environ, props, passed=1, refused=0)
    assert why.startswith(f"claims {claim} but its sync connections said {reached} ("), why


@pytest.mark.servers
def test_a_claim_the_connections_bear_out_is_proven(tmp_path, cluster):
    cluster_aware = SUITE.replace("redis.Redis.from_url", "redis.cluster.RedisCluster.from_url")
    done = run_pytest(
        tmp_path,
        "import redis.cluster\n" + cluster_aware,
        env=enabled(cluster.url, "redis", TEST_REDIS_TOPOLOGY="cluster"),
    )
    props = done.suite_properties
    assert props[outcomes.SUITE_CELL_MODE] == "cluster"
    # the cluster client's connections: the node of the URL, and the node of the key's slot
    assert mode_of(props)["cluster"] >= 1 and list(mode_of(props)) == ["cluster"]
    assert proof.unproven({outcomes.ENV_TOPOLOGY: "cluster"}, props, 1, 0) == ""
    assert done.proc.returncode == 0, done.output


CLIENT_SIDE = redis.exceptions.RedisClusterException(
    "XREAD - all keys must map to the same key slot"
)
SERVER_SIDE = redis.exceptions.ResponseError(
    "CROSSSLOT Keys in request don't hash to the same slot"
)


@pytest.mark.parametrize("exc", [CLIENT_SIDE, SERVER_SIDE])
def test_keys_of_different_slots_on_a_cluster_are_the_clusters_behaviour(monkeypatch, exc):
    monkeypatch.setenv(outcomes.ENV_TOPOLOGY, "cluster")
    outcome, reason = topology.refused(exc, "the reason")
    assert outcome == outcomes.UNSUPPORTED_SERVER
    assert reason.startswith("the reason (a cluster runs a multi-key command only")
    assert topology.refused(AssertionError("unknown command"), "r") is None


def test_without_a_cluster_claim_nothing_is_the_clusters(monkeypatch):
    monkeypatch.setenv(outcomes.ENV_TOPOLOGY, "standalone")
    assert topology.refused(SERVER_SIDE, "r") is None
    monkeypatch.delenv(outcomes.ENV_TOPOLOGY)
    assert topology.refused(CLIENT_SIDE, "r") is None


def test_the_topology_is_one_entry_of_the_proof_table():
    (axis,) = [a for a in proof.AXES if a.name == "topology"]
    assert (axis.env, axis.fact) == (outcomes.ENV_TOPOLOGY, "mode")
    assert axis.holds("cluster", "cluster") and not axis.holds("cluster", "standalone")
    assert not axis.holds("cluster", connections.UNKNOWN)


NOT_IN_TABLE = redis.exceptions.RedisError("XACKDEL command doesn't exist in Redis commands")
NO_WAY = redis.exceptions.RedisClusterException(
    "No way to dispatch this command to Redis Cluster. Missing key."
)


@pytest.mark.parametrize("exc", [NOT_IN_TABLE, NO_WAY])
def test_a_command_the_cluster_client_finds_no_route_for_is_judged_by_the_version(exc):
    # a cluster client looks commands up in the server's COMMAND table: one the server lacks
    below = classify_failure(exc, "8.2.0", "7.0.15")
    assert below[0] == outcomes.UNSUPPORTED_SERVER
    assert classify_failure(exc, "5.0.0", "7.0.15")[0] == outcomes.FAIL  # the server has it
