"""Set-up and checks through raw commands (``execute_command``), for what a test does not test.

A test exercises one feature. What it needs besides (entries to work on, a group with pending
entries, a look at the pending list or the stream afterwards) goes through the command itself
rather than the client's method for it, so that a bug or a changed signature of that method
shows under its own feature and not under every test that happens to call it. (redis-py
4.0/4.1, for one, bind ``xpending_range(name, group, "-", "+", 100)`` to ``idle, min, max``.)

Replies are read in every shape a client hands them back: parsed by the client's callback for
the command or left raw, RESP2 lists or RESP3 maps. The ``*_of`` functions take a reply, so the
async tests use them on ``await client.execute_command(...)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from _support import as_dict


def fill(client: Any, stream: str, n: int, **fields: str) -> list[str]:
    """XADD ``n`` entries ``{"n": i, **fields}`` in one pipeline; their ids."""
    pipe = client.pipeline(transaction=False)
    for i in range(n):
        flat = [x for kv in {"n": str(i), **fields}.items() for x in kv]
        pipe.execute_command("XADD", stream, "*", *flat)
    return list(pipe.execute())


def group_with_pending(client: Any, stream: str, group: str, consumer: str, n: int) -> list[str]:
    """``n`` entries, all delivered to ``consumer`` in ``group`` and not acknowledged."""
    ids = fill(client, stream, n)
    client.execute_command("XGROUP", "CREATE", stream, group, "0")
    client.execute_command("XREADGROUP", "GROUP", group, consumer, "STREAMS", stream, ">")
    return ids


def length(client: Any, stream: str) -> int:
    return int(client.execute_command("XLEN", stream))


def exists(client: Any, key: str) -> int:
    return int(client.execute_command("EXISTS", key))


def ids(client: Any, stream: str) -> list[str]:
    """The ids of every entry of ``stream``, first to last (XRANGE - +)."""
    return [e[0] for e in client.execute_command("XRANGE", stream, "-", "+")]


def entries(client: Any, stream: str) -> list[tuple[str, dict]]:
    """Every entry of ``stream`` as (id, fields)."""
    return [(e[0], as_dict(e[1])) for e in client.execute_command("XRANGE", stream, "-", "+")]


def pending_count(client: Any, stream: str, group: str) -> int:
    """How many entries of ``group`` are pending (XPENDING summary form)."""
    return pending_count_of(client.execute_command("XPENDING", stream, group))


def pending_count_of(reply: Any) -> int:
    return int(reply["pending"] if isinstance(reply, Mapping) else reply[0])


def pending(client: Any, stream: str, group: str, count: int = 100) -> list[tuple[str, str, int]]:
    """(id, consumer, times delivered) of each pending entry (XPENDING extended form)."""
    # parse_detail: a client that parses XPENDING by command name reads the extended form then
    reply = client.execute_command("XPENDING", stream, group, "-", "+", count, parse_detail=True)
    return pending_of(reply)


def pending_of(reply: Any) -> list[tuple[str, str, int]]:
    out = []
    for item in reply:
        if isinstance(item, Mapping):
            out.append((item["message_id"], item["consumer"], int(item["times_delivered"])))
        else:
            out.append((item[0], item[1], int(item[3])))
    return out


def pending_ids(client: Any, stream: str, group: str) -> list[str]:
    return [entry_id for entry_id, _, _ in pending(client, stream, group)]


def info_stream(client: Any, stream: str) -> dict:
    """XINFO STREAM as a dict (no FULL)."""
    return as_dict(client.execute_command("XINFO", "STREAM", stream))


def info_groups(client: Any, stream: str) -> list[dict]:
    return [as_dict(g) for g in client.execute_command("XINFO", "GROUPS", stream)]


def info_consumers(client: Any, stream: str, group: str) -> list[dict]:
    return [as_dict(c) for c in client.execute_command("XINFO", "CONSUMERS", stream, group)]
