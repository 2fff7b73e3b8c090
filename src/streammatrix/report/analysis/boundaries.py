"""The release boundaries of the required features: per (server, Python, client family) the
first supported release and its requirement (computed in :mod:`.supported`), the check of a
declared range (``declared:`` / ``--declared``), the bisection's steps and what it left open,
and where the server axis changes with no intermediate server version to bisect.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from streammatrix.plugin import outcomes as o
from streammatrix.report.analysis import ranges as r
from streammatrix.report.analysis.model import Cell, Unexpected
from streammatrix.report.analysis.supported import Supported, supported
from streammatrix.report.analysis.vocabulary import KIND_DECLARED


@dataclass
class DeclaredCheck:
    text: str
    line: r.Line
    admitted_failing: list[str]
    admitted_open: list[str]
    corrected: str

    @property
    def ok(self) -> bool:
        return not self.admitted_failing

    @property
    def sentence(self) -> str:
        where = self.line.label
        measured = f"{self.line.releases[0]}-{self.line.releases[-1]}"
        if self.ok:
            text = f"declared {self.text}: every measured release in it ({measured}) passes"
            text += f" the required features on {where}"
        else:
            text = (
                f"declared {self.text} admits {', '.join(self.admitted_failing)}, which fail the "
                f"required features on {where}; measured: {self.corrected}"
            )
        if self.admitted_open:
            text += f" (not measured: {', '.join(self.admitted_open)})"
        return text


def check_declared(declared: tuple[str, ...], lines: list[Supported]) -> list[DeclaredCheck]:
    out = []
    for text in declared:
        req = Requirement(text)
        for sup in lines:
            if sup.line.axis != r.CLIENT:  # a declared range names a client distribution
                continue
            if canonicalize_name(req.name) != canonicalize_name(sup.line.family):
                continue
            inside = [v for v in sup.status if req.specifier.contains(v, prereleases=False)]
            out.append(
                DeclaredCheck(
                    text,
                    sup.line,
                    [v for v in inside if sup.status[v] == o.FAIL],
                    [v for v in inside if sup.status[v] == r.OPEN],
                    sup.requirement,
                )
            )
    return out


def server_notes(cells: list[Cell]) -> list[str]:
    """Where a feature's outcome changes between two server versions of one family that no
    server row lists releases between (those are lines of their own, bisected on the server
    axis): there is nothing in between to bisect, and the report says so."""
    by: dict[tuple[str, ...], dict[Version, dict[str, str]]] = defaultdict(dict)
    labels: dict[Version, str] = {}
    rows: dict[Version, str] = {}
    for cell in cells:
        key_s = cell.at.server_key
        if cell.status != o.CELL_OK or key_s is None:
            continue
        at = cell.at
        rec = cell.record
        key = (
            at.server_family, at.client_version, at.python_version, rec.protocol, rec.parser,
            rec.topology,
        )  # fmt: skip
        by[key][key_s] = cell.record.feature_outcomes()
        labels[key_s] = at.server_label
        rows[key_s] = cell.record.prop(o.SUITE_SERVER_ROW)
    changes: dict[tuple[str, str], set[str]] = defaultdict(set)
    for grid in by.values():
        order = sorted(grid)
        for a, b in zip(order, order[1:]):
            if rows[a] and rows[a] == rows[b]:
                continue  # two releases of one server row: its line says where it changes
            for f in set(grid[a]) & set(grid[b]):
                if grid[a][f] != grid[b][f]:
                    changes[(labels[a], labels[b])].add(f)
    return [
        f"{a} -> {b}: {', '.join(sorted(fs))} change; no intermediate server versions are "
        "available to bisect (no server row lists releases between them)"
        for (a, b), fs in changes.items()
    ]


def _stepped(cell: Cell) -> str:
    """The release a bisection cell measured: its server's on the server axis, else its
    client's."""
    if cell.record.prop(o.SUITE_CELL_BISECT_AXIS) == r.SERVER:
        return cell.at.server_label
    return cell.record.client_release


