"""The report as plain data: what :func:`streammatrix.report.build_report` computes and every
writer (JSON, Markdown, HTML) renders. Nothing here reads files or formats text.

One concept, though over the size rule: each class is a part of :class:`Report`, the one value
the writers read; the words the report uses live in :mod:`.vocabulary`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from packaging.version import Version

from streammatrix import versions
from streammatrix.config.model import Expectation
from streammatrix.junit.records import CellRecord, TestRecord
from streammatrix.plugin import outcomes as o
from streammatrix.report.analysis.vocabulary import LABELS


@dataclass(frozen=True)
class Coordinates:
    """Where a cell sits: measured names and versions, falling back to matrix.yaml's claims."""

    server_family: str  # "redis" / "valkey" / "" when unknown
    server_version: str
    client_family: str
    client_version: str
    python_version: str
    measured: bool  # False: the versions are what matrix.yaml claims, nothing answered
    # Why a cell that could not run shows a claimed client version: "not installed" (its
    # environment could not be made), "not measured" (nothing says what it had); "" otherwise.
    client_note: str = ""
    protocol: str = ""  # the protocol the cell claims ("2", "3", "3-unified"); "" = none
    resp: str = ""  # the protocol its connections were measured to speak ("2", "3", "2 3")
    parser: str = ""  # the parser the cell claims, as shown: "hiredis 3.1.0", "python"; "" = none
    topology: str = ""  # the topology the cell claims ("standalone", "cluster"); "" = none

    @property
    def variant(self) -> tuple[str, str]:
        """The claims a minimum and a break are judged within: (protocol, topology)."""
        return (self.protocol, self.topology)

    @property
    def protocol_label(self) -> str:
        """The protocol as the grid shows it: "RESP3", "RESP3 unified", "RESP2 (default)", and
        "RESP2 and RESP3 (default, mixed)" where the connections of one cell disagreed."""
        if self.protocol:
            return "RESP" + self.protocol.replace("-", " ")
        spoken = self.resp.split()
        if len(spoken) > 1:
            return " and ".join(f"RESP{r}" for r in spoken) + " (default, mixed)"
        return f"RESP{self.resp} (default)" if self.resp else "default"

    @property
    def server_key(self) -> Version | None:
        return versions.parse(self.server_version)

    @property
    def client_key(self) -> Version | None:
        return versions.parse(self.client_version)

    @property
    def server_label(self) -> str:
        name = versions.SERVER_LABELS.get(self.server_family, self.server_family or "server")
        return f"{name} {self.server_version or '?'}"

    @property
    def client_label(self) -> str:
        name = versions.CLIENT_LABELS.get(self.client_family, self.client_family or "client")
        label = f"{name} {self.client_version or '?'}"
        return f"{label} ({self.client_note})" if self.client_note else label


@dataclass
class Cell:
    """A cell as the report shows it: its record and where it sits."""

    record: CellRecord
    at: Coordinates
    note: str = ""  # the exclusion/skip/error reason
    status: str = o.CELL_OK
    log: str = ""  # link to the cell's log, relative to the report's directory

    @property
    def id(self) -> str:
        return self.record.id

    @property
    def counts(self) -> Counter[str]:
        return Counter(t.outcome for t in self.record.tests)


@dataclass
class Entry:
    """One feature in one cell: the outcome shown, the measured one and the tests behind it."""

    outcome: str  # one of GRID_OUTCOMES
    measured: str | None  # aggregate of the tests' own outcomes; None when no test ran
    tests: list[TestRecord] = field(default_factory=list)
    note: str = ""  # expectation, exclusion or cell-error reason

    @property
    def symbol(self) -> str:
        return LABELS[self.outcome][0]

    @property
    def word(self) -> str:
        return LABELS[self.outcome][1]


@dataclass
class Break:
    """A cell at or above a feature's minimum versions where the feature does not pass."""

    cell: str
    outcome: str
    expected: bool


