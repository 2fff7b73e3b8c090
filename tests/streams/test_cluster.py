"""Streams across keys, as a cluster deploys them: several streams in one command, and consumer
groups on streams that live on different nodes.

On a single server every test here passes. On a cluster (``TEST_REDIS_TOPOLOGY=cluster``: the
suite's clients are cluster clients) each key lives on the node that owns its hash slot: a read
of several streams works when their keys share a hash tag (``{tag}``), and is refused when they
do not (``CROSSSLOT``, the cluster's documented behaviour); groups, claims and acknowledgements
on streams owned by different nodes must each reach the right node.
"""

from __future__ import annotations

import time
import uuid

import _raw
import pytest
from _client import CLUSTER, PREFIX, close_async, make_async_client, owner
from _support import entries_of, hash_slot

pytestmark = [pytest.mark.integration, pytest.mark.requires_network]

NODES = 3  # primaries of the cluster a runner starts; keys are spread over this many
IDLE_MS = 10


def tagged_keys(registry, count: int) -> list[str]:
    """``count`` keys sharing one hash tag: one slot, one node, whatever the deployment."""
    tag = uuid.uuid4().hex[:12]
    keys = [f"{PREFIX}{{{tag}}}:{i}" for i in range(count)]
    registry.keys.extend(keys)
    return keys


def keys_in_different_slots(registry, count: int) -> list[str]:
    """``count`` keys of pairwise different hash slots."""
    keys: list[str] = []
    while len(keys) < count:
        key = registry.new()
        if hash_slot(key) not in {hash_slot(k) for k in keys}:
            keys.append(key)
    return keys


def keys_on_different_nodes(client, registry, count: int = NODES) -> list[str]:
    """``count`` keys owned by different nodes on a cluster (any keys on a single server)."""
    if not CLUSTER:
        return keys_in_different_slots(registry, count)
    keys: dict[str, str] = {}
    for _ in range(200):
        key = registry.new()
        keys.setdefault(owner(client, key), key)
        if len(keys) == count:
            return list(keys.values())
    raise AssertionError(f"the cluster has fewer than {count} primaries: {sorted(keys)}")


@pytest.mark.usefixtures("cleanup_stream")
class TestStreamsAcrossKeys:
    @pytest.mark.feature("xread-multi-stream-hashtag", since="5.0.0")
    def test_xread_streams_sharing_a_hash_tag(self, redis_client, stream_keys):
        first, second = tagged_keys(stream_keys, 2)
        a = _raw.fill(redis_client, first, 2)
        b = _raw.fill(redis_client, second, 3)
        reply = redis_client.xread({first: "0-0", second: "0-0"}, count=10)
        assert [e[0] for e in entries_of(reply, first)] == a
        assert [e[0] for e in entries_of(reply, second)] == b

    @pytest.mark.feature("xread-multi-stream", since="5.0.0")
    def test_xread_streams_of_different_slots(self, redis_client, stream_keys):
        first, second = keys_in_different_slots(stream_keys, 2)
        a = _raw.fill(redis_client, first, 2)
        b = _raw.fill(redis_client, second, 3)
        reply = redis_client.xread({first: "0-0", second: "0-0"}, count=10)
        assert [e[0] for e in entries_of(reply, first)] == a
        assert [e[0] for e in entries_of(reply, second)] == b

    @pytest.mark.feature("xreadgroup-multi-stream-hashtag", since="5.0.0")
    def test_xreadgroup_streams_sharing_a_hash_tag(
        self, redis_client, stream_keys, test_consumer_group
    ):
        keys = tagged_keys(stream_keys, 2)
        ids = {}
        for key in keys:
            ids[key] = _raw.fill(redis_client, key, 2)
            redis_client.execute_command("XGROUP", "CREATE", key, test_consumer_group, "0")
        reply = redis_client.xreadgroup(
            test_consumer_group, "c1", {key: ">" for key in keys}, count=10
        )
        for key in keys:
            assert [e[0] for e in entries_of(reply, key)] == ids[key]

    @pytest.mark.feature("xreadgroup-multi-stream", since="5.0.0")
    def test_xreadgroup_streams_of_different_slots(
        self, redis_client, stream_keys, test_consumer_group
    ):
        keys = keys_in_different_slots(stream_keys, 2)
        ids = {}
        for key in keys:
            ids[key] = _raw.fill(redis_client, key, 2)
            redis_client.execute_command("XGROUP", "CREATE", key, test_consumer_group, "0")
        reply = redis_client.xreadgroup(
            test_consumer_group, "c1", {key: ">" for key in keys}, count=10
        )
        for key in keys:
            assert [e[0] for e in entries_of(reply, key)] == ids[key]


