"""Errors a stream application must be able to tell apart."""

from __future__ import annotations

import socket

import _raw
import pytest
from _client import (
    CONNECTION_ERRORS,
    ResponseError,
    async_client,
    close_async,
    close_sync,
    sync_client,
)

pytestmark = [pytest.mark.integration, pytest.mark.requires_network]


def _closed_local_port() -> int:
    """A 127.0.0.1 port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.usefixtures("cleanup_stream")
class TestErrorHandling:
    @pytest.mark.feature("xread-missing-stream", since="5.0.0")
    def test_xread_missing_stream_returns_empty(self, redis_client, test_stream_name):
        assert not redis_client.xread({test_stream_name: "0-0"}, count=10)
        assert _raw.exists(redis_client, test_stream_name) == 0

    @pytest.mark.feature("xgroup-busygroup", since="5.0.0")
    def test_duplicate_group_raises_busygroup(
        self, redis_client, test_stream_name, test_consumer_group
    ):
        redis_client.xgroup_create(test_stream_name, test_consumer_group, id="0", mkstream=True)
        with pytest.raises(ResponseError, match="BUSYGROUP"):
            redis_client.xgroup_create(test_stream_name, test_consumer_group, id="0")

    @pytest.mark.feature("xgroup-create-missing-stream", since="5.0.0")
    def test_xgroup_create_on_missing_stream_without_mkstream(
        self, redis_client, test_stream_name, test_consumer_group
    ):
        with pytest.raises(ResponseError, match=r"(?i)requires the key to exist"):
            redis_client.xgroup_create(test_stream_name, test_consumer_group, id="$")
        assert _raw.exists(redis_client, test_stream_name) == 0

    @pytest.mark.feature("xadd-id-order", since="5.0.0")
    def test_xadd_id_not_greater_than_last(self, redis_client, test_stream_name):
        redis_client.xadd(test_stream_name, {"n": "1"}, id="1000-5")
        with pytest.raises(ResponseError, match=r"(?i)equal or smaller"):
            redis_client.xadd(test_stream_name, {"n": "2"}, id="1000-5")
        with pytest.raises(ResponseError, match=r"(?i)equal or smaller"):
            redis_client.xadd(test_stream_name, {"n": "3"}, id="999-0")
        assert _raw.length(redis_client, test_stream_name) == 1

    @pytest.mark.feature("xack-unknown-id", since="5.0.0")
    def test_xack_unknown_id_returns_zero(
        self, redis_client, test_stream_name, test_consumer_group
    ):
        redis_client.xgroup_create(test_stream_name, test_consumer_group, id="0", mkstream=True)
        assert redis_client.xack(test_stream_name, test_consumer_group, "12345-0") == 0

    @pytest.mark.feature("xreadgroup-nogroup", since="5.0.0")
    def test_xreadgroup_unknown_group_raises_nogroup(self, redis_client, test_stream_name):
        redis_client.xadd(test_stream_name, {"n": "1"})
        with pytest.raises(ResponseError, match="NOGROUP"):
            redis_client.xreadgroup("no-such-group", "c", {test_stream_name: ">"})

    @pytest.mark.feature("wrongtype", since="5.0.0")
    def test_stream_command_on_wrong_type_key(self, redis_client, test_stream_name):
        redis_client.set(test_stream_name, "a string, not a stream")
        with pytest.raises(ResponseError, match="WRONGTYPE"):
            redis_client.xadd(test_stream_name, {"n": "1"})
        with pytest.raises(ResponseError, match="WRONGTYPE"):
            redis_client.xlen(test_stream_name)

    @pytest.mark.feature("connection-refused", since="5.0.0")
    def test_connection_refused_sync(self, test_stream_name):
        url = f"redis://127.0.0.1:{_closed_local_port()}/0"
        client = None
        try:
            # a cluster client connects when it is made (to learn the slots), a plain one on
            # its first command: either way, the error an application catches
            with pytest.raises(CONNECTION_ERRORS):
                client = sync_client(url, socket_connect_timeout=1, socket_timeout=1)
                client.xadd(test_stream_name, {"n": "1"})
        finally:
            if client is not None:
                close_sync(client)

    @pytest.mark.asyncio
    @pytest.mark.feature("connection-refused-async", since="5.0.0")
    async def test_connection_refused_async(self, test_stream_name):
        client = async_client(
            f"redis://127.0.0.1:{_closed_local_port()}/0",
            socket_connect_timeout=1,
            socket_timeout=1,
        )
        try:
            with pytest.raises(CONNECTION_ERRORS):
                await client.xadd(test_stream_name, {"n": "1"})
        finally:
            await close_async(client)
