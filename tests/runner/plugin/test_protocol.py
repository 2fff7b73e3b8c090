"""The plugin's protocol proof: how a connection's protocol is measured on real servers, what a
refused protocol is classified as, and when a claim does not hold."""

from __future__ import annotations

import pytest
import redis
from support import servers as h

from streammatrix.plugin import outcomes, protocol
from streammatrix.servers.base import serve
from streammatrix.servers.binary.provider import BinaryProvider

# How each server can be asked: CLIENT INFO has resp= from 7.0, HELLO without arguments answers
# from 6.2, Redis 6.0 has neither (only the wire type of its replies tells).
HOW = {"redis-6.0": "reply type", "redis-6.2": "HELLO", "redis-7.0": "CLIENT INFO"}


@pytest.fixture(scope="module", params=sorted(HOW))
def server(request):
    with h.reachable(), serve(BinaryProvider(), h.by_name(request.param)) as running:
        yield running


@pytest.mark.servers
@pytest.mark.parametrize("resp", [2, 3])
@pytest.mark.parametrize("decode", [True, False])
def test_a_connection_is_measured_on_the_server(server, resp, decode):
    client = redis.Redis(host=server.host, port=server.port, protocol=resp, decode_responses=decode)
    try:
        client.ping()
        assert protocol.measure(client) == (resp, HOW[server.spec.name])
        # asking changed nothing: the connection still speaks what it spoke
        assert protocol.measure(client) == (resp, HOW[server.spec.name])
        assert client.connection_pool.connection_kwargs["protocol"] == resp
    finally:
        client.close()


def test_only_synchronous_clients_are_measured():
    assert protocol.is_sync_client(redis.Redis())
    assert not protocol.is_sync_client(redis.asyncio.Redis())
    assert not protocol.is_sync_client(redis.Redis)
    assert not protocol.is_sync_client("redis://localhost")


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


def tally(resp=(), refused=0, passed=0, source="CLIENT INFO"):
    t = protocol.Tally(refused=refused, passed=passed)
    for r in resp:
        t.resp[r] += 1
        t.sources[source] += 1
    return t


def test_verdict():
    assert protocol.verdict("3", tally([3, 3], passed=2)) == ""
    assert protocol.verdict("3-unified", tally([3], passed=1)) == ""
    mixed = protocol.verdict("3", tally([3, 2, 2], passed=3))
    assert mixed == ("claims RESP3 but the suite's connections spoke RESP2 (2 of 3) (CLIENT INFO)")
    assert "spoke RESP3" in protocol.verdict("2", tally([3], passed=1))
    assert "no connection of the suite was measured" in protocol.verdict("3", tally(passed=4))
    assert protocol.verdict("3", tally(refused=4)) == ""  # every test: the client cannot
    assert protocol.verdict("", tally([2, 3], passed=1)) == ""  # no claim: recorded only
    assert "is not one of" in protocol.verdict("4", tally([2], passed=1))
    props = tally([2], passed=1).properties("3")
    assert props[outcomes.SUITE_CELL_RESP] == "2"
    assert props[outcomes.SUITE_CELL_RESP_CHECKED] == "1"
    assert props[outcomes.SUITE_CELL_PROTOCOL] == "3"
    assert "spoke RESP2" in props[outcomes.SUITE_CELL_RESP_ERROR]
