"""Features that appeared in a given Redis version, one test each, grouped per version.

No test skips because of a version: each one runs, and the streammatrix plugin classifies a
failure as ``unsupported-server`` when the server rejects the command (or leaves a reply field out)
and its version is below ``since``. Where the client has (or older clients lack) a method or
keyword for the feature there are two tests with the same feature id: ``..._command`` sends the
raw command through ``execute_command`` (does the server have it?) and ``..._method`` goes through
the client's API (does this client expose it?).

``since`` is the version of the Redis command reference ("Available since" and the history of
each command and argument). What a test needs besides its feature (entries, a group with pending
entries, a look at the stream or the pending list afterwards) goes through raw commands
(``_raw``), so that a client's bug in another command shows under that command's feature only.
"""

from __future__ import annotations

import _raw
import pytest
from _client import close_sync, make_sync_client
from _support import as_dict, element, entries_of, field

pytestmark = [pytest.mark.integration, pytest.mark.requires_network]


_fill = _raw.fill
_group_with_pending = _raw.group_with_pending
_pending_ids = _raw.pending_ids


@pytest.fixture
def raw_client(redis_available):
    """A client that hands back XAUTOCLAIM's reply as the server sent it (no parsing)."""
    client = make_sync_client()
    client.set_response_callback("XAUTOCLAIM", lambda response, **options: response)
    yield client
    close_sync(client)


