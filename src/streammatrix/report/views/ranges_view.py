"""The release ranges as a reader wants them: lines that say the same fold into one entry.

Four servers on which a feature fails on 4.0.0-4.3.0 and passes from 4.3.6 are one row, "on
Redis 6.2.5, Redis 7.0.15, Redis 7.2.4, Valkey 8.0.1 (python 3.11, RESP2)", not four; the
same for the supported releases and the boundaries left open. report.json keeps every line.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

from streammatrix.report.analysis.ranges import Line

T = TypeVar("T")


@dataclass
class Folded(Generic[T]):
    item: T  # the first of the lines that say the same
    lines: list[Line]

    @property
    def where(self) -> str:
        """ "Redis 6.2.5, Redis 7.0.15 (python 3.11, RESP2)": the lines, their rest once."""
        parts: dict[str, list[str]] = {}
        for line in self.lines:
            rest = line.label[len(line.server_label) :].strip()
            parts.setdefault(rest, [])
            if line.server_label not in parts[rest]:
                parts[rest].append(line.server_label)
        return "; ".join(f"{', '.join(labels)} {rest}".strip() for rest, labels in parts.items())


def fold(items: Iterable[T], line: Callable[[T], Line], same: Callable[[T], tuple]) -> list:
    """``items`` with those of equal ``same(item)`` folded into one, in first-seen order."""
    found: dict[tuple, Folded] = {}
    for item in items:
        key = same(item)
        if key in found:
            found[key].lines.append(line(item))
        else:
            found[key] = Folded(item, [line(item)])
    return list(found.values())


def context(boundaries) -> dict:
    """The folded supported releases, ranges and open boundaries for the templates."""
    if boundaries is None:
        return {"supported_folded": [], "ranges_folded": []}
    return {
        "supported_folded": fold(
            boundaries.supported,
            lambda s: s.line,
            lambda s: (
                s.line.family,
                s.line.axis,
                s.first,
                s.first_precision,
                s.since,
                s.since_precision,
                s.requirement,
            ),
        ),
        "ranges_folded": fold(
            [fr for fr in boundaries.features if fr.flips],
            lambda fr: fr.line,
            lambda fr: (
                fr.feature,
                fr.line.family,
                fr.line.axis,
                tuple(s.text for s in fr.spans),
                fr.passes_from,
                fr.precision,
            ),
        ),
    }
