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

``TEST_REDIS_TOPOLOGY`` (default: unset, ``standalone``) is how the server at REDIS_URL is
deployed: ``cluster`` makes every client built here the library's cluster client
(``<client>.cluster.RedisCluster.from_url``, ``<client>.asyncio.cluster.RedisCluster.from_url``;
``ValkeyCluster`` in valkey-py), which finds the other nodes from the one in the URL. A client
without one (redis-py before 4.1, or before 4.3 for asyncio) fails to import it, so its tests
show that it cannot talk to a cluster.
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
CLUSTER = os.environ.get("TEST_REDIS_TOPOLOGY", "").strip().lower() == "cluster"
SOCKET_TIMEOUT = 5.0

client_module: ModuleType = importlib.import_module(MODULE_NAME)
exceptions: ModuleType = importlib.import_module(MODULE_NAME + ".exceptions")

# The asyncio API is imported lazily so that a client without it fails only the async tests
# (with an ImportError, which reads as "the client does not have it").
_asyncio_module: ModuleType | None = None

ResponseError = exceptions.ResponseError
ClientConnectionError = exceptions.ConnectionError
ClientError = getattr(exceptions, "RedisError", None) or exceptions.ValkeyError
# What a client raises when its server cannot be reached: a cluster client, when no node of the
# cluster answers, raises its cluster exception (not a ConnectionError in redis-py 4.1-8.x)
_CLUSTER_ERROR = getattr(exceptions, "RedisClusterException", None) or getattr(
    exceptions, "ValkeyClusterException", None
)
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (ClientConnectionError,) + (
    (_CLUSTER_ERROR,) if CLUSTER and _CLUSTER_ERROR is not None else ()
)


def asyncio_module() -> ModuleType:
    """``<client>.asyncio``; raises ImportError when the client has none."""
    global _asyncio_module
    if _asyncio_module is None:
        _asyncio_module = importlib.import_module(MODULE_NAME + ".asyncio")
    return _asyncio_module


def cluster_class(module_name: str) -> Any:
    """The cluster client class of ``<module_name>.cluster`` (ImportError when there is none)."""
    module = importlib.import_module(module_name + ".cluster")
    found = getattr(module, "RedisCluster", None) or getattr(module, "ValkeyCluster", None)
    if found is None:
        raise ImportError(f"cannot import name 'RedisCluster' from '{module.__name__}'")
    return found


def _refuse_as_the_plain_client_does() -> None:
    """A cluster client drops connection options it does not know (redis-py 4.x drops
    ``protocol=``, 5.x-7.x ``legacy_responses=``) and would speak the default protocol unasked:
    the plain client is asked first (it connects to nothing), and its TypeError is raised."""
    options = protocol_options()
    if options:
        cls = getattr(client_module, "Redis", None) or getattr(client_module, "Valkey", None)
        cls(**options)


def sync_client(url: str, **kwargs: Any) -> Any:
    """A synchronous client for ``url`` (``<client>.from_url``, or its cluster client's on a
    cluster), speaking TEST_REDIS_PROTOCOL."""
    if CLUSTER:
        cluster = cluster_class(MODULE_NAME)
        _refuse_as_the_plain_client_does()
        return cluster.from_url(url, **{**protocol_options(), **kwargs})
    return client_module.from_url(url, **{**protocol_options(), **kwargs})


def async_client(url: str, **kwargs: Any) -> Any:
    """An asyncio client for ``url`` (``<client>.asyncio.from_url``, or its cluster client's on
    a cluster), in TEST_REDIS_PROTOCOL."""
    if CLUSTER:
        asyncio_module()  # a client without asyncio says so first
        factory = cluster_class(MODULE_NAME + ".asyncio").from_url
        _refuse_as_the_plain_client_does()
    else:
        factory = asyncio_module().from_url
    return factory(url, **{**protocol_options(), **kwargs})


def close_sync(client: Any) -> None:
    close = getattr(client, "close", None)
    if close is not None:
        close()
    elif hasattr(client, "connection_pool"):  # very old clients
        client.connection_pool.disconnect()
    else:  # an early cluster client
        client.disconnect_connection_pools()


def delete_keys(client: Any, keys: list[str]) -> None:
    """DEL ``keys``; on a cluster one by one, each routed to the node that owns it."""
    if not keys:
        return
    if CLUSTER:
        for key in keys:
            client.delete(key)
    else:
        client.delete(*keys)


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


def owner(client: Any, key: str) -> str:
    """The node that owns ``key`` ("host:port") on a cluster; "" on a single server."""
    if not CLUSTER:
        return ""
    node = client.get_node_from_key(key)
    return f"{node.host}:{node.port}"
