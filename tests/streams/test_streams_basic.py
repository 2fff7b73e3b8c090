"""Stream basics with the synchronous client: XADD, XREAD, trimming, XINFO STREAM, XLEN."""

from __future__ import annotations

import _raw
import pytest
from _support import ID_PATTERN, as_dict, field, id_tuple, record_latency, stopwatch

pytestmark = [pytest.mark.integration, pytest.mark.requires_network]

BLOCK_MS = 100


@pytest.mark.usefixtures("cleanup_stream")
class TestSyncStreamsBasics:
    @pytest.mark.feature("xadd", since="5.0.0")
    def test_xadd_single_message(self, redis_client, test_stream_name, record_property):
        with stopwatch() as watch:
            entry_id = redis_client.xadd(test_stream_name, {"event": "created", "n": "1"})
        record_latency(record_property, watch.ms, 1)
        assert ID_PATTERN.match(entry_id), entry_id
        ms, _ = id_tuple(entry_id)
        assert ms > 0
        entries = _raw.entries(redis_client, test_stream_name)
        assert entries == [(entry_id, {"event": "created", "n": "1"})]

    @pytest.mark.feature("xadd-pipeline", since="5.0.0")
    def test_xadd_batch_of_100_in_pipeline(self, redis_client, test_stream_name, record_property):
        with stopwatch() as watch:
            pipe = redis_client.pipeline(transaction=False)
            for i in range(100):
                pipe.xadd(test_stream_name, {"n": str(i)})
            ids = pipe.execute()
        record_latency(record_property, watch.ms, 10)
        assert len(ids) == 100
        assert all(ID_PATTERN.match(i) for i in ids)
        assert [id_tuple(i) for i in ids] == sorted(id_tuple(i) for i in ids)
        assert len(set(ids)) == 100
        assert _raw.length(redis_client, test_stream_name) == 100

    @pytest.mark.feature("xread", since="5.0.0")
    def test_xread_non_blocking_with_count(self, redis_client, test_stream_name):
        ids = [redis_client.xadd(test_stream_name, {"n": str(i)}) for i in range(10)]
        reply = redis_client.xread({test_stream_name: "0-0"}, count=4)
        assert len(reply) == 1
        name, entries = reply[0]
        assert name == test_stream_name
        assert [e[0] for e in entries] == ids[:4]
        assert [e[1]["n"] for e in entries] == ["0", "1", "2", "3"]
        # continue after the last id seen
        reply = redis_client.xread({test_stream_name: ids[3]}, count=100)
        assert [e[0] for e in reply[0][1]] == ids[4:]

    @pytest.mark.feature("xread-block", since="5.0.0")
    def test_xread_block_on_empty_stream_times_out(self, redis_client, test_stream_name):
        _raw.fill(redis_client, test_stream_name, 1)  # an empty stream: one entry, trimmed away
        redis_client.execute_command("XTRIM", test_stream_name, "MAXLEN", 0)
        assert _raw.length(redis_client, test_stream_name) == 0
        reply = redis_client.xread({test_stream_name: "$"}, block=BLOCK_MS)
        assert not reply

    @pytest.mark.feature("xadd-maxlen", since="5.0.0")
    def test_xadd_maxlen_exact_trimming(self, redis_client, test_stream_name):
        ids = [
            redis_client.xadd(test_stream_name, {"n": str(i)}, maxlen=10, approximate=False)
            for i in range(20)
        ]
        assert _raw.ids(redis_client, test_stream_name) == ids[10:]

    @pytest.mark.feature("xadd-maxlen-approx", since="5.0.0")
    def test_xadd_maxlen_approximate_trimming(self, redis_client, test_stream_name):
        pipe = redis_client.pipeline(transaction=False)
        for i in range(1000):
            pipe.xadd(test_stream_name, {"n": str(i)}, maxlen=10, approximate=True)
        pipe.execute()
        length = _raw.length(redis_client, test_stream_name)
        # "~" trims whole macro nodes only: at least 10 entries stay, most are gone
        assert 10 <= length < 1000

    @pytest.mark.feature("xinfo-stream", since="5.0.0")
    def test_xinfo_stream_length_first_last(self, redis_client, test_stream_name):
        first = redis_client.xadd(test_stream_name, {"n": "first"})
        redis_client.xadd(test_stream_name, {"n": "middle"})
        last = redis_client.xadd(test_stream_name, {"n": "last"})
        info = redis_client.xinfo_stream(test_stream_name)
        assert field(info, "length") == 3
        assert tuple(field(info, "first-entry")) == (first, {"n": "first"})
        assert tuple(field(info, "last-entry")) == (last, {"n": "last"})
        assert field(info, "last-generated-id") == last

    @pytest.mark.feature("xlen", since="5.0.0")
    def test_xlen(self, redis_client, test_stream_name):
        assert redis_client.xlen(test_stream_name) == 0
        for i in range(7):
            redis_client.xadd(test_stream_name, {"n": str(i)})
        assert redis_client.xlen(test_stream_name) == 7

    @pytest.mark.feature("xrange", since="5.0.0")
    def test_xrange_and_xrevrange(self, redis_client, test_stream_name):
        ids = [redis_client.xadd(test_stream_name, {"n": str(i)}) for i in range(5)]
        assert [e[0] for e in redis_client.xrange(test_stream_name, min=ids[1], max=ids[3])] == (
            ids[1:4]
        )
        assert [e[0] for e in redis_client.xrevrange(test_stream_name, count=2)] == [
            ids[4],
            ids[3],
        ]

    @pytest.mark.feature("xdel", since="5.0.0")
    def test_xdel(self, redis_client, test_stream_name):
        ids = [redis_client.xadd(test_stream_name, {"n": str(i)}) for i in range(3)]
        assert redis_client.xdel(test_stream_name, ids[1]) == 1
        assert redis_client.xdel(test_stream_name, ids[1]) == 0
        assert _raw.ids(redis_client, test_stream_name) == [ids[0], ids[2]]

    @pytest.mark.feature("xtrim-maxlen", since="5.0.0")
    def test_xtrim_maxlen(self, redis_client, test_stream_name):
        for i in range(15):
            redis_client.xadd(test_stream_name, {"n": str(i)})
        assert redis_client.xtrim(test_stream_name, maxlen=5, approximate=False) == 10
        assert _raw.length(redis_client, test_stream_name) == 5


