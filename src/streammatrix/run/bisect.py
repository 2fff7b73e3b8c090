"""Bisection: after the grid, find the first release where a feature's outcome changes.

For every feature whose outcome differs between two neighbouring releases of one row (a client
range row on the same server, or a server row listing releases with the same client; same
Python, same protocol and topology), the releases in between are run, binary search, only that
feature's tests, until the boundary is two adjacent releases. A third outcome met in between
(a non-monotone range) splits the interval and each part is bisected. A budget of cells bounds
the cost; what is left open is seen in the report (the cell files say what was measured).

Bisection cells are ordinary cells with their own files under ``cells/bisect/`` (and logs
under ``logs/bisect/``), marked with the ``cell.bisect`` property, so any report merges them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from packaging.version import Version

from streammatrix import processes
from streammatrix.config.model import Matrix, ServerSpec
from streammatrix.junit.read import load_cells
from streammatrix.junit.records import CellRecord
from streammatrix.plan import Cell, Line, excluded, lines
from streammatrix.plugin import outcomes as o
from streammatrix.releases import Row
from streammatrix.run.bisect_cells import BisectPaths, BisectRunner
from streammatrix.run.events import BisectStepped, Events
from streammatrix.run.matrix import RunOptions
from streammatrix.run.pool import RunServers

DEFAULT_BUDGET = 40  # bisection cells per run
SKIP = "not-installable"
UNRUN = "could-not-run"  # the cell could not run (its server did not start, ...): no outcome


Key = Line  # axis ("client"/"server"), its row, the other entry, python, protocol, parser,
# topology
CLIENT, SERVER = "client", "server"


@dataclass
class Interval:
    key: Key
    feature: str
    lo: str
    hi: str
    lo_out: str
    hi_out: str


@dataclass
class BisectResult:
    cells: int = 0
    seconds: float = 0.0  # the bisection's wall time (environments, servers, cells)
    steps: list[tuple[str, str, str]] = field(default_factory=list)  # cell, feature, outcome
    open: list[Interval] = field(default_factory=list)  # left open by the budget
    unrun: list[Interval] = field(default_factory=list)  # open: the releases between failed
    exact: int = 0  # boundaries found between two adjacent releases

    @property
    def exhausted(self) -> bool:
        return bool(self.open)


class Axes:
    """The rows bisection may step along: client range rows (``rows``) and server rows that
    list releases (``matrix.servers`` with a ``row``), and how to make the cell of a release."""

    def __init__(self, matrix: Matrix, rows: dict[str, Row]) -> None:
        self.matrix = matrix
        self.rows = rows
        self.servers = {s.name: s for s in matrix.servers}
        self.clients = {c.name: c for c in matrix.clients}
        self.server_rows: dict[str, dict[str, ServerSpec]] = {}
        for spec in matrix.servers:
            if spec.row:
                self.server_rows.setdefault(spec.row, {})[spec.release] = spec

    def releases(self, key: Key) -> list[str]:
        if key[0] == CLIENT:
            return [str(r.version) for r in self.rows[key[1]].releases]
        return sorted(self.server_rows[key[1]], key=Version)

    def keys(self, record: CellRecord) -> list[tuple[Key, str]]:
        """The rows ``record`` is a release of, each with the release."""
        found = lines(
            record.prop(o.SUITE_CLIENT_ROW), record.prop(o.SUITE_SERVER_ROW), record.server,
            record.client, record.python, record.protocol, record.parser, record.topology,
        )  # fmt: skip
        release = {CLIENT: record.client_release, SERVER: record.prop(o.SUITE_SERVER_RELEASE)}
        known = {CLIENT: self.rows, SERVER: self.server_rows}
        return [(key, release[key[0]]) for key in found if key[1] in known[key[0]]]

    def runnable(self, key: Key) -> bool:
        """Whether the other axis's entry of ``key`` is still in the matrix."""
        return key[2] in (self.servers if key[0] == CLIENT else self.clients)

    def cell(self, key: Key, version: str) -> Cell:
        kind, row, other, python, protocol, parser, topology = key
        if kind == CLIENT:
            server, client = self.servers[other], self.rows[row].client(version)
        else:
            server, client = self.server_rows[row][version], self.clients[other]
        # an excluded cell is not run by bisection either (its file says it is excluded)
        reason = excluded(self.matrix, server, client, python)
        return Cell(
            server, client, python, reason, protocol or None, parser or None, topology or None
        )


