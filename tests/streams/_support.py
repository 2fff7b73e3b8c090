"""Small helpers shared by the test modules (no client library in here)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

ID_PATTERN = re.compile(r"^\d+-\d+$")


def id_tuple(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


def field(reply: Mapping[str, Any], name: str) -> Any:
    """``reply[name]``: a KeyError names the field the server left out of its reply."""
    if name not in reply:
        raise KeyError(f"reply has no field {name!r} (fields: {', '.join(map(str, reply))})")
    return reply[name]


def element(reply: Sequence[Any], index: int, what: str) -> Any:
    """``reply[index]``; a reply too short to hold ``what`` raises KeyError (a missing field)."""
    if len(reply) <= index:
        raise KeyError(f"reply has no {what} (element {index}; it has {len(reply)} elements)")
    return reply[index]


def entries_of(xread_reply: Any, stream: str) -> list[tuple[str, dict]]:
    """The entries of ``stream`` in an XREAD/XREADGROUP reply (list or RESP3 map shape)."""
    if not xread_reply:
        return []
    if isinstance(xread_reply, Mapping):
        value = xread_reply.get(stream, [])
        return list(value[0] if value and isinstance(value[0], list) else value)
    for name, entries in xread_reply:
        if name == stream:
            return list(entries)
    return []


def as_dict(value: Any) -> dict:
    """A reply that is a dict already, or a flat [k1, v1, k2, v2, ...] list."""
    if isinstance(value, Mapping):
        return dict(value)
    items = list(value)
    return dict(zip(items[::2], items[1::2]))


class Stopwatch:
    ms: float = 0.0


@contextmanager
def stopwatch() -> Iterator[Stopwatch]:
    """Measure a block in milliseconds (recorded, never asserted)."""
    watch = Stopwatch()
    start = time.perf_counter()
    try:
        yield watch
    finally:
        watch.ms = (time.perf_counter() - start) * 1000.0


def record_latency(record_property: Any, ms: float, target_ms: float) -> None:
    record_property("latency_ms", round(ms, 3))
    record_property("latency_target_ms", target_ms)


def _crc16(data: bytes) -> int:
    """CRC16-CCITT (XMODEM), the checksum Redis Cluster hashes keys with."""
    crc = 0
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def hash_slot(key: str) -> int:
    """The cluster hash slot of ``key``: of its hash tag (``{...}``) when it has a non-empty one."""
    raw = key.encode()
    start = raw.find(b"{")
    if start >= 0:
        end = raw.find(b"}", start + 1)
        if end > start + 1:
            raw = raw[start + 1 : end]
    return _crc16(raw) % 16384
