"""The parser's proof: which parser a connection's parser class is, and the parser entry of the
proof table against the connection facts a cell file holds (measured on real servers, python and
hiredis, sync and asyncio: run/test_parser_cells.py)."""

from __future__ import annotations

import pytest

from streammatrix.junit import proof
from streammatrix.plugin import connections, outcomes, parser


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
        (connections.UNKNOWN, ""),
    ],
)
def test_which_parser_a_class_is(cls, family):
    assert parser.family(cls) == family


def facts(sync: str = "", asyncio_: str = "") -> dict[str, str]:
    """The connection facts of a cell file: ``connections.<kind>.parser`` = "class=count"."""
    props = {}
    for kind, text in ((connections.SYNC, sync), (connections.ASYNC, asyncio_)):
        if text:
            counts = connections.parse(text)
            props[connections.property_name(kind)] = str(sum(counts.values()))
            props[connections.property_name(kind, "parser")] = text
    return props


def unproven(claim: str, props: dict[str, str], passed: int = 1, refused: int = 0) -> str:
    return proof.unproven({outcomes.ENV_PARSER: claim}, props, passed, refused)


def test_the_parser_claim_against_the_connections():
    assert unproven("hiredis", facts("_HiredisParser=40", "_AsyncHiredisParser=3")) == ""
    assert unproven("python", facts("_RESP2Parser=40", "_AsyncRESP3Parser=3")) == ""
    assert unproven("python", facts("PythonParser=5")) == ""  # redis-py 4.x
    mixed = unproven("hiredis", facts("_HiredisParser=1, _RESP2Parser=2"))
    assert mixed == "claims the hiredis parser but its sync connections said _RESP2Parser (2 of 3)"
    only_async = unproven("hiredis", facts("_HiredisParser=4", "_AsyncRESP2Parser=1"))
    assert only_async == (
        "claims the hiredis parser but its async connections said _AsyncRESP2Parser (1 of 1)"
    )
    assert "said HiredisParser (1 of 1)" in unproven("python", facts("HiredisParser=1"))
    assert "nothing it could tell (1 of 1)" in unproven("hiredis", facts("?=1"))
    nothing = unproven("hiredis", {}, passed=3)
    assert nothing == (
        "claims the hiredis parser but no connection of the suite was measured "
        "(3 test(s) passed without proof of the parser)"
    )
    assert unproven("hiredis", {}, passed=0) == ""  # nothing passed, nothing to prove
    assert unproven("", facts("_RESP2Parser=1")) == ""  # no claim: recorded only
    assert "claims cython but" in unproven("cython", facts("_RESP2Parser=1"))