class _State:
    """What is known per key: each release's outcome per feature."""

    def __init__(self, axes: Axes) -> None:
        self.axes = axes
        self.known: dict[Key, dict[str, dict[str, str] | str]] = {}
        self.tests: dict[str, set[str]] = {}  # feature -> test function names
        self.probed: dict[str, set[str]] = {}  # features run per bisection cell id

    def add(self, record: CellRecord) -> None:
        for key, version in self.axes.keys(record):
            if record.status == o.CELL_SKIPPED:
                self.known.setdefault(key, {})[version] = SKIP
            elif record.status == o.CELL_OK:
                self.known.setdefault(key, {})[version] = record.compared_outcomes()
                for test in record.tests:
                    self.tests.setdefault(test.feature, set()).add(test.name.split("[")[0])
            elif not isinstance(self.known.get(key, {}).get(version), dict):
                # the whole cell could not run: nothing is known of this release, and a
                # boundary beside it is no closer; it is not run again
                self.known.setdefault(key, {})[version] = UNRUN

    def outcome(self, key: Key, version: str, feature: str) -> str | None:
        entry = self.known.get(key, {}).get(version)
        if entry is None or entry == SKIP:
            return None
        return entry.get(feature) if isinstance(entry, dict) else None

    def gap(self, iv: Interval) -> list[str]:
        """The releases strictly between ``iv``'s ends, but those not installable."""
        order = self.axes.releases(iv.key)
        lo, hi = order.index(iv.lo), order.index(iv.hi)
        known = self.known.get(iv.key, {})
        return [v for v in order[lo + 1 : hi] if known.get(v) != SKIP]

    def between(self, iv: Interval) -> list[str]:
        """The releases bisection may still run inside ``iv``."""
        known = self.known.get(iv.key, {})
        return [v for v in self.gap(iv) if known.get(v) != UNRUN]

    def flips(self) -> list[Interval]:
        found = []
        for key, releases in self.known.items():
            if not self.axes.runnable(key):
                continue
            ran = sorted((v for v, e in releases.items() if isinstance(e, dict)), key=Version)
            features = sorted({f for v in ran for f in releases[v]})  # type: ignore[union-attr]
            for feature in features:
                # only the releases that measured this feature: a bisection cell of another
                # feature between two of them says nothing about it
                have = [v for v in ran if self.outcome(key, v, feature) is not None]
                for a, b in zip(have, have[1:]):
                    oa, ob = self.outcome(key, a, feature), self.outcome(key, b, feature)
                    if oa != ob:
                        found.append(Interval(key, feature, a, b, oa, ob))  # type: ignore[arg-type]
        return found


def bisect(
    matrix: Matrix,
    rows: dict[str, Row],
    options: RunOptions,
    events: Events,
    *,
    budget: int = DEFAULT_BUDGET,
    servers: RunServers | None = None,
) -> BisectResult:
    """Bisect every flip in the grid's cell files under ``options.report_dir``, on the run's
    ``servers`` (the grid's, still running) when given, else on servers of its own."""
    began = time.monotonic()
    result = BisectResult()
    paths = BisectPaths(options.report_dir)
    paths.prepare(keep=True)  # the grid's prepare() already emptied it unless --keep
    axes = Axes(matrix, rows)
    state = _State(axes)
    records, _ = load_cells([options.report_dir / "cells"])
    for record in records:
        state.add(record)
    intervals = state.flips()
    runner = BisectRunner(matrix, options, events, paths, servers)
    processes.arm()
    try:
        with processes.stop_on_signals():
            step = 0
            while intervals and result.cells < budget:
                step += 1
                probes: dict[tuple[Key, str], set[str]] = {}
                for iv in intervals:
                    middle = state.between(iv)
                    if middle:
                        version = middle[len(middle) // 2]
                        probes.setdefault((iv.key, version), set()).add(iv.feature)
                if not probes:
                    break
                cells, where = [], []
                for (key, version), features in list(probes.items())[: budget - result.cells]:
                    cell = axes.cell(key, version)
                    # a cell probed before for other features runs them all again, so that
                    # its one cell file holds every feature measured there
                    union = state.probed.setdefault(cell.id, set())
                    union |= features
                    cells.append((cell, sorted(union)))
                    where.append((key, version))
                names = {f: state.tests.get(f, set()) for _, fs in cells for f in fs}
                if result.cells + len(cells) < budget:  # a next step may come: prepare it
                    runner.ahead([axes.cell(k, v) for k, v in next_probes(intervals, state)])
                stepped = time.monotonic()
                ran = runner.run(cells, step, names, [key[0] for key, _ in where])
                events.emit(BisectStepped(step, len(ran), time.monotonic() - stepped))
                for res, _ in ran:
                    for record in load_cells([runner.paths.cell_file(res.cell)])[0]:
                        state.add(record)
                for (res, features), (key, version) in zip(ran, where):
                    result.cells += 1
                    for feature in features:
                        shown = state.outcome(key, version, feature)
                        result.steps.append((res.cell.id, feature, shown or SKIP))
                intervals = _narrow(intervals, state)
    finally:
        runner.stop()
    result.open = [iv for iv in intervals if state.between(iv)]
    # a boundary beside a release that could not run is not exact, though nothing is left to run
    result.unrun = [iv for iv in intervals if state.gap(iv) and not state.between(iv)]
    result.exact = sum(1 for iv in state.flips() if not state.gap(iv))
    result.seconds = time.monotonic() - began
    return result


def next_probes(intervals: list[Interval], state: _State) -> list[tuple[Key, str]]:
    """The releases the next step may probe, whatever this step's probes measure: for each
    interval, the middle of each half its probe leaves (the step itself runs the middle)."""
    found: dict[tuple[Key, str], None] = {}
    for iv in intervals:
        middle = state.between(iv)
        if not middle:
            continue
        probe = middle[len(middle) // 2]
        for lo, hi in ((iv.lo, probe), (probe, iv.hi)):
            half = state.between(Interval(iv.key, iv.feature, lo, hi, iv.lo_out, iv.hi_out))
            if half:
                found[(iv.key, half[len(half) // 2])] = None
    return list(found)


def _narrow(intervals: list[Interval], state: _State) -> list[Interval]:
    """Cut each interval at the releases just measured: one interval per change of outcome
    (two where a third outcome lies between the ends: a non-monotone range)."""
    out = []
    for iv in intervals:
        points = [(iv.lo, iv.lo_out)]
        for v in state.between(iv):
            got = state.outcome(iv.key, v, iv.feature)
            if got is not None:
                points.append((v, got))
        points.append((iv.hi, iv.hi_out))
        for (a, oa), (b, ob) in zip(points, points[1:]):
            if oa != ob:
                out.append(Interval(iv.key, iv.feature, a, b, oa, ob))
    return out
