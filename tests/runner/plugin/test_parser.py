"""The plugin's parser proof: the parser class each connection of a client used (sync and
asyncio, on a real server), which parser a class is, and when a claim does not hold."""

from __future__ import annotations

import asyncio

import pytest
import redis
import redis.asyncio
from support import servers as h

from streammatrix.plugin import outcomes, parser
from streammatrix.servers.base import serve
from streammatrix.servers.binary.provider import BinaryProvider


@pytest.fixture(scope="module")
def server():
    with h.reachable(), serve(BinaryProvider(), h.by_name("redis-7.0")) as running:
        yield running


@pytest.mark.servers
def test_the_connections_a_client_used_give_their_parser(server):
    client = redis.Redis(host=server.host, port=server.port)
    try:
        assert parser.connections(client) == []  # nothing made yet, and nothing is made here
        client.ping()
        pubsub = client.pubsub()
        pubsub.subscribe("sm-parser-test")  # holds a second connection of the pool (in use)
        client.ping()
        made = parser.connections(client)
        assert len(made) == 2
        assert pubsub.connection in made
        # this environment has no hiredis: the client's own parser
        assert {parser.family(parser.parser_class(c)) for c in made} == {"python"}
        assert parser.parser_class(pubsub.connection) == type(pubsub.connection._parser).__name__
        pubsub.close()
    finally:
        client.close()


@pytest.mark.servers
def test_an_asyncio_clients_connections_are_measured_too(server):
    async def used() -> list[str]:
        client = redis.asyncio.Redis(host=server.host, port=server.port)
        try:
            await client.ping()
            return [parser.parser_class(c) for c in parser.connections(client)]
        finally:
            await client.aclose()

    classes = asyncio.run(used())
    assert len(classes) == 1
    assert parser.family(classes[0]) == "python"
    assert "Async" in classes[0] or classes[0] == "PythonParser"


def test_only_clients_have_connections():
    assert parser.connections(redis.Redis) == []
    assert parser.connections("redis://localhost") == []
    assert parser.connections(object()) == []


@pytest.mark.parametrize(
    ("cls", "family"),
    [
        ("HiredisParser", "hiredis"),  # redis-py 4.x, sync and asyncio
        ("_HiredisParser", "hiredis"),  # 5.0 and later
        ("_AsyncHiredisParser", "hiredis"),
        ("PythonParser", "python"),  # 4.x
        ("_RESP2Parser", "python"),  # 5.0 and later
        ("_RESP3Parser", "python"),
        ("_AsyncRESP2Parser", "python"),
        ("_AsyncRESP3Parser", "python"),
        ("", ""),
    ],
)
def test_which_parser_a_class_is(cls, family):
    assert parser.family(cls) == family


def tally(*classes: str, passed: int = 0) -> parser.Tally:
    t = parser.Tally(passed=passed)
    for cls in classes:
        t.classes[cls] += 1
    return t


def test_verdict():
    assert parser.verdict("hiredis", tally("_HiredisParser", "_AsyncHiredisParser", passed=2)) == ""
    assert parser.verdict("python", tally("_RESP2Parser", "_AsyncRESP3Parser", passed=2)) == ""
    mixed = parser.verdict("hiredis", tally("_HiredisParser", "_RESP2Parser", "_RESP2Parser"))
    assert mixed == (
        "claims the hiredis parser but the suite's connections used _RESP2Parser (2 of 3)"
    )
    assert "used HiredisParser (1 of 1)" in parser.verdict("python", tally("HiredisParser"))
    assert "no connection of the suite was measured" in parser.verdict("hiredis", tally(passed=3))
    assert parser.verdict("hiredis", tally()) == ""  # nothing passed, nothing to prove
    assert parser.verdict("", tally("_RESP2Parser", passed=1)) == ""  # no claim: recorded only
    assert "is not one of" in parser.verdict("cython", tally("_RESP2Parser", passed=1))
    props = tally("_RESP2Parser", passed=1).properties("hiredis")
    assert props[outcomes.SUITE_CELL_PARSER] == "hiredis"
    assert props[outcomes.SUITE_CELL_PARSER_CLASSES] == "_RESP2Parser"
    assert props[outcomes.SUITE_CELL_PARSER_CHECKED] == "1"
    assert "used _RESP2Parser" in props[outcomes.SUITE_CELL_PARSER_ERROR]