@pytest.mark.usefixtures("cleanup_stream")
class TestRedis62Features:
    @pytest.mark.feature("xautoclaim", since="6.2.0")
    def test_xautoclaim_command(self, raw_client, test_stream_name, test_consumer_group):
        # raw_client: the server's reply, not the client's parsing of it (the method test's part)
        ids = _group_with_pending(raw_client, test_stream_name, test_consumer_group, "c1", 3)
        reply = raw_client.execute_command(
            "XAUTOCLAIM", test_stream_name, test_consumer_group, "c2", 0, "0-0", "COUNT", 10
        )
        assert reply[0] == "0-0"
        assert [e[0] for e in reply[1]] == ids
        owners = _raw.pending(raw_client, test_stream_name, test_consumer_group)
        assert {consumer for _, consumer, _ in owners} == {"c2"}

    @pytest.mark.feature("xautoclaim", since="6.2.0")
    def test_xautoclaim_method(self, redis_client, test_stream_name, test_consumer_group):
        ids = _group_with_pending(redis_client, test_stream_name, test_consumer_group, "c1", 3)
        reply = redis_client.xautoclaim(
            test_stream_name, test_consumer_group, "c2", min_idle_time=0, start_id="0-0", count=2
        )
        assert [e[0] for e in reply[1]] == ids[:2]
        assert reply[0] == ids[2]  # the cursor for the next call
        justid = redis_client.xautoclaim(
            test_stream_name, test_consumer_group, "c3", 0, start_id="0-0", justid=True
        )
        assert list(justid) == ids

    @pytest.mark.feature("xadd-nomkstream", since="6.2.0")
    def test_xadd_nomkstream_command(self, redis_client, test_stream_name):
        assert (
            redis_client.execute_command("XADD", test_stream_name, "NOMKSTREAM", "*", "a", 1)
            is None
        )
        assert _raw.exists(redis_client, test_stream_name) == 0
        _fill(redis_client, test_stream_name, 1)
        assert redis_client.execute_command("XADD", test_stream_name, "NOMKSTREAM", "*", "a", 1)
        assert _raw.length(redis_client, test_stream_name) == 2

    @pytest.mark.feature("xadd-nomkstream", since="6.2.0")
    def test_xadd_nomkstream_method(self, redis_client, test_stream_name):
        assert redis_client.xadd(test_stream_name, {"a": "1"}, nomkstream=True) is None
        assert _raw.exists(redis_client, test_stream_name) == 0
        _fill(redis_client, test_stream_name, 1)
        assert redis_client.xadd(test_stream_name, {"a": "1"}, nomkstream=True)
        assert _raw.length(redis_client, test_stream_name) == 2

    @pytest.mark.feature("trim-minid", since="6.2.0")
    def test_xtrim_minid_command(self, redis_client, test_stream_name):
        for ms in range(1, 11):
            redis_client.execute_command("XADD", test_stream_name, f"{ms}-0", "n", ms)
        assert redis_client.execute_command("XTRIM", test_stream_name, "MINID", "=", "6") == 5
        assert _raw.ids(redis_client, test_stream_name)[0] == "6-0"
        # XADD takes the same strategy
        redis_client.execute_command("XADD", test_stream_name, "MINID", "=", "9", "11-0", "n", 11)
        assert _raw.ids(redis_client, test_stream_name) == ["9-0", "10-0", "11-0"]

    @pytest.mark.feature("trim-minid", since="6.2.0")
    def test_xtrim_minid_method(self, redis_client, test_stream_name):
        for ms in range(1, 11):
            redis_client.execute_command("XADD", test_stream_name, f"{ms}-0", "n", ms)
        assert redis_client.xtrim(test_stream_name, minid="6", approximate=False) == 5
        assert _raw.ids(redis_client, test_stream_name)[0] == "6-0"
        redis_client.xadd(test_stream_name, {"n": "11"}, id="11-0", minid="9", approximate=False)
        assert _raw.ids(redis_client, test_stream_name) == ["9-0", "10-0", "11-0"]

    @pytest.mark.feature("trim-limit", since="6.2.0")
    def test_xtrim_limit_command(self, redis_client, test_stream_name):
        _fill(redis_client, test_stream_name, 1000)
        removed = redis_client.execute_command(
            "XTRIM", test_stream_name, "MAXLEN", "~", 10, "LIMIT", 100
        )
        assert 0 <= removed <= 100
        assert _raw.length(redis_client, test_stream_name) == 1000 - removed

    @pytest.mark.feature("trim-limit", since="6.2.0")
    def test_xtrim_limit_method(self, redis_client, test_stream_name):
        _fill(redis_client, test_stream_name, 1000)
        removed = redis_client.xtrim(test_stream_name, maxlen=10, approximate=True, limit=100)
        assert 0 <= removed <= 100
        assert _raw.length(redis_client, test_stream_name) == 1000 - removed

    @pytest.mark.feature("xpending-idle", since="6.2.0")
    def test_xpending_idle_command(self, redis_client, test_stream_name, test_consumer_group):
        ids = _group_with_pending(redis_client, test_stream_name, test_consumer_group, "c1", 2)
        args = ("XPENDING", test_stream_name, test_consumer_group, "IDLE")
        # parse_detail: parse the reply as the extended form (redis-py parses by command name)
        idle_long = redis_client.execute_command(*args, 3600000, "-", "+", 10, parse_detail=True)
        assert list(idle_long) == []
        idle_any = redis_client.execute_command(*args, 0, "-", "+", 10, parse_detail=True)
        assert [d["message_id"] for d in idle_any] == ids

    @pytest.mark.feature("xpending-idle", since="6.2.0")
    def test_xpending_idle_method(self, redis_client, test_stream_name, test_consumer_group):
        ids = _group_with_pending(redis_client, test_stream_name, test_consumer_group, "c1", 2)
        assert (
            redis_client.xpending_range(
                test_stream_name, test_consumer_group, "-", "+", 10, idle=3600000
            )
            == []
        )
        detail = redis_client.xpending_range(
            test_stream_name, test_consumer_group, "-", "+", 10, idle=0
        )
        assert [d["message_id"] for d in detail] == ids

    @pytest.mark.feature("xgroup-createconsumer", since="6.2.0")
    def test_xgroup_createconsumer_command(
        self, redis_client, test_stream_name, test_consumer_group, test_consumer_name
    ):
        create = ("XGROUP", "CREATE", test_stream_name, test_consumer_group, "$", "MKSTREAM")
        redis_client.execute_command(*create)
        args = ("XGROUP", "CREATECONSUMER", test_stream_name, test_consumer_group)
        assert redis_client.execute_command(*args, test_consumer_name) == 1
        assert redis_client.execute_command(*args, test_consumer_name) == 0
        consumers = _raw.info_consumers(redis_client, test_stream_name, test_consumer_group)
        assert [field(c, "name") for c in consumers] == [test_consumer_name]

    @pytest.mark.feature("xgroup-createconsumer", since="6.2.0")
    def test_xgroup_createconsumer_method(
        self, redis_client, test_stream_name, test_consumer_group, test_consumer_name
    ):
        create = ("XGROUP", "CREATE", test_stream_name, test_consumer_group, "$", "MKSTREAM")
        redis_client.execute_command(*create)
        assert redis_client.xgroup_createconsumer(
            test_stream_name, test_consumer_group, test_consumer_name
        )
        consumers = _raw.info_consumers(redis_client, test_stream_name, test_consumer_group)
        assert [field(c, "name") for c in consumers] == [test_consumer_name]

    @pytest.mark.feature("xrange-exclusive", since="6.2.0")
    def test_xrange_exclusive_bounds(self, redis_client, test_stream_name):
        ids = _fill(redis_client, test_stream_name, 4)
        got = redis_client.xrange(test_stream_name, min=f"({ids[0]}", max=f"({ids[3]}")
        assert [e[0] for e in got] == ids[1:3]


