"""The protocol a cell claims: what it asks of the client, and what a refused protocol is
classified as (the proof, per connection: test_connections.py)."""

from __future__ import annotations

import pytest
import redis

from streammatrix.plugin import outcomes, protocol

UNEXPECTED = "__init__() got an unexpected keyword argument"
PROTOCOL_KEYWORD = TypeError(f"AbstractConnection.{UNEXPECTED} 'protocol'")
UNIFIED_KEYWORD = TypeError(f"Redis.{UNEXPECTED} 'legacy_responses'")
NO_HELLO = redis.exceptions.ResponseError("unknown command 'HELLO', with args beginning with: '3'")
NOPROTO = redis.exceptions.ResponseError("NOPROTO unsupported protocol version")


@pytest.mark.parametrize(
    ("exc", "outcome"),
    [
        (PROTOCOL_KEYWORD, outcomes.UNSUPPORTED_CLIENT),
        (UNIFIED_KEYWORD, outcomes.UNSUPPORTED_CLIENT),
        (NO_HELLO, outcomes.UNSUPPORTED_SERVER),
        (NOPROTO, outcomes.UNSUPPORTED_SERVER),
        (TypeError("got an unexpected keyword argument 'minid'"), None),
        (redis.exceptions.ResponseError("unknown command 'XAUTOCLAIM'"), None),
        (AssertionError("unknown command 'HELLO'"), None),
    ],
)
def test_a_refused_protocol_is_unsupported(monkeypatch, exc, outcome):
    monkeypatch.setenv(outcomes.ENV_PROTOCOL, "3")
    found = protocol.refused(exc, "the reason")
    assert (found[0] if found else None) == outcome
    if found:
        assert found[1].startswith("the reason (the ")
        assert "RESP3" in found[1]


def test_without_a_claim_nothing_is_a_refusal(monkeypatch):
    monkeypatch.delenv(outcomes.ENV_PROTOCOL, raising=False)
    assert protocol.refused(PROTOCOL_KEYWORD, "r") is None
    assert protocol.refused(NO_HELLO, "r") is None


@pytest.mark.parametrize(
    ("claim", "takes", "options"),
    [
        ("2", True, {"protocol": 2}),
        ("2", False, {}),  # RESP2 is all a client without the option speaks: nothing to ask
        ("3", True, {"protocol": 3}),
        ("3", False, {"protocol": 3}),  # asked all the same: the client says it cannot
        ("3-unified", True, {"protocol": 3, "legacy_responses": False}),
        ("", True, {}),
        ("4", True, {}),
    ],
)
def test_what_a_claim_asks_of_the_client(claim, takes, options):
    assert protocol.options(claim, takes) == options


def _raised_from(cause: BaseException) -> BaseException:
    """What redis-py's RedisCluster raises when no node took the connection options."""
    try:
        try:
            raise cause
        except Exception as exc:
            raise redis.exceptions.RedisClusterException(
                f"Redis Cluster cannot be connected. Please provide at least one reachable "
                f"node: {exc}"
            ) from exc
    except redis.exceptions.RedisClusterException as wrapped:
        return wrapped


@pytest.mark.parametrize(
    ("cause", "outcome"),
    [
        (PROTOCOL_KEYWORD, outcomes.UNSUPPORTED_CLIENT),
        (NOPROTO, outcomes.UNSUPPORTED_SERVER),
        (ConnectionError("Connection refused"), None),
    ],
)
def test_a_refusal_the_client_wrapped_is_still_a_refusal(monkeypatch, cause, outcome):
    monkeypatch.setenv(outcomes.ENV_PROTOCOL, "3")
    found = protocol.refused(_raised_from(cause), "Redis Cluster cannot be connected")
    assert (found[0] if found else None) == outcome
