"""A cell's claims against what its connections said (the cell file's ``connections.*``)."""

from __future__ import annotations

from streammatrix.junit import proof
from streammatrix.plugin import outcomes as o

CLAIM3 = {o.ENV_PROTOCOL: "3"}


def said(sync: str = "", async_: str = "") -> dict[str, str]:
    """Suite properties as the plugin writes them, from "2=1, 3=5"-style resp counts."""
    props = {}
    for kind, text in (("sync", sync), ("async", async_)):
        if text:
            counts = {v: int(n) for v, n in (p.split("=") for p in text.split(", "))}
            props[f"connections.{kind}"] = str(sum(counts.values()))
            props[f"connections.{kind}.resp"] = text
    return props


def test_every_connection_of_every_kind_must_speak_the_claim():
    assert proof.unproven(CLAIM3, said("3=5", "3=2"), passed=4, refused=0) == ""
    assert proof.unproven({o.ENV_PROTOCOL: "3-unified"}, said("3=5"), passed=4, refused=0) == ""
    why = proof.unproven(CLAIM3, said("3=5", "2=1, 3=1"), passed=4, refused=0)
    assert why == "claims RESP3 but its async connections said RESP2 (1 of 2)"
    both = proof.unproven({o.ENV_PROTOCOL: "2"}, said("3=1", "3=2"), passed=4, refused=0)
    assert "sync connections said RESP3 (1 of 1)" in both
    assert "async connections said RESP3 (2 of 2)" in both


def test_a_connection_that_could_not_tell_is_no_proof():
    why = proof.unproven(CLAIM3, said("3=5, ?=1"), passed=4, refused=0)
    assert why == "claims RESP3 but its sync connections said nothing it could tell (1 of 6)"


def test_passing_without_a_single_connection_is_no_proof():
    why = proof.unproven(CLAIM3, {}, passed=4, refused=0)
    assert "no connection of the suite was measured (4 test(s) passed" in why
    # a client that cannot take the claim refuses it before it ever connects
    assert proof.unproven(CLAIM3, {}, passed=1, refused=9) == ""
    assert proof.unproven(CLAIM3, {}, passed=0, refused=0) == ""


def test_without_a_claim_anything_spoken_is_only_recorded():
    assert proof.unproven({}, said("2=1, 3=4", "3=1"), passed=4, refused=0) == ""
    assert proof.unproven({o.ENV_PROTOCOL: ""}, {}, passed=4, refused=0) == ""


def test_each_axis_is_one_entry_of_claim_and_fact():
    (axis,) = [a for a in proof.AXES if a.name == "protocol"]
    assert (axis.env, axis.fact) == (o.ENV_PROTOCOL, "resp")
    assert axis.holds("3-unified", "3") and axis.holds("2", "2")
    assert not axis.holds("3", "2") and not axis.holds("3", "?")
