"""The client library the suite runs with, and where it connects (from the environment only).

``TEST_REDIS_CLIENT`` (default ``redis``) is the import name of the library; ``valkey``
(valkey-py) mirrors redis-py's API: ``valkey.from_url``, ``valkey.asyncio`` and
``valkey.exceptions.ResponseError``. Test modules import everything client-specific from here, so
the same tests run unchanged with either library.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType
from typing import Any

MODULE_NAME = os.environ.get("TEST_REDIS_CLIENT", "").strip() or "redis"
ENABLED = os.environ.get("TEST_REDIS_ENABLED", "false").strip().lower() in ("1", "true", "yes")
REDIS_URL = os.environ.get("REDIS_URL", "").strip() or "redis://localhost:6379/0"
PREFIX = os.environ.get("TEST_STREAM_PREFIX", "test_stream_")
SOCKET_TIMEOUT = 5.0

client_module: ModuleType = importlib.import_module(MODULE_NAME)
exceptions: ModuleType = importlib.import_module(MODULE_NAME + ".exceptions")

# The asyncio API is imported lazily so that a client without it fails only the async tests
# (with an ImportError, which reads as "the client does not have it").
_asyncio_module: ModuleType | None = None

ResponseError = exceptions.ResponseError
ClientConnectionError = exceptions.ConnectionError
ClientError = getattr(exceptions, "RedisError", None) or exceptions.ValkeyError


def asyncio_module() -> ModuleType:
    """``<client>.asyncio``; raises ImportError when the client has none."""
    global _asyncio_module
    if _asyncio_module is None:
        _asyncio_module = importlib.import_module(MODULE_NAME + ".asyncio")
    return _asyncio_module


def sync_client(url: str, **kwargs: Any) -> Any:
    """A synchronous client for ``url`` (``<client>.from_url``)."""
    return client_module.from_url(url, **kwargs)


def async_client(url: str, **kwargs: Any) -> Any:
    """An asyncio client for ``url`` (``<client>.asyncio.from_url``)."""
    return asyncio_module().from_url(url, **kwargs)


def close_sync(client: Any) -> None:
    close = getattr(client, "close", None)
    if close is not None:
        close()
    else:  # very old clients
        client.connection_pool.disconnect()


async def close_async(client: Any) -> None:
    aclose = getattr(client, "aclose", None)  # close() is deprecated since redis-py 5.0.1
    if aclose is not None:
        await aclose()
    else:
        await client.close()


def _options(kwargs: dict[str, Any]) -> dict[str, Any]:
    options: dict[str, Any] = {
        "decode_responses": True,
        "socket_timeout": SOCKET_TIMEOUT,
        "socket_connect_timeout": SOCKET_TIMEOUT,
    }
    options.update(kwargs)
    return options


def make_sync_client(**kwargs: Any) -> Any:
    """A synchronous client for REDIS_URL: decoded replies, 5 s socket timeouts."""
    return sync_client(REDIS_URL, **_options(kwargs))


def make_async_client(**kwargs: Any) -> Any:
    """An asyncio client for REDIS_URL; create it inside the event loop that uses it."""
    return async_client(REDIS_URL, **_options(kwargs))
