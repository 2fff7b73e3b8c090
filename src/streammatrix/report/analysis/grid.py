"""The grid: feature rows (grouped) x cell columns, and what each entry shows.

A row is one feature id within one group; the group comes from the test class (the six seed
classes), else from ``since`` ("Redis 7.2"), else from words in the class name. Columns are
cells ordered by server family and version, then client family and version, then Python.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Sequence
from dataclasses import replace

from packaging.version import Version

from streammatrix.config.model import DEFAULT_PARSER, Expectation, Matrix
from streammatrix.junit.records import CellRecord, TestRecord, worst
from streammatrix.plugin import outcomes as o
from streammatrix.report.analysis import expectations as expect
from streammatrix.report.analysis import parsers
from streammatrix.report.analysis.model import Cell, Coordinates, Entry, FeatureRow, Group, Latency
from streammatrix.report.analysis.vocabulary import NO_RESULT
from streammatrix.versions import family_rank, guess, parse

_FIRST_STREAMS = Version("5.0")  # streams arrived in Redis 5.0: later `since` gets a group
_CAMEL = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z0-9]+")


def group_of(test: TestRecord) -> str:
    """The group of a test's feature, from the suite's own metadata: "Redis 7.2" for a feature
    newer than streams themselves (its mark's ``since``), else its test class in words
    (``TestSyncConsumerGroups`` -> "sync consumer groups"), or the module of a test outside a
    class (``test_consumer_groups`` -> "consumer groups")."""
    since = parse(test.since)
    if since is not None and since > _FIRST_STREAMS:
        return f"Redis {since.major}.{since.minor}"
    name = test.class_name.removeprefix("Test").removeprefix("test_")
    words = [name[m.start() : m.end()] for m in _CAMEL.finditer(_shape(name))]
    return " ".join(w if w.isupper() else w.lower() for w in words) or "other"


def _shape(name: str) -> str:
    """``name`` with each letter as the ASCII letter of its case (``A``, ``a``; a digit or a
    letter without case is ``a``), so that ``_CAMEL`` splits any identifier Python allows
    (``TestÄnderungen``) as it splits an ASCII one."""
    return "".join("A" if c.isupper() else "a" if c.isalnum() else "_" for c in name)


def _group_key(name: str, first_seen: int) -> tuple[int, Version, int]:
    """Groups in the order the suite runs them, the "Redis X.Y" groups after, by version."""
    if name.startswith("Redis ") and (v := parse(name[6:])) is not None:
        return (1, v, first_seen)
    return (0, Version("0"), first_seen)


def coordinates(record: CellRecord, matrix: Matrix | None) -> Coordinates:
    """Measured names and versions; for a cell that never reached its server, matrix.yaml's."""
    server = next((s for s in matrix.servers if s.name == record.server), None) if matrix else None
    client = next((c for c in matrix.clients if c.name == record.client), None) if matrix else None
    entry_family = record.server.split("-", 1)[0].lower()
    return Coordinates(
        server_family=record.server_name or (entry_family if record.server else ""),
        server_version=record.server_version
        or (server.version if server and server.version else guess(record.server)),
        client_family=record.client_name
        or (client.package if client else record.client.split("-", 1)[0].lower()),
        client_version=record.client_version or guess(client.version if client else record.client),
        python_version=record.python_version or record.python,
        measured=bool(record.server_version and record.client_version),
        client_note=_client_note(record),
        protocol=record.protocol,
        resp=record.resp,
        parser=parsers.label(record),
        topology=record.topology,
    )


def _client_note(record: CellRecord) -> str:
    """A cell that could not run and has no installed client version shows the claim marked:
    the runner records the version it installed, so without one the install failed."""
    if record.client_version or record.status != o.CELL_ERROR:
        return ""
    return "not installed" if record.provider else "not measured"


def fill_in(at: Coordinates, record: CellRecord, records: Iterable[CellRecord]) -> Coordinates:
    """A version nothing measured in this cell, taken from a cell with the same entry that did.

    An excluded cell of ``redis-6.0`` then sits beside the other ``redis-6.0`` cells, at the
    version those measured, rather than at the version matrix.yaml claims.
    """
    if not record.server_version:
        for other in records:
            if other.server == record.server and other.server_version:
                at = replace(
                    at, server_family=other.server_name, server_version=other.server_version
                )
                break
    if not record.client_version:
        for other in records:
            if other.client == record.client and other.client_version:
                at = replace(
                    at, client_family=other.client_name, client_version=other.client_version
                )
                break
    return at


def cell_order(cell: Cell) -> tuple:
    at = cell.at
    return (
        family_rank(at.server_family),
        at.server_family,
        at.server_key is None,
        at.server_key or Version("0"),
        cell.record.server,
        family_rank(at.client_family),
        at.client_key is None,
        at.client_key or Version("0"),
        cell.record.client,
        parse(at.python_version) or Version("0"),
        at.protocol,
        cell.record.parser not in ("", DEFAULT_PARSER),  # the client's own parser first
        at.parser,
        at.topology,
        cell.id,
    )


def is_required(row: FeatureRow, required: Sequence[str]) -> bool:
    """``required`` holds feature ids, globs, or test class names."""
    return any(
        fnmatch.fnmatchcase(row.feature, pattern)
        or any(fnmatch.fnmatchcase(cls, pattern) for cls in row.classes)
        for pattern in required
    )


def build_groups(
    cells: list[Cell], required: Sequence[str], expectations: Iterable[Expectation]
) -> list[Group]:
    """Rows in suite order within their groups, each with one entry per cell."""
    rows: dict[tuple[str, str], FeatureRow] = {}
    tests: dict[tuple[str, str, str], list[TestRecord]] = {}
    for cell in cells:
        for test in cell.record.tests:
            key = (group_of(test), test.feature)
            row = rows.get(key)
            if row is None:
                row = rows[key] = FeatureRow(key[0], key[1], test.since, (), (), False)
            if test.class_name not in row.classes:
                row.classes += (test.class_name,)
            if test.name not in row.tests:
                row.tests += (test.name,)
            row.since = row.since or test.since
            tests.setdefault((*key, cell.id), []).append(test)
    expectations = tuple(expectations)
    for key, row in rows.items():
        row.required = is_required(row, required)
        for cell in cells:
            row.entries[cell.id] = _entry(cell, row, tests.get((*key, cell.id), []), expectations)
    groups: dict[str, list[FeatureRow]] = {}
    for row in rows.values():
        groups.setdefault(row.group, []).append(row)
    order = list(groups)  # first seen first: the suite's collection order
    ranked = sorted(groups, key=lambda name: _group_key(name, order.index(name)))
    return [Group(name, groups[name]) for name in ranked]


def _entry(
    cell: Cell, row: FeatureRow, tests: list[TestRecord], expectations: tuple[Expectation, ...]
) -> Entry:
    if cell.status == o.CELL_EXCLUDED:
        return Entry(o.EXCLUDED, None, note=cell.note)
    if cell.status == o.CELL_SKIPPED:
        return Entry(o.SKIPPED, None, note=cell.note)
    if not tests:
        if cell.status == o.CELL_ERROR:
            return Entry(o.ERROR, None, note=cell.note)
        return Entry(NO_RESULT, None)
    measured = worst([t.outcome for t in tests])
    expected = expect.covering(expectations, cell, row.feature, measured)
    if expected is not None:
        note = expected.reason or f"matrix.yaml expects {expected.outcome}"
        return Entry(o.EXPECTED_FAILURE, measured, tests, note=note)
    reasons = [t.reason or t.message for t in tests if t.outcome == measured]
    return Entry(measured, measured, tests, note=next((r for r in reasons if r), ""))


def latencies(cells: list[Cell]) -> list[Latency]:
    """The seed tests' latency_ms per cell, in suite order."""
    rows: dict[str, Latency] = {}
    for cell in cells:
        for test in cell.record.tests:
            if test.latency_ms is None:
                continue
            label = test.name.removeprefix("test_").replace("_", " ")
            row = rows.setdefault(test.id, Latency(test.id, label, test.feature))
            row.values[cell.id] = (test.latency_ms, test.latency_target_ms)
    return list(rows.values())