@pytest.mark.usefixtures("cleanup_stream")
class TestRedis70Features:
    @pytest.mark.feature("xadd-explicit-ms-auto-seq", since="7.0.0")
    def test_xadd_ms_star_id(self, redis_client, test_stream_name):
        first = redis_client.execute_command("XADD", test_stream_name, "1000-*", "n", 1)
        second = redis_client.execute_command("XADD", test_stream_name, "1000-*", "n", 2)
        later = redis_client.execute_command("XADD", test_stream_name, "2000-*", "n", 3)
        assert (first, second, later) == ("1000-0", "1000-1", "2000-0")

    @pytest.mark.feature("xsetid-entriesadded", since="7.0.0")
    def test_xsetid_entriesadded_maxdeletedid_command(self, redis_client, test_stream_name):
        ids = _fill(redis_client, test_stream_name, 3)
        redis_client.execute_command("XDEL", test_stream_name, ids[0])
        assert redis_client.execute_command(
            "XSETID", test_stream_name, ids[2], "ENTRIESADDED", 10, "MAXDELETEDID", ids[1]
        )
        info = _raw.info_stream(redis_client, test_stream_name)
        assert field(info, "entries-added") == 10
        assert field(info, "max-deleted-entry-id") == ids[1]

    @pytest.mark.feature("xsetid-entriesadded", since="7.0.0")
    def test_xsetid_entriesadded_maxdeletedid_method(self, redis_client, test_stream_name):
        ids = _fill(redis_client, test_stream_name, 3)
        redis_client.execute_command("XDEL", test_stream_name, ids[0])
        assert redis_client.xsetid(
            test_stream_name, ids[2], entries_added=10, max_deleted_id=ids[1]
        )
        info = _raw.info_stream(redis_client, test_stream_name)
        assert field(info, "entries-added") == 10
        assert field(info, "max-deleted-entry-id") == ids[1]

    @pytest.mark.feature("xgroup-create-entriesread", since="7.0.0")
    def test_xgroup_create_entriesread_command(
        self, redis_client, test_stream_name, test_consumer_group
    ):
        ids = _fill(redis_client, test_stream_name, 5)
        assert redis_client.execute_command(
            "XGROUP", "CREATE", test_stream_name, test_consumer_group, ids[2], "ENTRIESREAD", 3
        )
        (group,) = _raw.info_groups(redis_client, test_stream_name)
        assert field(group, "entries-read") == 3
        assert field(group, "lag") == 2

    @pytest.mark.feature("xgroup-create-entriesread", since="7.0.0")
    def test_xgroup_create_entriesread_method(
        self, redis_client, test_stream_name, test_consumer_group
    ):
        ids = _fill(redis_client, test_stream_name, 5)
        assert redis_client.xgroup_create(
            test_stream_name, test_consumer_group, id=ids[2], entries_read=3
        )
        (group,) = _raw.info_groups(redis_client, test_stream_name)
        assert field(group, "entries-read") == 3
        assert field(group, "lag") == 2

    @pytest.mark.feature("xgroup-setid-entriesread", since="7.0.0")
    def test_xgroup_setid_entriesread_command(
        self, redis_client, test_stream_name, test_consumer_group
    ):
        ids = _fill(redis_client, test_stream_name, 5)
        redis_client.execute_command("XGROUP", "CREATE", test_stream_name, test_consumer_group, 0)
        assert redis_client.execute_command(
            "XGROUP", "SETID", test_stream_name, test_consumer_group, ids[3], "ENTRIESREAD", 4
        )
        (group,) = _raw.info_groups(redis_client, test_stream_name)
        assert field(group, "last-delivered-id") == ids[3]
        assert field(group, "lag") == 1

    @pytest.mark.feature("xgroup-setid-entriesread", since="7.0.0")
    def test_xgroup_setid_entriesread_method(
        self, redis_client, test_stream_name, test_consumer_group
    ):
        ids = _fill(redis_client, test_stream_name, 5)
        redis_client.execute_command("XGROUP", "CREATE", test_stream_name, test_consumer_group, 0)
        assert redis_client.xgroup_setid(
            test_stream_name, test_consumer_group, ids[3], entries_read=4
        )
        (group,) = _raw.info_groups(redis_client, test_stream_name)
        assert field(group, "last-delivered-id") == ids[3]
        assert field(group, "lag") == 1

    @pytest.mark.feature("xinfo-stream-entries-added", since="7.0.0")
    def test_xinfo_stream_v7_fields(self, redis_client, test_stream_name):
        ids = _fill(redis_client, test_stream_name, 3)
        redis_client.execute_command("XDEL", test_stream_name, ids[0])
        info = redis_client.xinfo_stream(test_stream_name)
        assert field(info, "entries-added") == 3
        assert field(info, "max-deleted-entry-id") == ids[0]
        assert field(info, "recorded-first-entry-id") == ids[1]

    @pytest.mark.feature("xinfo-groups-lag", since="7.0.0")
    def test_xinfo_groups_entries_read_and_lag(
        self, redis_client, test_stream_name, test_consumer_group, test_consumer_name
    ):
        _fill(redis_client, test_stream_name, 5)
        redis_client.execute_command("XGROUP", "CREATE", test_stream_name, test_consumer_group, 0)
        redis_client.execute_command(
            "XREADGROUP", "GROUP", test_consumer_group, test_consumer_name,
            "COUNT", 2, "STREAMS", test_stream_name, ">",
        )  # fmt: skip
        (group,) = redis_client.xinfo_groups(test_stream_name)
        assert field(group, "entries-read") == 2
        assert field(group, "lag") == 3

    @pytest.mark.feature("xautoclaim-deleted-ids", since="7.0.0")
    def test_xautoclaim_reports_deleted_entries(
        self, raw_client, test_stream_name, test_consumer_group
    ):
        ids = _group_with_pending(raw_client, test_stream_name, test_consumer_group, "c1", 2)
        raw_client.execute_command("XDEL", test_stream_name, ids[0])
        reply = raw_client.execute_command(
            "XAUTOCLAIM", test_stream_name, test_consumer_group, "c2", 0, "0-0"
        )
        deleted = element(reply, 2, "list of deleted entries")
        assert list(deleted) == [ids[0]]
        assert [e[0] for e in reply[1]] == [ids[1]]