@dataclass
class FeatureRow:
    group: str
    feature: str
    since: str
    classes: tuple[str, ...]
    tests: tuple[str, ...]  # test names (without class)
    required: bool
    entries: dict[str, Entry] = field(default_factory=dict)  # by cell id
    min_server: dict[str, str | None] = field(default_factory=dict)  # family -> version
    min_client: dict[str, str | None] = field(default_factory=dict)
    # the same per (family, protocol claim): what breaks and facts are judged against
    min_server_at: dict[tuple[str, ...], str | None] = field(default_factory=dict)
    min_client_at: dict[tuple[str, ...], str | None] = field(default_factory=dict)
    breaks: list[Break] = field(default_factory=list)
    # what bounds each minimum, per (side, family, protocol claim): one of the BOUND_* words of
    # report/vocabulary.py ("lowest tested", "client lacks it", ...), "" when a cell below failed
    bounds: dict[tuple[str, str, str], str] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.group}/{self.feature}"

    @property
    def non_monotone(self) -> bool:
        return bool(self.breaks)

    @property
    def counts(self) -> Counter[str]:
        return Counter(e.outcome for e in self.entries.values())


@dataclass
class Group:
    name: str
    rows: list[FeatureRow]


@dataclass
class Blocker:
    """Why no version of a family pair passes the required features: the features that fail
    (or are unsupported), their most common message, and the client releases they fail on."""

    features: list[str]  # most failing cells first
    outcome: str  # fail / error, or unsupported-client / unsupported-server when none fails
    message: str  # the first line most of the failing tests share ("" when they differ)
    client_from: str | None  # the lowest client release where they fail
    client_to: str | None  # the highest
    every: bool  # every cell with a client from client_from on fails one of them
    other_protocols: list[str] = field(default_factory=list)  # protocols where they pass


@dataclass
class Minimum:
    """The minimum supported server and client versions for one server x client family."""

    server_family: str
    client_family: str
    server: str | None
    client: str | None
    cells: int  # cells at or above both minimums (all pass the required features)
    alternatives: list[tuple[str, str]] = field(default_factory=list)
    not_counted: list[str] = field(default_factory=list)  # cells that could not run
    protocol: str = ""  # the cells' claimed protocol; "" when the matrix has no `protocols:`
    # the minimum is the lowest version that ran at all: an older one may pass too
    server_lowest_tested: bool = False
    client_lowest_tested: bool = False
    blocker: Blocker | None = None  # with no minimum: what stands in the way
    topology: str = ""  # the cells' claimed topology; "" when the matrix has no `topologies:`

    @property
    def sentence(self) -> str:
        server = versions.SERVER_LABELS.get(self.server_family, self.server_family)
        client = versions.CLIENT_LABELS.get(self.client_family, self.client_family)
        over = " over RESP" + self.protocol.replace("-", " ") if self.protocol else ""
        over += f" ({self.topology})" if self.topology else ""
        if self.server is None or self.client is None:
            return f"{server} with {client}{over}: no measured combination passes them all"
        text = f"{server} {self.server} with {client} {self.client}{over}"
        if self.alternatives:
            other = ", ".join(f"{server} {s} with {client} {c}" for s, c in self.alternatives)
            text += f" (or {other})"
        return text


@dataclass
class Latency:
    """One seed test's measured latency per cell, beside its target."""

    test: str  # test id
    label: str
    feature: str
    values: dict[str, tuple[float, float | None]] = field(default_factory=dict)  # cell -> ms


@dataclass
class Unexpected:
    """A result that matrix.yaml's expectations do not predict."""

    kind: str  # one of the KIND_* words of report/vocabulary.py
    cell: str
    outcome: str
    feature: str = ""
    test: str = ""
    expected: str = ""  # the outcome an expectation predicted, if any
    message: str = ""

    def __str__(self) -> str:
        if not self.cell:
            return f"{self.kind}: {self.message}"
        what = self.test or self.feature or "the cell"
        text = f"{self.kind}: {self.cell}: {what}: {self.outcome}"
        if self.expected:
            text += f" (expected {self.expected})"
        first = self.message.strip().splitlines()[0] if self.message.strip() else ""
        return f"{text}: {first}" if first else text


