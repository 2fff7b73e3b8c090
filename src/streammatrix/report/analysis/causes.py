"""Unexpected results grouped by cause, so that one broken thing reads as one line.

A server that does not start, a client that cannot be installed or a test that breaks on one
server fails many cells with the same message. Results are one cause when they have the same
kind, outcome, test (or feature), expectation and message and their cells share a server or a
client; report.json still lists every result, each with the index of its cause.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import groupby

from streammatrix.report.analysis.model import Cause, Cell, Unexpected

__all__ = ["group"]


def _key(u: Unexpected) -> tuple[str, ...]:
    return (u.kind, u.outcome, u.test, u.feature, u.expected, u.message.strip())


def _shared(results: list[Unexpected], cells: dict[str, Cell]) -> str | None:
    """What every cell of ``results`` has in common, or None when they share neither."""
    known = [cells[u.cell].record for u in results if u.cell in cells]
    if len(known) != len(results):
        return None
    for what, name in (("server", "server"), ("client", "client")):
        values = {getattr(r, name) for r in known}
        if len(values) == 1 and "" not in values:
            return f"{what} {values.pop()}"
    return None


def group(unexpected: Sequence[Unexpected], cells: Sequence[Cell]) -> list[Cause]:
    """The causes of ``unexpected``, in the order their first result comes."""
    by_id = {c.id: c for c in cells}
    pending: dict[tuple[str, ...], list[Unexpected]] = {}
    for u in unexpected:
        pending.setdefault(_key(u), []).append(u)
    causes: list[Cause] = []
    for results in pending.values():
        shared = _shared(results, by_id)
        if shared is not None or len(results) == 1:
            parts = [(shared or "", results)]
        else:  # the same message on unrelated cells: one cause per server

            def server(u: Unexpected) -> str:
                return by_id[u.cell].record.server if u.cell in by_id else u.cell

            runs = [list(g) for _, g in groupby(sorted(results, key=server), key=server)]
            parts = [(_shared(run, by_id) or "", run) for run in runs]
        for shared_by, part in parts:
            first = part[0]
            causes.append(
                Cause(
                    first.kind,
                    first.outcome,
                    feature=first.feature,
                    test=first.test,
                    expected=first.expected,
                    message=first.message,
                    shared=shared_by,
                    results=part,
                )
            )
    order = {id(u): i for i, u in enumerate(unexpected)}
    return sorted(causes, key=lambda c: order[id(c.results[0])])