def _could_not_run(bisection: list[Cell]) -> set[tuple[str, ...]]:
    """(axis, fixed entry, python, protocol, parser, topology, release) of each bisection cell
    that could not run (its server did not start, its environment could not be made) or is
    excluded."""
    out = set()
    for cell in bisection:
        rec = cell.record
        if cell.status not in (o.CELL_ERROR, o.CELL_EXCLUDED):
            continue
        if rec.prop(o.SUITE_CELL_BISECT_AXIS) == r.SERVER:
            release, fixed = rec.prop(o.SUITE_SERVER_RELEASE), rec.client
        else:
            release, fixed = cell.record.client_release, rec.server
        out.add((rec.prop(o.SUITE_CELL_BISECT_AXIS) or r.CLIENT, fixed, rec.python, rec.protocol,
                 rec.parser, rec.topology, release))  # fmt: skip
    return out


@dataclass
class Step:
    cell: str
    release: str
    step: int
    outcomes: dict[str, str]  # feature -> outcome ("not-installable" for a skipped cell)


@dataclass
class Boundaries:
    features: list[r.FeatureRanges] = field(default_factory=list)
    supported: list[Supported] = field(default_factory=list)
    declared: list[DeclaredCheck] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    open: list[str] = field(default_factory=list)
    exhausted: bool = False  # some open release was never tried (else each one could not run)
    server_notes: list[str] = field(default_factory=list)

    @property
    def bisected(self) -> bool:
        return bool(self.steps)

    @property
    def sentence(self) -> str:
        return "; ".join(s.sentence for s in self.supported)

    def unexpected(self) -> list[Unexpected]:
        return [
            Unexpected(KIND_DECLARED, "", o.FAIL, message=d.sentence)
            for d in self.declared
            if not d.ok
        ]


def build(
    grid: list[Cell], bisection: list[Cell], required: set[str], declared: tuple[str, ...]
) -> Boundaries:
    cells = grid + bisection
    found = Boundaries(features=r.all_ranges(cells), server_notes=server_notes(grid))
    for line in r.lines(cells):
        sup = supported(line, required) if len(line.measured) > 1 else None
        if sup is not None:
            found.supported.append(sup)
    found.declared = check_declared(declared, found.supported)
    failed = _could_not_run(bisection)
    for fr in found.features:
        spans, line = fr.spans, fr.line
        for i, span in enumerate(spans):
            if span.outcome == r.OPEN and 0 < i < len(spans) - 1:
                at = (
                    line.axis, line.server, line.python, line.protocol, line.parser,
                    line.topology,
                )  # fmt: skip
                tried = [v for v in span.releases if (*at, v) in failed]
                found.exhausted = found.exhausted or len(tried) < len(span.releases)
                found.open.append(
                    f"{fr.feature} on {fr.line.label}: {spans[i - 1].outcome} on "
                    f"{spans[i - 1].last}, {spans[i + 1].outcome} on {spans[i + 1].first}; "
                    f"not measured: {span.first}-{span.last}"
                    + (f" (could not run or excluded: {', '.join(tried)})" if tried else "")
                )
    for cell in bisection:
        rec = cell.record
        features = [f for f in rec.prop(o.SUITE_CELL_BISECT).split(",") if f]
        outs = rec.feature_outcomes()
        none = {o.CELL_ERROR: o.ERROR, o.CELL_EXCLUDED: o.EXCLUDED}.get(
            cell.status, r.NOT_INSTALLABLE
        )
        shown = {f: outs.get(f, none) for f in features}
        step = int(rec.prop(o.SUITE_CELL_BISECT_STEP) or 0)
        found.steps.append(Step(cell.id, _stepped(cell), step, shown))
    found.steps.sort(key=lambda s: (s.step, s.cell))
    return found
