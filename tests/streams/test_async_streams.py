"""Stream basics with the client's asyncio API (redis.asyncio / valkey.asyncio)."""

from __future__ import annotations

import asyncio

import _raw
import pytest
from _client import close_async, make_async_client
from _support import ID_PATTERN

pytestmark = [pytest.mark.integration, pytest.mark.requires_network]

WAKE_BLOCK_MS = 2000  # upper bound only: the read returns as soon as the XADD lands


@pytest.mark.usefixtures("cleanup_stream")
class TestAsyncStreamsBasics:
    @pytest.mark.asyncio
    @pytest.mark.feature("async-xadd", since="5.0.0")
    async def test_async_publish(self, async_redis_client, test_stream_name):
        ids = [await async_redis_client.xadd(test_stream_name, {"n": str(i)}) for i in range(5)]
        assert all(ID_PATTERN.match(i) for i in ids)
        assert await async_redis_client.execute_command("XLEN", test_stream_name) == 5

    @pytest.mark.asyncio
    @pytest.mark.feature("async-xread", since="5.0.0")
    async def test_async_read(self, async_redis_client, test_stream_name):
        ids = [await async_redis_client.xadd(test_stream_name, {"n": str(i)}) for i in range(5)]
        reply = await async_redis_client.xread({test_stream_name: "0-0"}, count=3)
        assert reply[0][0] == test_stream_name
        assert [e[0] for e in reply[0][1]] == ids[:3]
        assert [e[1]["n"] for e in reply[0][1]] == ["0", "1", "2"]

    @pytest.mark.asyncio
    @pytest.mark.feature("async-xreadgroup", since="5.0.0")
    async def test_async_consumer_group_read_and_ack(
        self, async_redis_client, test_stream_name, test_consumer_group, test_consumer_name
    ):
        ids = [await async_redis_client.xadd(test_stream_name, {"n": str(i)}) for i in range(4)]
        await async_redis_client.xgroup_create(test_stream_name, test_consumer_group, id="0")
        reply = await async_redis_client.xreadgroup(
            test_consumer_group, test_consumer_name, {test_stream_name: ">"}, count=10
        )
        got = [e[0] for e in reply[0][1]]
        assert got == ids
        assert await async_redis_client.xack(test_stream_name, test_consumer_group, *got) == 4
        summary = ("XPENDING", test_stream_name, test_consumer_group)  # raw: see _raw
        assert _raw.pending_count_of(await async_redis_client.execute_command(*summary)) == 0

    @pytest.mark.asyncio
    @pytest.mark.feature("async-xread-block", since="5.0.0")
    async def test_async_blocking_read_woken_by_xadd(self, async_redis_client, test_stream_name):
        last = await async_redis_client.xadd(test_stream_name, {"n": "before"})
        reader = make_async_client()
        try:
            # Reading after `last` (not "$") cannot miss the entry, whoever runs first.
            read = asyncio.ensure_future(
                reader.xread({test_stream_name: last}, block=WAKE_BLOCK_MS, count=10)
            )
            await asyncio.sleep(0.01)
            new_id = await async_redis_client.xadd(test_stream_name, {"n": "wake"})
            reply = await asyncio.wait_for(read, timeout=10)
        finally:
            await close_async(reader)
        assert reply, "the blocking XREAD returned nothing"
        assert [(e[0], e[1]) for e in reply[0][1]] == [(new_id, {"n": "wake"})]
