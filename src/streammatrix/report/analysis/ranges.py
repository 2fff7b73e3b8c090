"""Release ranges: per feature, every maximal run of consecutive releases with one outcome
("fail on 4.2.0-4.3.1"), from the grid and the bisection cells together
(:mod:`streammatrix.run.bisect`). A line steps along one axis with the rest fixed: the client
releases of a range row on one server entry, or the server releases of a server row with one
client; one Python, one protocol claim.

The releases of a row travel in each cell file (``client.releases``, ``server.releases``), so
this needs no network. A release that was not measured takes the outcome of its two measured
neighbours when they agree (what a bisection assumes); between two that disagree it is *open*.
A boundary is *exact* when the releases on both sides of it were measured, *sampled* when the
first release is only the lowest one measured.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from packaging.version import Version

from streammatrix import versions
from streammatrix.plugin import outcomes as o
from streammatrix.report.analysis.model import Cell

OPEN = "open"  # not measured, between two releases that disagree
NOT_INSTALLABLE = "not-installable"


@dataclass
class Span:
    outcome: str
    releases: list[str]  # every release of the span, oldest first
    measured: list[str]  # those a cell ran

    @property
    def first(self) -> str:
        return self.releases[0]

    @property
    def last(self) -> str:
        return self.releases[-1]

    @property
    def text(self) -> str:
        where = self.first if self.first == self.last else f"{self.first}-{self.last}"
        return f"{self.outcome} on {where}"


CLIENT, SERVER = "client", "server"  # the axis a line steps along


@dataclass
class Line:
    """Where the releases of one row were measured, the other coordinates fixed.

    On the client axis ``server`` is the server entry it ran on and ``family`` the client
    distribution; on the server axis ``server`` is the client entry it ran with, ``family``
    the server family and the releases are the server row's.
    """

    server: str  # the fixed entry: the server entry (client axis), the client (server axis)
    server_label: str  # e.g. "Redis 7.0.15", or "redis-py 5.0.8" on the server axis
    python: str
    family: str  # the stepping family: a client distribution ("redis"), or a server family
    protocol: str = ""  # the cells' protocol claim ("" = none): replies differ between them
    parser: str = ""  # the cells' parser claim ("" = none)
    topology: str = ""  # the cells' topology claim ("" = none): a cluster routes differently
    releases: list[str] = field(default_factory=list)  # oldest first, installable ones
    not_installable: list[str] = field(default_factory=list)
    measured: dict[str, dict[str, str]] = field(default_factory=dict)  # release -> feature -> out
    expanded: bool = False  # a row of matrix.yaml has releases on this line
    axis: str = CLIENT

    @property
    def label(self) -> str:
        over = f", RESP{self.protocol}" if self.protocol else ""
        over += f", {self.parser} parser" if self.parser else ""
        over += f", {self.topology}" if self.topology else ""
        return f"{self.server_label} (python {self.python}{over})"

    @property
    def family_label(self) -> str:
        """``redis`` (a distribution) on the client axis, ``Redis`` on the server axis."""
        return (
            versions.SERVER_LABELS.get(self.family, self.family)
            if self.axis == SERVER
            else (self.family)
        )

    def outcomes(self, feature: str) -> dict[str, str]:
        """Every release's outcome for ``feature``: measured, assumed between equals, or open."""
        known = [(r, self.measured[r][feature]) for r in self.releases
                 if feature in self.measured.get(r, {})]  # fmt: skip
        out: dict[str, str] = {}
        index = {r: i for i, r in enumerate(self.releases)}
        for (a, oa), (b, ob) in zip(known, known[1:]):
            for r in self.releases[index[a] : index[b] + 1]:
                out[r] = oa if r == a else ob if r == b else (oa if oa == ob else OPEN)
        if known:
            out.setdefault(known[0][0], known[0][1])
        return out

    def spans(self, outcomes: dict[str, str], feature: str) -> list[Span]:
        spans: list[Span] = []
        for r in self.releases:
            if r not in outcomes:
                continue
            value = outcomes[r]
            measured = [r] if feature in self.measured.get(r, {}) else []
            if spans and spans[-1].outcome == value:
                spans[-1].releases.append(r)
                spans[-1].measured.extend(measured)
            else:
                spans.append(Span(value, [r], measured))
        return spans

    def precision(self, release: str, outcomes: dict[str, str], measured: set[str]) -> str:
        """exact: the release before ``release`` was measured; sampled: nothing lower was."""
        i = self.releases.index(release)
        before = [r for r in self.releases[:i] if r in outcomes]
        if not before:
            return "sampled"
        return "exact" if before[-1] in measured and release in measured else OPEN