@pytest.mark.usefixtures("cleanup_stream")
class TestRedis72Features:
    @pytest.mark.feature("xinfo-consumers-inactive", since="7.2.0")
    def test_xinfo_consumers_inactive(
        self, redis_client, test_stream_name, test_consumer_group, test_consumer_name
    ):
        _group_with_pending(
            redis_client, test_stream_name, test_consumer_group, test_consumer_name, 1
        )
        (consumer,) = redis_client.xinfo_consumers(test_stream_name, test_consumer_group)
        assert field(consumer, "name") == test_consumer_name
        assert field(consumer, "inactive") >= 0

    @pytest.mark.feature("xinfo-stream-full-active-time", since="7.2.0")
    def test_xinfo_stream_full_consumer_active_time(
        self, redis_client, test_stream_name, test_consumer_group, test_consumer_name
    ):
        _group_with_pending(
            redis_client, test_stream_name, test_consumer_group, test_consumer_name, 1
        )
        info = redis_client.xinfo_stream(test_stream_name, full=True)
        consumer = as_dict(field(info, "groups")[0]["consumers"][0])
        assert field(consumer, "active-time") > 0
        assert field(consumer, "seen-time") > 0


@pytest.mark.usefixtures("cleanup_stream")
class TestRedis74Features:
    @pytest.mark.feature("xread-last-entry", since="7.4.0")
    def test_xread_plus_id_command(self, redis_client, test_stream_name):
        ids = _fill(redis_client, test_stream_name, 3)
        reply = redis_client.execute_command("XREAD", "STREAMS", test_stream_name, "+")
        assert [e[0] for e in entries_of(reply, test_stream_name)] == [ids[-1]]

    @pytest.mark.feature("xread-last-entry", since="7.4.0")
    def test_xread_plus_id_method(self, redis_client, test_stream_name):
        ids = _fill(redis_client, test_stream_name, 3)
        reply = redis_client.xread({test_stream_name: "+"}, count=10)
        entries = entries_of(reply, test_stream_name)
        assert [e[0] for e in entries] == [ids[-1]]
        assert entries[0][1] == {"n": "2"}


