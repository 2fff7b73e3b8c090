import threading
from urllib.parse import urlsplit

import redis
from conftest import REDIS_URL, key, shared


class TestSyncStreams:
    def test_xadd_and_xlen(self, r):
        stream = key("xadd")
        r.xadd(stream, {"n": "1"})
        r.xadd(stream, {"n": "2"})
        assert r.xlen(stream) == 2
        r.delete(stream)

    def test_xrange(self, r):
        stream = key("xrange")
        first = r.xadd(stream, {"n": "1"})
        r.xadd(stream, {"n": "2"})
        assert len(r.xrange(stream)) == 2
        assert len(r.xrange(stream, min=first, max=first)) == 1
        r.delete(stream)

    def test_consumer_group(self, r):
        stream = key("group")
        entry = r.xadd(stream, {"n": "1"})
        assert r.xgroup_create(stream, "g", id="0")
        assert r.xreadgroup("g", "c", {stream: ">"})
        assert r.xack(stream, "g", entry) == 1
        r.delete(stream)


def test_own_connection_pool():
    pool = redis.ConnectionPool.from_url(REDIS_URL, decode_responses=True)
    client = redis.Redis(connection_pool=pool)
    stream = key("pool")
    client.xadd(stream, {"n": "1"})
    assert client.xlen(stream) == 1
    client.delete(stream)
    pool.disconnect()


def test_host_and_port_from_the_url():
    url = urlsplit(REDIS_URL)
    client = redis.Redis(
        host=url.hostname, port=url.port or 6379, db=int(url.path.strip("/") or 0),
        decode_responses=True,
    )  # fmt: skip
    stream = key("hostport")
    client.xadd(stream, {"n": "1"})
    assert client.xlen(stream) == 1
    client.delete(stream)
    client.close()


def test_connection_made_by_hand():
    url = urlsplit(REDIS_URL)
    conn = redis.Connection(host=url.hostname, port=url.port or 6379)
    conn.connect()
    conn.send_command("PING")
    assert conn.read_response() in (b"PONG", "PONG")
    conn.disconnect()


def test_client_made_at_import_time():
    stream = key("shared")
    shared.xadd(stream, {"n": "1"})
    assert shared.xlen(stream) == 1
    shared.delete(stream)


def test_threads():
    stream = key("threads")
    errors = []

    def publish(n):
        try:
            client = redis.from_url(REDIS_URL)
            client.xadd(stream, {"n": str(n)})
            client.close()
        except Exception as exc:  # raised again in the test itself, below
            errors.append(exc)

    threads = [threading.Thread(target=publish, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    assert shared.xlen(stream) == 4
    shared.delete(stream)
