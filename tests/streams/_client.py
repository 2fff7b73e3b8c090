"""The client library the suite runs with, and where it connects (from the environment only).

``TEST_REDIS_CLIENT`` (default ``redis``) is the import name of the library; ``valkey``
(valkey-py) mirrors redis-py's API: ``valkey.from_url``, ``valkey.asyncio`` and
``valkey.exceptions.ResponseError``. Test modules import everything client-specific from here, so
the same tests run unchanged with either library.

``TEST_REDIS_PROTOCOL`` (default: unset, the client's own default) is the wire protocol every
client built here is asked for: ``2`` or ``3`` (``protocol=``), or ``3-unified`` (``protocol=3``
and ``legacy_responses=False``, redis-py 8's unified reply shapes). A client without the option
rejects it (TypeError) when it connects, so its tests show that it cannot speak the protocol;
for ``2`` alone, a client without the option is left as it is, since RESP2 is all it speaks.
"""

from __future__ import annotations

import functools
import importlib
import os
from types import ModuleType
from typing import Any

MODULE_NAME = os.environ.get("TEST_REDIS_CLIENT", "").strip() or "redis"
ENABLED = os.environ.get("TEST_REDIS_ENABLED", "false").strip().lower() in ("1", "true", "yes")
REDIS_URL = os.environ.get("REDIS_URL", "").strip() or "redis://localhost:6379/0"
PREFIX = os.environ.get("TEST_STREAM_PREFIX", "test_stream_")
PROTOCOL = os.environ.get("TEST_REDIS_PROTOCOL", "").strip()
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
    """A synchronous client for ``url`` (``<client>.from_url``), speaking TEST_REDIS_PROTOCOL."""
    return client_module.from_url(url, **{**protocol_options(), **kwargs})


def async_client(url: str, **kwargs: Any) -> Any:
    """An asyncio client for ``url`` (``<client>.asyncio.from_url``), in TEST_REDIS_PROTOCOL."""
    return asyncio_module().from_url(url, **{**protocol_options(), **kwargs})


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


@functools.cache
def _takes_protocol() -> bool:
    """The client's constructor has a ``protocol`` option (no connection is made)."""
    cls = getattr(client_module, "Redis", None) or getattr(client_module, "Valkey", None)
    try:
        cls(protocol=2)
    except TypeError:
        return False
    return True


def protocol_options(protocol: str = PROTOCOL) -> dict[str, Any]:
    """The client options that ask for ``protocol`` (see the module's docstring)."""
    if not protocol or (protocol == "2" and not _takes_protocol()):
        return {}
    version, _, variant = protocol.partition("-")
    options: dict[str, Any] = {"protocol": int(version) if version.isdigit() else version}
    if variant == "unified":
        options["legacy_responses"] = False
    return options


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