@pytest.mark.usefixtures("cleanup_stream")
class TestRedis82Features:
    @pytest.mark.feature("xackdel", since="8.2.0")
    def test_xackdel_command(self, redis_client, test_stream_name, test_consumer_group):
        ids = _group_with_pending(redis_client, test_stream_name, test_consumer_group, "c1", 3)
        reply = redis_client.execute_command(
            "XACKDEL", test_stream_name, test_consumer_group, "KEEPREF", "IDS", 2, ids[0], ids[1]
        )
        assert list(reply) == [1, 1]
        assert _raw.ids(redis_client, test_stream_name) == [ids[2]]
        assert _pending_ids(redis_client, test_stream_name, test_consumer_group) == [ids[2]]

    @pytest.mark.feature("xackdel", since="8.2.0")
    def test_xackdel_method(self, redis_client, test_stream_name, test_consumer_group):
        ids = _group_with_pending(redis_client, test_stream_name, test_consumer_group, "c1", 3)
        reply = redis_client.xackdel(test_stream_name, test_consumer_group, ids[0], ids[1])
        assert list(reply) == [1, 1]
        assert _raw.ids(redis_client, test_stream_name) == [ids[2]]
        assert _pending_ids(redis_client, test_stream_name, test_consumer_group) == [ids[2]]

    @pytest.mark.feature("xdelex", since="8.2.0")
    def test_xdelex_delref_command(self, redis_client, test_stream_name, test_consumer_group):
        ids = _group_with_pending(redis_client, test_stream_name, test_consumer_group, "c1", 3)
        reply = redis_client.execute_command(
            "XDELEX", test_stream_name, "DELREF", "IDS", 2, ids[0], "1-1"
        )
        assert list(reply) == [1, -1]  # deleted; no such entry
        # DELREF also drops the deleted entry from every group's pending list
        assert _pending_ids(redis_client, test_stream_name, test_consumer_group) == ids[1:]

    @pytest.mark.feature("xdelex", since="8.2.0")
    def test_xdelex_delref_method(self, redis_client, test_stream_name, test_consumer_group):
        ids = _group_with_pending(redis_client, test_stream_name, test_consumer_group, "c1", 3)
        reply = redis_client.xdelex(test_stream_name, ids[0], "1-1", ref_policy="DELREF")
        assert list(reply) == [1, -1]
        assert _pending_ids(redis_client, test_stream_name, test_consumer_group) == ids[1:]

    @pytest.mark.feature("trim-acked", since="8.2.0")
    def test_xadd_xtrim_acked_command(self, redis_client, test_stream_name, test_consumer_group):
        ids = _group_with_pending(redis_client, test_stream_name, test_consumer_group, "c1", 3)
        # nothing is acknowledged yet: ACKED trimming keeps every entry
        redis_client.execute_command(
            "XADD", test_stream_name, "ACKED", "MAXLEN", "=", 1, "*", "n", "3"
        )
        assert _raw.length(redis_client, test_stream_name) == 4
        redis_client.execute_command("XACK", test_stream_name, test_consumer_group, *ids[:2])
        removed = redis_client.execute_command("XTRIM", test_stream_name, "MAXLEN", "=", 1, "ACKED")
        assert removed == 2
        assert _raw.ids(redis_client, test_stream_name)[0] == ids[2]

    @pytest.mark.feature("trim-acked", since="8.2.0")
    def test_xadd_xtrim_acked_method(self, redis_client, test_stream_name, test_consumer_group):
        ids = _group_with_pending(redis_client, test_stream_name, test_consumer_group, "c1", 3)
        redis_client.xadd(
            test_stream_name, {"n": "3"}, maxlen=1, approximate=False, ref_policy="ACKED"
        )
        assert _raw.length(redis_client, test_stream_name) == 4
        redis_client.execute_command("XACK", test_stream_name, test_consumer_group, *ids[:2])
        removed = redis_client.xtrim(
            test_stream_name, maxlen=1, approximate=False, ref_policy="ACKED"
        )
        assert removed == 2
        assert _raw.ids(redis_client, test_stream_name)[0] == ids[2]

    @pytest.mark.feature("trim-keepref-delref", since="8.2.0")
    def test_xtrim_keepref_and_delref_command(
        self, redis_client, test_stream_name, test_consumer_group
    ):
        ids = _group_with_pending(redis_client, test_stream_name, test_consumer_group, "c1", 4)
        # KEEPREF trims the entries but leaves their references in the pending list
        assert (
            redis_client.execute_command("XTRIM", test_stream_name, "MAXLEN", "=", 3, "KEEPREF")
            == 1
        )
        assert _pending_ids(redis_client, test_stream_name, test_consumer_group) == ids
        # DELREF removes them from the pending lists as well
        assert (
            redis_client.execute_command("XTRIM", test_stream_name, "MAXLEN", "=", 2, "DELREF") == 1
        )
        assert _pending_ids(redis_client, test_stream_name, test_consumer_group) == [
            ids[0],
            *ids[2:],
        ]

    @pytest.mark.feature("trim-keepref-delref", since="8.2.0")
    def test_xtrim_keepref_and_delref_method(
        self, redis_client, test_stream_name, test_consumer_group
    ):
        ids = _group_with_pending(redis_client, test_stream_name, test_consumer_group, "c1", 4)
        trim = redis_client.xtrim
        assert trim(test_stream_name, maxlen=3, approximate=False, ref_policy="KEEPREF") == 1
        assert _pending_ids(redis_client, test_stream_name, test_consumer_group) == ids
        assert trim(test_stream_name, maxlen=2, approximate=False, ref_policy="DELREF") == 1
        assert _pending_ids(redis_client, test_stream_name, test_consumer_group) == [
            ids[0],
            *ids[2:],
        ]