@pytest.mark.usefixtures("cleanup_stream")
class TestGroupsAcrossNodes:
    @pytest.mark.feature("groups-across-nodes", since="5.0.0")
    def test_a_group_per_stream_on_every_node(self, redis_client, stream_keys, test_consumer_group):
        keys = keys_on_different_nodes(redis_client, stream_keys)
        for key in keys:
            assert redis_client.xgroup_create(key, test_consumer_group, id="0", mkstream=True)
            ids = [redis_client.xadd(key, {"n": str(i)}) for i in range(3)]
            reply = redis_client.xreadgroup(test_consumer_group, "c1", {key: ">"}, count=10)
            assert [e[0] for e in entries_of(reply, key)] == ids
            assert redis_client.xack(key, test_consumer_group, *ids) == 3
            assert _raw.pending_count(redis_client, key, test_consumer_group) == 0

    @pytest.mark.feature("xclaim-across-nodes", since="5.0.0")
    def test_xclaim_on_every_node(self, redis_client, stream_keys, test_consumer_group):
        keys = keys_on_different_nodes(redis_client, stream_keys)
        pending = {k: _raw.group_with_pending(redis_client, k, test_consumer_group, "c1", 2)
                   for k in keys}  # fmt: skip
        time.sleep(IDLE_MS / 1000 * 2)
        for key, ids in pending.items():
            claimed = redis_client.xclaim(key, test_consumer_group, "rescuer", IDLE_MS, ids)
            assert [e[0] for e in claimed] == ids
            owners = _raw.pending(redis_client, key, test_consumer_group)
            assert {consumer for _, consumer, _ in owners} == {"rescuer"}

    @pytest.mark.feature("xautoclaim-across-nodes", since="6.2.0")
    def test_xautoclaim_on_every_node(self, redis_client, stream_keys, test_consumer_group):
        keys = keys_on_different_nodes(redis_client, stream_keys)
        pending = {k: _raw.group_with_pending(redis_client, k, test_consumer_group, "c1", 2)
                   for k in keys}  # fmt: skip
        for key, ids in pending.items():
            # the command itself (the method's own parsing is the xautoclaim feature's part):
            # what is tested here is that it reaches the node that owns the key
            reply = redis_client.execute_command(
                "XAUTOCLAIM", key, test_consumer_group, "c2", 0, "0-0", "COUNT", 10
            )
            assert [e[0] for e in reply[1]] == ids
            owners = _raw.pending(redis_client, key, test_consumer_group)
            assert {consumer for _, consumer, _ in owners} == {"c2"}

    @pytest.mark.asyncio
    @pytest.mark.feature("async-groups-across-nodes", since="5.0.0")
    async def test_async_group_per_stream_on_every_node(
        self, redis_client, stream_keys, test_consumer_group
    ):
        keys = keys_on_different_nodes(redis_client, stream_keys)
        client = make_async_client()
        try:
            for key in keys:
                await client.xgroup_create(key, test_consumer_group, id="0", mkstream=True)
                ids = [await client.xadd(key, {"n": str(i)}) for i in range(3)]
                reply = await client.xreadgroup(test_consumer_group, "c1", {key: ">"}, count=10)
                assert [e[0] for e in entries_of(reply, key)] == ids
                assert await client.xack(key, test_consumer_group, *ids) == 3
        finally:
            await close_async(client)
        for key in keys:
            assert _raw.pending_count(redis_client, key, test_consumer_group) == 0
