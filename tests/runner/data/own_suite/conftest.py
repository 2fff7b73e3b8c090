"""A stream suite written without streammatrix in mind: clients from REDIS_URL, no marks."""

import os
import uuid

import pytest
import redis
import redis.asyncio

REDIS_URL = os.environ.get("REDIS_URL", "redis://localhost:6379/0")
ENABLED = os.environ.get("TEST_REDIS_ENABLED", "false").lower() == "true"

# a client made at import time, before any test runs (it connects on first use)
shared = redis.from_url(REDIS_URL, decode_responses=True)


def pytest_collection_modifyitems(config, items):
    if not ENABLED:
        for item in items:
            item.add_marker(pytest.mark.skip(reason="set TEST_REDIS_ENABLED=true"))


def key(name):
    return f"own-suite:{name}:{uuid.uuid4().hex}"


@pytest.fixture
def r():
    client = redis.from_url(REDIS_URL, decode_responses=True)
    yield client
    client.close()


@pytest.fixture
async def ar():
    client = redis.asyncio.from_url(REDIS_URL, decode_responses=True)
    yield client
    await (client.aclose() if hasattr(client, "aclose") else client.close())
