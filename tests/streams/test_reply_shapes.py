"""Stream replies read the way application code reads them.

The shape of a reply depends on the client and on the wire protocol (RESP2 or RESP3; see
TEST_REDIS_PROTOCOL in _client.py): redis-py 5 to 7 return XREAD as a dict under RESP3, a list
under RESP2. These tests do not normalise anything: they unpack each reply as the redis-py
documentation shows it (``for stream, entries in r.xread(...)``), so a reply whose shape changed
fails its feature under the protocol where it changed.
"""

from __future__ import annotations

import time

import pytest
from _support import ID_PATTERN

pytestmark = [pytest.mark.integration, pytest.mark.requires_network]

IDLE_MS = 5


def _fill(client, stream, n=3):
    return [client.xadd(stream, {"n": str(i)}) for i in range(n)]


def _group_read(client, stream, group, consumer="c1"):
    client.xgroup_create(stream, group, id="0")
    return client.xreadgroup(group, consumer, {stream: ">"})


@pytest.mark.usefixtures("cleanup_stream")
class TestReplyShapes:
    @pytest.mark.feature("reply-shape-xread", since="5.0.0")
    def test_xread_unpacks_as_stream_and_entries(self, redis_client, test_stream_name):
        ids = _fill(redis_client, test_stream_name)
        seen = []
        for stream, entries in redis_client.xread({test_stream_name: "0"}, count=10):
            assert stream == test_stream_name
            for entry_id, fields in entries:
                seen.append((entry_id, fields["n"]))
        assert seen == [(i, str(n)) for n, i in enumerate(ids)]

    @pytest.mark.feature("reply-shape-xreadgroup", since="5.0.0")
    def test_xreadgroup_unpacks_as_stream_and_entries(
        self, redis_client, test_stream_name, test_consumer_group
    ):
        ids = _fill(redis_client, test_stream_name)
        seen = []
        for stream, entries in _group_read(redis_client, test_stream_name, test_consumer_group):
            assert stream == test_stream_name
            seen += [entry_id for entry_id, _fields in entries]
        assert seen == ids

    @pytest.mark.feature("reply-shape-xrange", since="5.0.0")
    def test_xrange_and_xrevrange_unpack_as_id_and_fields(self, redis_client, test_stream_name):
        ids = _fill(redis_client, test_stream_name)
        entries = redis_client.xrange(test_stream_name)
        forward = [(entry_id, fields["n"]) for entry_id, fields in entries]
        backward = [entry_id for entry_id, _ in redis_client.xrevrange(test_stream_name)]
        assert forward == [(i, str(n)) for n, i in enumerate(ids)]
        assert backward == ids[::-1]

    @pytest.mark.feature("reply-shape-xinfo-stream", since="5.0.0")
    def test_xinfo_stream_fields_and_edge_entries(self, redis_client, test_stream_name):
        ids = _fill(redis_client, test_stream_name)
        info = redis_client.xinfo_stream(test_stream_name)
        assert info["length"] == 3
        assert info["last-generated-id"] == ids[-1]
        first_id, first_fields = info["first-entry"]
        last_id, last_fields = info["last-entry"]
        assert (first_id, first_fields) == (ids[0], {"n": "0"})
        assert (last_id, last_fields) == (ids[-1], {"n": "2"})

    @pytest.mark.feature("reply-shape-xinfo-stream-full", since="6.0.0")
    def test_xinfo_stream_full_groups_and_consumers(
        self, redis_client, test_stream_name, test_consumer_group
    ):
        ids = _fill(redis_client, test_stream_name)
        _group_read(redis_client, test_stream_name, test_consumer_group)
        info = redis_client.xinfo_stream(test_stream_name, full=True)
        assert list(dict(info["entries"])) == ids
        (group,) = info["groups"]
        assert group["name"] == test_consumer_group
        assert [entry[0] for entry in group["pending"]] == ids
        (consumer,) = group["consumers"]
        assert consumer["name"] == "c1"
        assert consumer["pel-count"] == 3

    @pytest.mark.feature("reply-shape-xinfo-groups", since="5.0.0")
    def test_xinfo_groups_and_consumers_are_lists_of_dicts(
        self, redis_client, test_stream_name, test_consumer_group
    ):
        _fill(redis_client, test_stream_name)
        _group_read(redis_client, test_stream_name, test_consumer_group)
        groups = [(g["name"], g["pending"]) for g in redis_client.xinfo_groups(test_stream_name)]
        assert groups == [(test_consumer_group, 3)]
        consumers = redis_client.xinfo_consumers(test_stream_name, test_consumer_group)
        assert [(c["name"], c["pending"]) for c in consumers] == [("c1", 3)]

    @pytest.mark.feature("reply-shape-xpending", since="5.0.0")
    def test_xpending_summary_and_range(self, redis_client, test_stream_name, test_consumer_group):
        ids = _fill(redis_client, test_stream_name)
        _group_read(redis_client, test_stream_name, test_consumer_group)
        summary = redis_client.xpending(test_stream_name, test_consumer_group)
        assert (summary["pending"], summary["min"], summary["max"]) == (3, ids[0], ids[-1])
        assert [(c["name"], c["pending"]) for c in summary["consumers"]] == [("c1", 3)]
        detail = redis_client.xpending_range(
            test_stream_name, test_consumer_group, min="-", max="+", count=10
        )
        assert [(d["message_id"], d["consumer"], d["times_delivered"]) for d in detail] == [
            (i, "c1", 1) for i in ids
        ]

    @pytest.mark.feature("reply-shape-xclaim", since="5.0.0")
    def test_xclaim_unpacks_as_id_and_fields(
        self, redis_client, test_stream_name, test_consumer_group
    ):
        ids = _fill(redis_client, test_stream_name)
        _group_read(redis_client, test_stream_name, test_consumer_group)
        time.sleep(IDLE_MS / 1000 * 2)
        claimed = redis_client.xclaim(test_stream_name, test_consumer_group, "c2", IDLE_MS, ids[:2])
        assert [(entry_id, fields["n"]) for entry_id, fields in claimed] == [
            (ids[0], "0"),
            (ids[1], "1"),
        ]
        justid = redis_client.xclaim(
            test_stream_name, test_consumer_group, "c3", 0, ids[2:], justid=True
        )
        assert justid == [ids[2]]

    @pytest.mark.feature("reply-shape-xautoclaim", since="6.2.0")
    def test_xautoclaim_unpacks_as_cursor_and_entries(
        self, redis_client, test_stream_name, test_consumer_group
    ):
        ids = _fill(redis_client, test_stream_name)
        _group_read(redis_client, test_stream_name, test_consumer_group)
        time.sleep(IDLE_MS / 1000 * 2)
        cursor, claimed, *_deleted = redis_client.xautoclaim(
            test_stream_name, test_consumer_group, "c2", IDLE_MS, start_id="0-0", count=10
        )
        assert ID_PATTERN.match(cursor)
        assert [entry_id for entry_id, _fields in claimed] == ids
