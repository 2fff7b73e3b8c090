"""Shards that keep lines whole: split planned cells into N parts for CI machines so that cells
bisection compares (the releases of one row, the rest fixed) land in the same part.

Bisection runs in each shard over the cells of that shard; a line cut between two shards would
leave its boundaries open. Items that share a key are joined into one unit (a union-find over
the keys); units keep the order of their first item, and the parts are consecutive runs of
units, each cut where the running count first reaches its share. Every item is in exactly one
part, deterministically; a part may hold up to one unit more than its share.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import TypeVar

T = TypeVar("T")
MAX_SHARDS = 1000  # CI systems run far fewer jobs per matrix (GitHub Actions: 256)


def units(items: Sequence[T], keys: Callable[[T], Iterable[Hashable]]) -> list[list[T]]:
    """``items`` grouped so that two items sharing a key are in one group, in first order."""
    parent = list(range(len(items)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[Hashable, int] = {}
    for i, item in enumerate(items):
        for key in keys(item):
            if key in owner:
                a, b = root(owner[key]), root(i)
                parent[max(a, b)] = min(a, b)
            else:
                owner[key] = i
    groups: dict[int, list[T]] = {}
    for i, item in enumerate(items):
        groups.setdefault(root(i), []).append(item)
    return list(groups.values())


def split(
    items: Sequence[T], index: int, total: int, keys: Callable[[T], Iterable[Hashable]]
) -> list[T]:
    """Part ``index`` (1-based) of ``total``: consecutive units of about len/total items.

    Only that part is built: ``total`` costs nothing (a huge one is refused at input anyway)."""
    count, part, done = len(items), 0, 0
    found: list[T] = []
    for unit in units(items, keys):
        # The part a unit starting at item ``done`` falls in, as plain slicing would cut
        # (without units): the first whose share, (part + 1) * count // total, exceeds done.
        part = max(part, min(total - 1, -(-(done + 1) * total // count) - 1))
        if part > index - 1:
            break
        if part == index - 1:
            found.extend(unit)
        done += len(unit)
    return found