@dataclass
class Cause:
    """Unexpected results with one cause: the same kind, test or feature, outcome and message,
    in cells that share a server or a client (a server that did not start fails every cell on
    it with the same error: that is one thing to fix, not N)."""

    kind: str
    outcome: str
    feature: str = ""
    test: str = ""
    expected: str = ""
    message: str = ""
    shared: str = ""  # what the cells have in common: "server redis-7.2", "client redis-99"
    results: list[Unexpected] = field(default_factory=list)

    @property
    def cells(self) -> list[str]:
        return list(dict.fromkeys(u.cell for u in self.results if u.cell))

    @property
    def first_line(self) -> str:
        return next((line for line in self.message.splitlines() if line.strip()), "")

    def __str__(self) -> str:
        first = self.results[0]
        if len(self.cells) < 2:
            return str(first)
        what = self.test or self.feature or "the cell"
        text = f"{self.kind}: {len(self.cells)} cells ({self.shared}): {what}: {self.outcome}"
        if self.expected:
            text += f" (expected {self.expected})"
        return f"{text}: {self.first_line.strip()}" if self.first_line else text


@dataclass
class Change:
    """A result that differs from the baseline's (test "" = the cell as a whole)."""

    cell: str
    test: str
    feature: str
    before: str
    after: str
    message: str = ""

    def __str__(self) -> str:
        text = f"{self.cell}: {self.test or 'the cell'}: {self.before or '?'} -> {self.after}"
        first = self.message.strip().splitlines()[0] if self.message.strip() else ""
        return f"since baseline: {text}: {first}" if first else f"since baseline: {text}"


@dataclass
class BaselineDiff:
    source: str
    new_failures: list[Change] = field(default_factory=list)
    new_passes: list[Change] = field(default_factory=list)
    new_cells: list[str] = field(default_factory=list)
    gone_cells: list[str] = field(default_factory=list)  # in the baseline, not run tonight
    # what tonight could not compare, in words: "server redis-7.2: 12 cell(s)", "minimum ..."
    not_compared: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.new_failures or self.new_passes or self.new_cells or self.gone_cells)


@dataclass
class Report:
    cells: list[Cell]
    groups: list[Group]
    required: tuple[str, ...]
    minimums: list[Minimum]
    latencies: list[Latency]
    expectations: tuple[Expectation, ...] = ()
    expected: dict[tuple[str, str], Expectation] = field(default_factory=dict)  # (cell, test)
    unexpected: list[Unexpected] = field(default_factory=list)
    facts: list[Unexpected] = field(default_factory=list)  # fails below a minimum: not red
    causes: list[Cause] = field(default_factory=list)  # the unexpected results, by cause
    baseline: BaselineDiff | None = None
    history: dict = field(default_factory=dict)  # see report/history.py
    warnings: list[str] = field(default_factory=list)
    matrix_path: str = ""
    generated: datetime | None = None
    # features whose outcome differs between protocols (report.protocols.ProtocolDependence)
    protocol_dependent: list = field(default_factory=list)
    # features whose outcome differs between parsers (report.parsers.ParserDependence)
    parser_dependent: list = field(default_factory=list)
    # ... and between topologies (standalone, cluster), the same way
    topology_dependent: list = field(default_factory=list)
    boundaries: Any = None  # report.boundaries.Boundaries: release ranges and bisection
    bisection_cells: list[Cell] = field(default_factory=list)  # cells that ran for a bisection

    @property
    def rows(self) -> list[FeatureRow]:
        return [row for group in self.groups for row in group.rows]

    def cell(self, cell_id: str) -> Cell:
        return next(c for c in self.cells if c.id == cell_id)
