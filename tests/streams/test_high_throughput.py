"""Volume: 1000+ messages through pipelines, and five consumers sharing one group."""

from __future__ import annotations

import asyncio
import threading

import _raw
import pytest
from _client import close_async, close_sync, make_async_client, make_sync_client
from _support import record_latency, stopwatch

pytestmark = [pytest.mark.integration, pytest.mark.requires_network]

MESSAGES = 1000
BATCH = 100
CONSUMERS = 5
READ_COUNT = 20


def _publish(client, stream, total=MESSAGES, batch=BATCH):
    ids = []
    for start in range(0, total, batch):
        pipe = client.pipeline(transaction=False)
        for i in range(start, min(start + batch, total)):
            pipe.xadd(stream, {"seq": str(i), "payload": f"message-{i}"})
        ids += pipe.execute()
    return ids


def _check_all_once(received, ids):
    flat = [entry_id for batch in received.values() for entry_id in batch]
    assert len(flat) == len(set(flat)), "a message was delivered twice"
    assert sorted(set(flat)) == sorted(ids), "a message was lost"


@pytest.mark.usefixtures("cleanup_stream")
class TestHighThroughput:
    @pytest.mark.feature("throughput-pipeline", since="5.0.0")
    def test_1000_messages_in_pipelined_batches_read_back_in_order(
        self, redis_client, test_stream_name, record_property
    ):
        with stopwatch() as watch:
            ids = _publish(redis_client, test_stream_name)
            read = []
            last = "0-0"
            while True:
                reply = redis_client.xread({test_stream_name: last}, count=250)
                if not reply:
                    break
                entries = reply[0][1]
                read += entries
                last = entries[-1][0]
        record_latency(record_property, watch.ms, 500)
        assert len(ids) == MESSAGES
        assert [e[0] for e in read] == ids
        assert [int(e[1]["seq"]) for e in read] == list(range(MESSAGES))
        assert _raw.length(redis_client, test_stream_name) == MESSAGES

    @pytest.mark.feature("concurrent-consumers", since="5.0.0")
    def test_five_consumer_threads_share_one_group(
        self, redis_client, test_stream_name, test_consumer_group, record_property
    ):
        ids = _publish(redis_client, test_stream_name)
        redis_client.xgroup_create(test_stream_name, test_consumer_group, id="0")
        received = {f"worker-{n}": [] for n in range(CONSUMERS)}
        errors = []
        start = threading.Barrier(CONSUMERS)

        def consume(name):
            client = make_sync_client()
            try:
                start.wait(timeout=10)
                while True:
                    # Every message is in the stream already: an empty read means all of them
                    # were handed out (XREADGROUP ">" is atomic).
                    reply = client.xreadgroup(
                        test_consumer_group, name, {test_stream_name: ">"}, count=READ_COUNT
                    )
                    if not reply or not reply[0][1]:
                        return
                    got = [e[0] for e in reply[0][1]]
                    client.xack(test_stream_name, test_consumer_group, *got)
                    received[name] += got
            except BaseException as exc:
                errors.append(exc)
            finally:
                close_sync(client)

        threads = [threading.Thread(target=consume, args=(name,)) for name in received]
        with stopwatch() as watch:
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)
        record_latency(record_property, watch.ms, 1000)
        if errors:
            raise errors[0]
        assert not any(t.is_alive() for t in threads)
        _check_all_once(received, ids)
        assert _raw.pending_count(redis_client, test_stream_name, test_consumer_group) == 0

    @pytest.mark.asyncio
    @pytest.mark.feature("concurrent-consumers-async", since="5.0.0")
    async def test_five_asyncio_consumers_share_one_group(
        self, redis_client, test_stream_name, test_consumer_group, record_property
    ):
        ids = _publish(redis_client, test_stream_name)
        redis_client.xgroup_create(test_stream_name, test_consumer_group, id="0")
        received = {f"task-{n}": [] for n in range(CONSUMERS)}
        client = make_async_client()

        async def consume(name):
            while True:
                reply = await client.xreadgroup(
                    test_consumer_group, name, {test_stream_name: ">"}, count=READ_COUNT
                )
                if not reply or not reply[0][1]:
                    return
                got = [e[0] for e in reply[0][1]]
                await client.xack(test_stream_name, test_consumer_group, *got)
                received[name] += got

        try:
            with stopwatch() as watch:
                await asyncio.gather(*(consume(name) for name in received))
        finally:
            await close_async(client)
        record_latency(record_property, watch.ms, 1000)
        _check_all_once(received, ids)
        assert _raw.pending_count(redis_client, test_stream_name, test_consumer_group) == 0
