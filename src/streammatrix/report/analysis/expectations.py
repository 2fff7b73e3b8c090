"""matrix.yaml's ``exclude`` and ``expected`` applied to measured results.

An expectation (feature glob x server selector x client selector -> outcome) says that a known
incompatibility is fine: a fail, error or unsupported result it predicts is shown as
expected-failure and does not turn a run red. A fail or error that no expectation covers in a
cell *below* the feature's measured minimum (an old client or server lacking or mishandling a
command) is the fact that defines that minimum: :func:`split` lists it apart, never red. What
turns a run red is :func:`unexpected`: a fail or error at or above the feature's minimum (a
break above minimum), one of a feature that passes in no cell of the family (never passes), a
cell that could not run (or whose file cannot be read), two files that disagree about one cell,
no cell at all, or a feature whose cells no longer show what an expectation predicts (an
expectation that no longer holds, e.g. a bug fixed in a newer client: drop or narrow the
expectation). The words for each kind live in report/vocabulary.py.

unsupported-server / unsupported-client are measured non-support: never unexpected by
themselves, only when an expectation predicted pass or another non-support. An expectation of
fail or error says how a feature fails where it can run, so a cell where it cannot (RESP3
expectations on a server without HELLO) does not break it.

Selectors match *measured* coordinates: a server selector gets (matrix.yaml name, INFO server
name, INFO server version), a client selector (matrix.yaml name, distribution, installed
version).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable

from packaging.version import Version

from streammatrix.config.model import Exclude, Expectation, Matrix, Selector
from streammatrix.junit.records import TestRecord
from streammatrix.plugin import outcomes as o
from streammatrix.report.analysis.model import Cell, FeatureRow, Report, Unexpected
from streammatrix.report.analysis.vocabulary import (
    KIND_BELOW_MINIMUM,
    KIND_BREAK,
    KIND_CELL_ERROR,
    KIND_CONFLICTING,
    KIND_EXPECTATION,
    KIND_NEVER_PASSES,
    KIND_NO_CELLS,
    NOT_PASSING,
)

_UNSUPPORTED = (o.UNSUPPORTED_SERVER, o.UNSUPPORTED_CLIENT)
_FAILS = (o.FAIL, o.ERROR)

__all__ = [
    "client_matches",
    "covering",
    "exclusion",
    "in_scope",
    "server_matches",
    "split",
    "unexpected",
]


def server_matches(selector: Selector, cell: Cell) -> bool:
    return selector.matches(cell.record.server, cell.at.server_family, cell.at.server_version)


def client_matches(selector: Selector, cell: Cell) -> bool:
    return selector.matches(cell.record.client, cell.at.client_family, cell.at.client_version)


def exclusion(matrix: Matrix | None, cell: Cell) -> Exclude | None:
    """The first ``exclude`` entry of matrix.yaml that matches ``cell``, if any."""
    for rule in matrix.exclude if matrix else ():
        pythons = (cell.record.python, cell.at.python_version)
        if (
            server_matches(rule.server, cell)
            and client_matches(rule.client, cell)
            and any(fnmatch.fnmatchcase(p, rule.python) for p in pythons if p)
        ):
            return rule
    return None


def in_scope(expectation: Expectation, cell: Cell, feature: str) -> bool:
    """Whether ``expectation`` speaks about ``feature`` in ``cell`` (whatever the outcome)."""
    return (
        fnmatch.fnmatchcase(feature, expectation.feature)
        and server_matches(expectation.server, cell)
        and client_matches(expectation.client, cell)
        and fnmatch.fnmatchcase(cell.at.protocol, expectation.protocol)
        and fnmatch.fnmatchcase(cell.record.parser, expectation.parser)
        and fnmatch.fnmatchcase(cell.at.topology, expectation.topology)
    )


def covering(
    expectations: Iterable[Expectation], cell: Cell, feature: str, outcome: str | None
) -> Expectation | None:
    """The expectation that predicts this not-passing ``outcome`` of ``feature`` in ``cell``."""
    if outcome not in NOT_PASSING:
        return None
    return next(
        (e for e in expectations if e.outcome == outcome and in_scope(e, cell, feature)), None
    )


def _cell_error_covered(expectations: Iterable[Expectation], cell: Cell) -> bool:
    """A cell that could not run is expected only by an ``error`` expectation for every feature."""
    return any(
        e.outcome == o.ERROR
        and e.feature == "*"
        and server_matches(e.server, cell)
        and client_matches(e.client, cell)
        and fnmatch.fnmatchcase(cell.at.protocol, e.protocol)
        and fnmatch.fnmatchcase(cell.record.parser, e.parser)
        and fnmatch.fnmatchcase(cell.at.topology, e.topology)
        for e in expectations
    )


def _row(report: Report, cell: Cell, test: TestRecord) -> FeatureRow | None:
    for row in report.rows:
        entry = row.entries.get(cell.id)
        if row.feature == test.feature and entry and any(t is test for t in entry.tests):
            return row
    return None


def placement(row: FeatureRow | None, cell: Cell) -> str:
    """Where a failing cell sits against the feature's minimum over the cell's own protocol
    claim (as the grid's breaks): a fact, a break, or no minimum."""
    if row is None:
        return KIND_BREAK
    low_server = row.min_server_at.get((cell.at.server_family, *cell.at.variant))
    low_client = row.min_client_at.get((cell.at.client_family, *cell.at.variant))
    if not low_server or not low_client:
        return KIND_NEVER_PASSES
    server, client = cell.at.server_key, cell.at.client_key
    if server is None or client is None:
        return KIND_BREAK
    if server < Version(low_server) or client < Version(low_client):
        return KIND_BELOW_MINIMUM
    return KIND_BREAK


def unexpected(report: Report) -> list[Unexpected]:
    """Every result that is red: see :func:`split`."""
    return split(report)[0]


def split(report: Report) -> tuple[list[Unexpected], list[Unexpected]]:
    """(unexpected, facts): results the expectations in matrix.yaml do not predict, in grid
    order; those below their feature's minimum are facts, the rest unexpected."""
    if not report.cells:
        none = Unexpected(KIND_NO_CELLS, "", o.ERROR, message="there were no cell results at all")
        return [none], []
    facts: list[Unexpected] = []
    found: list[Unexpected] = []
    expectations = report.expectations
    for cell in report.cells:
        for conflict in cell.record.conflicts:  # which file is right is unknown: never expected
            found.append(Unexpected(KIND_CONFLICTING, cell.id, o.ERROR, message=conflict))
        if cell.status in (o.CELL_EXCLUDED, o.CELL_SKIPPED):
            continue
        if cell.status == o.CELL_ERROR and not _cell_error_covered(expectations, cell):
            found.append(Unexpected(KIND_CELL_ERROR, cell.id, o.ERROR, message=cell.note))
        for test in cell.record.tests:
            if test.outcome not in (o.FAIL, o.ERROR):
                continue
            if covering(expectations, cell, test.feature, test.outcome) is not None:
                continue
            scope = sorted({e.outcome for e in expectations if in_scope(e, cell, test.feature)})
            kind = KIND_EXPECTATION if scope else placement(_row(report, cell, test), cell)
            (facts if kind == KIND_BELOW_MINIMUM else found).append(
                Unexpected(
                    kind,
                    cell.id,
                    test.outcome,
                    feature=test.feature,
                    test=test.id,
                    expected=", ".join(scope),
                    message=test.message or test.reason,
                )
            )
    for row in report.rows:
        for cell in report.cells:
            entry = row.entries.get(cell.id)
            if entry is None or entry.measured in (None, o.SKIPPED, o.FAIL, o.ERROR):
                continue  # no result, or already unexpected above when nothing covers it
            scope = [e for e in expectations if in_scope(e, cell, row.feature)]
            if entry.measured in _UNSUPPORTED and all(e.outcome in _FAILS for e in scope):
                continue  # predicted how it fails where it runs; here it cannot run at all
            if scope and all(e.outcome != entry.measured for e in scope):
                found.append(
                    Unexpected(
                        KIND_EXPECTATION,
                        cell.id,
                        entry.measured,
                        feature=row.feature,
                        expected=", ".join(sorted({e.outcome for e in scope})),
                        message="; ".join(sorted({e.reason for e in scope if e.reason})),
                    )
                )
    return found, facts
