"""Consumer groups with the synchronous client: XGROUP, XREADGROUP, XACK, XPENDING, XCLAIM."""

from __future__ import annotations

import time

import _raw
import pytest
from _support import entries_of, field, record_latency, stopwatch

pytestmark = [pytest.mark.integration, pytest.mark.requires_network]

CLAIM_IDLE_MS = 10


# entries to work on, and checks of what a test did, through raw commands (see _raw)
_fill = _raw.fill


@pytest.mark.usefixtures("cleanup_stream")
class TestSyncConsumerGroups:
    @pytest.mark.feature("xgroup-create", since="5.0.0")
    def test_xgroup_create_with_mkstream(self, redis_client, test_stream_name, test_consumer_group):
        assert _raw.exists(redis_client, test_stream_name) == 0
        assert redis_client.xgroup_create(
            test_stream_name, test_consumer_group, id="$", mkstream=True
        )
        assert _raw.exists(redis_client, test_stream_name) == 1
        assert _raw.length(redis_client, test_stream_name) == 0
        groups = _raw.info_groups(redis_client, test_stream_name)
        assert [field(g, "name") for g in groups] == [test_consumer_group]

    @pytest.mark.feature("xreadgroup", since="5.0.0")
    def test_xreadgroup_two_consumers_each_message_once(
        self, redis_client, test_stream_name, test_consumer_group, record_property
    ):
        ids = _fill(redis_client, test_stream_name, 20)
        redis_client.xgroup_create(test_stream_name, test_consumer_group, id="0")
        seen = {"alice": [], "bob": []}
        with stopwatch() as watch:
            reply = redis_client.xreadgroup(
                test_consumer_group, "alice", {test_stream_name: ">"}, count=3
            )
        record_latency(record_property, watch.ms, 5)
        seen["alice"] += [e[0] for e in reply[0][1]]
        consumers = ["bob", "alice"]
        turn = 0
        while True:
            name = consumers[turn % 2]
            turn += 1
            reply = redis_client.xreadgroup(
                test_consumer_group, name, {test_stream_name: ">"}, count=3
            )
            if not reply or not reply[0][1]:
                break
            seen[name] += [e[0] for e in reply[0][1]]
        assert seen["alice"] and seen["bob"]
        assert not set(seen["alice"]) & set(seen["bob"])
        assert sorted(seen["alice"] + seen["bob"]) == sorted(ids)
        assert _raw.pending_count(redis_client, test_stream_name, test_consumer_group) == 20

    @pytest.mark.feature("xack", since="5.0.0")
    def test_xack(self, redis_client, test_stream_name, test_consumer_group, test_consumer_name):
        ids = _fill(redis_client, test_stream_name, 5)
        redis_client.xgroup_create(test_stream_name, test_consumer_group, id="0")
        redis_client.xreadgroup(test_consumer_group, test_consumer_name, {test_stream_name: ">"})
        assert redis_client.xack(test_stream_name, test_consumer_group, *ids[:3]) == 3
        assert redis_client.xack(test_stream_name, test_consumer_group, ids[0]) == 0
        assert _raw.pending_count(redis_client, test_stream_name, test_consumer_group) == 2

    @pytest.mark.feature("xpending", since="5.0.0")
    def test_xpending_summary(
        self, redis_client, test_stream_name, test_consumer_group, test_consumer_name
    ):
        ids = _fill(redis_client, test_stream_name, 4)
        redis_client.xgroup_create(test_stream_name, test_consumer_group, id="0")
        redis_client.xreadgroup(test_consumer_group, test_consumer_name, {test_stream_name: ">"})
        summary = redis_client.xpending(test_stream_name, test_consumer_group)
        assert summary["pending"] == 4
        assert summary["min"] == ids[0]
        assert summary["max"] == ids[-1]
        assert [(c["name"], int(c["pending"])) for c in summary["consumers"]] == [
            (test_consumer_name, 4)
        ]

    @pytest.mark.feature("xpending-extended", since="5.0.0")
    def test_xpending_extended_form(
        self, redis_client, test_stream_name, test_consumer_group, test_consumer_name
    ):
        ids = _fill(redis_client, test_stream_name, 4)
        redis_client.xgroup_create(test_stream_name, test_consumer_group, id="0")
        redis_client.xreadgroup(test_consumer_group, test_consumer_name, {test_stream_name: ">"})
        detail = redis_client.xpending_range(
            test_stream_name, test_consumer_group, min="-", max="+", count=10
        )
        assert [d["message_id"] for d in detail] == ids
        assert {d["consumer"] for d in detail} == {test_consumer_name}
        assert all(d["times_delivered"] == 1 for d in detail)
        assert all(d["time_since_delivered"] >= 0 for d in detail)
        only = redis_client.xpending_range(
            test_stream_name,
            test_consumer_group,
            min="-",
            max="+",
            count=2,
            consumername=test_consumer_name,
        )
        assert [d["message_id"] for d in only] == ids[:2]

    @pytest.mark.feature("xclaim", since="5.0.0")
    def test_xclaim_after_idle_time(self, redis_client, test_stream_name, test_consumer_group):
        ids = _fill(redis_client, test_stream_name, 2)
        redis_client.xgroup_create(test_stream_name, test_consumer_group, id="0")
        redis_client.xreadgroup(test_consumer_group, "crashed", {test_stream_name: ">"})
        # not idle long enough yet: nothing is claimed
        assert (
            redis_client.xclaim(test_stream_name, test_consumer_group, "rescuer", 60000, ids) == []
        )
        time.sleep(CLAIM_IDLE_MS * 2 / 1000)
        claimed = redis_client.xclaim(
            test_stream_name, test_consumer_group, "rescuer", CLAIM_IDLE_MS, ids
        )
        assert [c[0] for c in claimed] == ids
        detail = _raw.pending(redis_client, test_stream_name, test_consumer_group)
        assert {consumer for _, consumer, _ in detail} == {"rescuer"}
        assert all(times == 2 for _, _, times in detail)
        justid = redis_client.xclaim(
            test_stream_name, test_consumer_group, "third", 0, ids, justid=True
        )
        assert justid == ids

    @pytest.mark.feature("xinfo-groups", since="5.0.0")
    def test_xinfo_groups_and_consumers(self, redis_client, test_stream_name, test_consumer_group):
        _fill(redis_client, test_stream_name, 6)
        redis_client.xgroup_create(test_stream_name, test_consumer_group, id="0")
        redis_client.xreadgroup(test_consumer_group, "c1", {test_stream_name: ">"}, count=2)
        redis_client.xreadgroup(test_consumer_group, "c2", {test_stream_name: ">"}, count=1)
        (group,) = redis_client.xinfo_groups(test_stream_name)
        assert field(group, "name") == test_consumer_group
        assert field(group, "consumers") == 2
        assert field(group, "pending") == 3
        consumers = redis_client.xinfo_consumers(test_stream_name, test_consumer_group)
        assert {field(c, "name"): field(c, "pending") for c in consumers} == {"c1": 2, "c2": 1}

    @pytest.mark.feature("xgroup-setid", since="5.0.0")
    def test_xgroup_setid_rewinds_delivery(
        self, redis_client, test_stream_name, test_consumer_group, test_consumer_name
    ):
        ids = _fill(redis_client, test_stream_name, 3)
        redis_client.xgroup_create(test_stream_name, test_consumer_group, id="$")
        reply = redis_client.xreadgroup(
            test_consumer_group, test_consumer_name, {test_stream_name: ">"}
        )
        assert not reply or not reply[0][1]
        assert redis_client.xgroup_setid(test_stream_name, test_consumer_group, id="0")
        reply = redis_client.execute_command(
            "XREADGROUP", "GROUP", test_consumer_group, test_consumer_name,
            "STREAMS", test_stream_name, ">",
        )  # fmt: skip
        assert [e[0] for e in entries_of(reply, test_stream_name)] == ids

    @pytest.mark.feature("xgroup-destroy", since="5.0.0")
    def test_xgroup_delconsumer_and_destroy(
        self, redis_client, test_stream_name, test_consumer_group, test_consumer_name
    ):
        _fill(redis_client, test_stream_name, 2)
        redis_client.xgroup_create(test_stream_name, test_consumer_group, id="0")
        redis_client.xreadgroup(test_consumer_group, test_consumer_name, {test_stream_name: ">"})
        # DELCONSUMER answers the number of pending messages the consumer had
        assert (
            redis_client.xgroup_delconsumer(
                test_stream_name, test_consumer_group, test_consumer_name
            )
            == 2
        )
        assert _raw.info_consumers(redis_client, test_stream_name, test_consumer_group) == []
        assert redis_client.xgroup_destroy(test_stream_name, test_consumer_group)
        assert _raw.info_groups(redis_client, test_stream_name) == []