@dataclass
class FeatureRanges:
    feature: str
    line: Line
    spans: list[Span]
    passes_from: str | None  # the first release of the last span, when that span passes
    precision: str  # exact | sampled | open

    @property
    def flips(self) -> int:
        return max(0, len([s for s in self.spans if s.outcome != OPEN]) - 1)


def _key(text: str) -> Version:
    return versions.parse(text) or Version("0")  # not a version (or too long for int()): 0


def _placements(cell: Cell) -> list[tuple[tuple[str, ...], str, str, str, str, bool, str]]:
    """The lines ``cell`` lies on: (key, fixed entry, its label, family, release, whether a
    row of matrix.yaml expanded it, the row's releases) per axis."""
    record = cell.record
    rest = (record.python, record.protocol, record.parser, record.topology)
    family = record.client_name or record.client.rsplit("-", 1)[0]
    label = cell.at.server_label if cell.at.server_version else record.server
    out = [
        (
            (CLIENT, record.server, *rest, family), record.server, label, family,
            record.client_release, bool(record.prop(o.SUITE_CLIENT_ROW)),
            record.prop(o.SUITE_CLIENT_RELEASES),
        )
    ]  # fmt: skip
    row = record.prop(o.SUITE_SERVER_ROW)
    if row:
        server_family = cell.at.server_family or versions.server_family(row)
        out.append(
            (
                (SERVER, row, record.client, *rest), record.client, cell.at.client_label,
                server_family, record.prop(o.SUITE_SERVER_RELEASE), True,
                record.prop(o.SUITE_SERVER_RELEASES),
            )
        )  # fmt: skip
    return out


def lines(cells: list[Cell]) -> list[Line]:
    """Group the cells into lines (see :class:`Line`), releases in version order."""
    found: dict[tuple[str, ...], Line] = {}
    listed: dict[tuple[str, ...], set[str]] = defaultdict(set)
    for cell in cells:
        record = cell.record
        outcomes = record.compared_outcomes() if cell.status == o.CELL_OK else {}
        for key, fixed, label, family, version, expanded, releases in _placements(cell):
            line = found.get(key)
            if line is None:
                line = found[key] = Line(
                    fixed, label, record.python, family, record.protocol, axis=key[0],
                    parser=record.parser, topology=record.topology,
                )  # fmt: skip
            elif key[0] == CLIENT and cell.at.server_version and line.server_label == fixed:
                line.server_label = label
            listed[key].update(v for v in releases.split(",") if v)
            line.expanded = line.expanded or expanded
            if cell.status == o.CELL_SKIPPED and expanded and key[0] == CLIENT:
                line.not_installable.append(version)
            if cell.status != o.CELL_OK or versions.parse(version) is None:
                continue
            listed[key].add(version)
            line.measured.setdefault(version, {}).update(outcomes)
    for key, line in found.items():
        gone = set(line.not_installable)
        line.releases = sorted((v for v in listed[key] if v not in gone), key=_key)
    # only where a row was expanded: pinned rows say nothing about the releases between
    return [line for line in found.values() if line.measured and line.expanded]


def feature_ranges(line: Line, feature: str) -> FeatureRanges:
    outcomes = line.outcomes(feature)
    spans = line.spans(outcomes, feature)
    measured = {r for r in line.releases if feature in line.measured.get(r, {})}
    passes_from = spans[-1].first if spans and spans[-1].outcome == o.PASS else None
    precision = line.precision(passes_from, outcomes, measured) if passes_from else ""
    return FeatureRanges(feature, line, spans, passes_from, precision)


def all_ranges(cells: list[Cell]) -> list[FeatureRanges]:
    """Every feature on every line that measured more than one release."""
    out = []
    for line in lines(cells):
        if len(line.measured) < 2:
            continue
        features = sorted({f for m in line.measured.values() for f in m})
        out.extend(feature_ranges(line, f) for f in features)
    return out
