import redis.asyncio
from conftest import REDIS_URL, key


class TestAsyncStreams:
    async def test_xadd_and_xlen(self, ar):
        stream = key("axadd")
        await ar.xadd(stream, {"n": "1"})
        assert await ar.xlen(stream) == 1
        await ar.delete(stream)

    async def test_xrange(self, ar):
        stream = key("axrange")
        await ar.xadd(stream, {"n": "1"})
        await ar.xadd(stream, {"n": "2"})
        assert len(await ar.xrange(stream)) == 2
        await ar.delete(stream)


async def test_own_async_pool():
    pool = redis.asyncio.ConnectionPool.from_url(REDIS_URL, decode_responses=True)
    client = redis.asyncio.Redis(connection_pool=pool)
    stream = key("apool")
    await client.xadd(stream, {"n": "1"})
    assert await client.xlen(stream) == 1
    await client.delete(stream)
    await pool.disconnect()
