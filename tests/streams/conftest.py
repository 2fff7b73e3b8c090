"""Fixtures of the Redis Streams suite.

The suite reads the server from the environment only, so it can be pointed at any Redis:

* ``TEST_REDIS_ENABLED`` (default ``false``): unless true, every test skips;
* ``REDIS_URL`` (default ``redis://localhost:6379/0``);
* ``TEST_STREAM_PREFIX`` (default ``test_stream_``): every key the suite creates starts with it,
  and the suite never touches another key (no FLUSHDB), so several runs can share one server
  with different prefixes;
* ``TEST_REDIS_CLIENT`` (default ``redis``): import name of the client library (see _client.py).
* ``TEST_REDIS_PROTOCOL`` (default: unset, the client's own): ``2``, ``3`` or ``3-unified``, the
  wire protocol of every client the suite builds (see _client.py).
* ``TEST_REDIS_TOPOLOGY`` (default: unset, standalone): ``cluster`` when REDIS_URL is one node
  of a cluster; every client the suite builds is then a cluster client (see _client.py), and the
  keys a test deletes afterwards are deleted on the node that owns each.
"""

from __future__ import annotations

import contextlib
import sys
import uuid
from pathlib import Path

import pytest
import pytest_asyncio

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # --import-mode=importlib does not put the test dir on sys.path
    sys.path.insert(0, str(HERE))

from _client import (  # noqa: E402
    ENABLED,
    MODULE_NAME,
    PREFIX,
    REDIS_URL,
    ClientConnectionError,
    close_async,
    close_sync,
    delete_keys,
    make_async_client,
    make_sync_client,
)

DISABLED_REASON = "set TEST_REDIS_ENABLED=true"


def pytest_configure(config: pytest.Config) -> None:
    for line in (
        "integration: needs a running Redis-protocol server (REDIS_URL)",
        "requires_network: opens network connections",
        "feature(id, since=None): the stream feature a test exercises and the first Redis "
        "version documented to have it",
    ):
        config.addinivalue_line("markers", line)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if ENABLED:
        return
    skip = pytest.mark.skip(reason=DISABLED_REASON)
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(skip)


def new_key(kind: str = "") -> str:
    """A key name of this run: the prefix plus something unique."""
    return f"{PREFIX}{kind}{uuid.uuid4().hex}"


@pytest.fixture(scope="session")
def redis_available() -> bool:
    """The server answers PING; fails (every test errors) when it does not."""
    if not ENABLED:
        pytest.skip(DISABLED_REASON)
    client = make_sync_client()
    try:
        client.ping()
    except ClientConnectionError as exc:
        pytest.fail(f"{MODULE_NAME} cannot reach {REDIS_URL}: {exc}", pytrace=False)
    finally:
        close_sync(client)
    return True


@pytest.fixture
def redis_client(redis_available):
    """A synchronous client (decode_responses=True, 5 s socket timeouts), closed after the test.

    It is connected before the test starts, so that a measured latency is the command's own and
    not the client's connection set-up (which costs some clients a millisecond or more).
    """
    client = make_sync_client()
    client.ping()
    yield client
    close_sync(client)


@pytest_asyncio.fixture
async def async_redis_client(redis_available):
    """An asyncio client created in the test's own event loop, closed after the test."""
    client = make_async_client()
    yield client
    await close_async(client)


@pytest.fixture
def test_stream_name() -> str:
    return new_key()


@pytest.fixture
def test_consumer_group() -> str:
    return f"group-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def test_consumer_name() -> str:
    return f"consumer-{uuid.uuid4().hex[:12]}"


class KeyRegistry:
    """Names of the keys a test creates, all deleted after it."""

    def __init__(self, first: str) -> None:
        self.keys = [first]

    def new(self, kind: str = "") -> str:
        key = new_key(kind)
        self.keys.append(key)
        return key


@pytest.fixture
def stream_keys(test_stream_name):
    """Registry of extra keys (``stream_keys.new()``); use with ``cleanup_stream``."""
    return KeyRegistry(test_stream_name)


@pytest.fixture(scope="session")
def janitor_client(redis_available):
    """One synchronous client for every test's clean-up (a cluster client finds its nodes once,
    which costs more than the deletes themselves)."""
    client = make_sync_client()
    yield client
    close_sync(client)


@pytest.fixture
def cleanup_stream(janitor_client, test_stream_name, stream_keys):
    """Delete the test's stream (and keys from ``stream_keys.new()``) after it, pass or fail."""
    yield test_stream_name
    keys = [k for k in stream_keys.keys if k.startswith(PREFIX)]
    with contextlib.suppress(ClientConnectionError):
        delete_keys(janitor_client, keys)