@pytest.mark.usefixtures("cleanup_stream")
class TestStreamMetadata:
    @pytest.mark.feature("xinfo-stream-fields", since="5.0.0")
    def test_xinfo_stream_fields(self, redis_client, test_stream_name, test_consumer_group):
        redis_client.xadd(test_stream_name, {"a": "1"})
        redis_client.xgroup_create(test_stream_name, test_consumer_group, id="0")
        info = redis_client.xinfo_stream(test_stream_name)
        for name in (
            "length",
            "radix-tree-keys",
            "radix-tree-nodes",
            "last-generated-id",
            "groups",
            "first-entry",
            "last-entry",
        ):
            field(info, name)
        assert info["groups"] == 1

    @pytest.mark.feature("xinfo-stream-full", since="6.0.0")
    def test_xinfo_stream_full(
        self, redis_client, test_stream_name, test_consumer_group, test_consumer_name
    ):
        ids = [redis_client.xadd(test_stream_name, {"n": str(i)}) for i in range(3)]
        redis_client.xgroup_create(test_stream_name, test_consumer_group, id="0")
        redis_client.xreadgroup(
            test_consumer_group, test_consumer_name, {test_stream_name: ">"}, count=2
        )
        info = redis_client.xinfo_stream(test_stream_name, full=True)
        assert field(info, "length") == 3
        entries = field(info, "entries")  # a dict {id: fields} in redis-py, a list in others
        assert (list(entries) if isinstance(entries, dict) else [e[0] for e in entries]) == ids
        groups = field(info, "groups")
        assert len(groups) == 1
        group = groups[0]
        assert field(group, "name") == test_consumer_group
        assert field(group, "last-delivered-id") == ids[1]
        assert field(group, "pel-count") == 2
        # redis-py before 5 leaves each consumer as a flat [name, value, ...] list
        consumers = [as_dict(c) for c in field(group, "consumers")]
        assert [field(c, "name") for c in consumers] == [test_consumer_name]
        assert field(consumers[0], "pel-count") == 2

    @pytest.mark.feature("xinfo-groups-fields", since="5.0.0")
    def test_xinfo_groups_fields(
        self, redis_client, test_stream_name, test_consumer_group, test_consumer_name
    ):
        ids = [redis_client.xadd(test_stream_name, {"n": str(i)}) for i in range(2)]
        redis_client.xgroup_create(test_stream_name, test_consumer_group, id="0")
        redis_client.xreadgroup(test_consumer_group, test_consumer_name, {test_stream_name: ">"})
        (group,) = redis_client.xinfo_groups(test_stream_name)
        assert field(group, "name") == test_consumer_group
        assert field(group, "consumers") == 1
        assert field(group, "pending") == 2
        assert field(group, "last-delivered-id") == ids[-1]

    @pytest.mark.feature("xinfo-consumers-fields", since="5.0.0")
    def test_xinfo_consumers_fields(
        self, redis_client, test_stream_name, test_consumer_group, test_consumer_name
    ):
        redis_client.xadd(test_stream_name, {"n": "1"})
        redis_client.xgroup_create(test_stream_name, test_consumer_group, id="0")
        redis_client.xreadgroup(test_consumer_group, test_consumer_name, {test_stream_name: ">"})
        (consumer,) = redis_client.xinfo_consumers(test_stream_name, test_consumer_group)
        assert field(consumer, "name") == test_consumer_name
        assert field(consumer, "pending") == 1
        assert field(consumer, "idle") >= 0
