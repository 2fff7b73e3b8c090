"""Whether a cell ran what it claims: each claim against what the cell's connections said.

A cell claims its axes through its environment (``TEST_REDIS_PROTOCOL=3``); the plugin records
what every connection the suite opened said, as the server reports it, per kind (``sync``,
``async``): testsuite properties ``connections.<kind>.<fact>`` = ``"value=count, ..."`` (see
``streammatrix.plugin.connections``: ``resp``, ``parser``, ``mode``, ``source``). ``AXES`` is
the one table that ties them together: an axis, the environment variable of its claim, the fact
that proves it and whether a measured value holds the claim. An axis more (a parser) is one
entry here, as the topology is.

A cell is unproven when a connection of any kind said something other than its claim needs, or
when it passed tests while no connection of it was measured at all (nothing refused the claim).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from streammatrix.plugin import connections, parser
from streammatrix.plugin import outcomes as o


@dataclass(frozen=True)
class Axis:
    """One claim a cell makes and the connection fact that proves it."""

    name: str  # the axis as the report says it: "protocol"
    env: str  # the environment variable that carries the claim to the cell
    fact: str  # the connection fact (connections.FACTS) that proves it
    holds: Callable[[str, str], bool]  # (claim, a connection's value of the fact) -> proven?
    word: Callable[[str], str]  # a claim or a value, as a sentence says it ("RESP3")


def _resp_holds(claim: str, value: str) -> bool:
    return value == claim.partition("-")[0]  # "3-unified" is spoken as RESP3


def _parser_word(value: str) -> str:
    """A parser claim ("hiredis") or a measured parser class ("_RESP2Parser"), in a sentence."""
    return f"the {value} parser" if value in parser.PARSERS else value


AXES: tuple[Axis, ...] = (
    Axis("protocol", o.ENV_PROTOCOL, "resp", _resp_holds, lambda value: f"RESP{value}"),
    # the parser class of each connection: "_HiredisParser" holds "hiredis"
    Axis("parser", o.ENV_PARSER, "parser", lambda c, v: parser.family(v) == c, _parser_word),
    # INFO cluster's cluster_enabled of every connection: a cluster node, or a standalone server
    Axis("topology", o.ENV_TOPOLOGY, "mode", lambda claim, value: value == claim, str),
)


def measured(props: Mapping[str, str], kind: str, fact: str) -> dict[str, int]:
    """How many connections of ``kind`` had each value of ``fact`` (from the cell file)."""
    return connections.parse(props.get(connections.property_name(kind, fact), ""))


def unproven(claims: Mapping[str, str], props: Mapping[str, str], passed: int, refused: int) -> str:
    """Why the cell's claims do not hold ("" when they do, or when nothing is claimed).

    ``claims``: the cell's environment (only the axes' variables are read); ``props``: its
    testsuite properties; ``passed``/``refused``: its tests that passed, and that were
    unsupported (a client or server that cannot take a claim never connects).
    """
    problems = []
    total = sum(int(props.get(connections.property_name(k), "0") or 0) for k in connections.KINDS)
    for axis in AXES:
        claim = (claims.get(axis.env) or "").strip()
        if not claim:
            continue
        for kind in connections.KINDS:
            values = measured(props, kind, axis.fact)
            other = {v: n for v, n in values.items() if not axis.holds(claim, v)}
            if other:
                count = sum(values.values())
                spoke = ", ".join(
                    f"{axis.word(v) if v != connections.UNKNOWN else 'nothing it could tell'} "
                    f"({n} of {count})"
                    for v, n in sorted(other.items())
                )
                problems.append(
                    f"claims {axis.word(claim)} but its {kind} connections said {spoke}"
                )
        if not total and passed and not refused:
            problems.append(
                f"claims {axis.word(claim)} but no connection of the suite was measured "
                f"({passed} test(s) passed without proof of the {axis.name})"
            )
    return "; ".join(problems)
