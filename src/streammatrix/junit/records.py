"""A cell as the report sees it: its coordinates and measured versions, and its tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from streammatrix.plugin import connections
from streammatrix.plugin import outcomes as o

# A feature with several tests in one cell shows the worst; index 0 is the worst.
SEVERITY = (
    o.ERROR,
    o.FAIL,
    o.UNSUPPORTED_SERVER,
    o.UNSUPPORTED_CLIENT,
    o.FLAKY,
    o.SKIPPED,
    o.PASS,
)


def worst(outcomes: list[str]) -> str:
    """The aggregate of several test outcomes: error/fail > unsupported-server > -client > pass."""
    return min(outcomes, key=lambda x: SEVERITY.index(x) if x in SEVERITY else 0)


@dataclass
class TestRecord:
    """One test of one cell, as the plugin classified it."""

    __test__ = False  # not a pytest class

    classname: str
    name: str
    feature: str
    outcome: str
    since: str = ""
    reason: str = ""
    message: str = ""  # the failure/error/skip message (an assertion's first line)
    text: str = ""  # the failure/error body (traceback)
    seconds: float = 0.0
    latency_ms: float | None = None
    latency_target_ms: float | None = None
    properties: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.classname}::{self.name}"

    @property
    def marked(self) -> bool:
        """The suite named the test's feature (its feature mark); else the test is its own."""
        return o.CASE_FEATURE in self.properties

    @property
    def class_name(self) -> str:
        """The test class without its module, e.g. ``TestSyncStreamsBasics``."""
        return self.classname.rsplit(".", 1)[-1]


@dataclass
class CellRecord:
    """One cell: its coordinates and measured versions (suite properties) and its tests."""

    id: str
    source: Path
    properties: dict[str, str]
    tests: list[TestRecord] = field(default_factory=list)
    detail: str = ""  # what the runner recorded for a cell that could not run
    time: float = 0.0
    # Other files for this cell whose results differ from this one's: which is right is unknown.
    conflicts: list[str] = field(default_factory=list)

    def prop(self, name: str) -> str:
        return self.properties.get(name, "")

    server = property(lambda self: self.prop(o.SUITE_CELL_SERVER))
    client = property(lambda self: self.prop(o.SUITE_CELL_CLIENT))
    python = property(lambda self: self.prop(o.SUITE_CELL_PYTHON))
    server_name = property(lambda self: self.prop(o.SUITE_SERVER_NAME))
    server_version = property(lambda self: self.prop(o.SUITE_SERVER_VERSION))
    server_redis_version = property(lambda self: self.prop(o.SUITE_SERVER_REDIS_VERSION))
    client_name = property(lambda self: self.prop(o.SUITE_CLIENT_NAME))
    client_version = property(lambda self: self.prop(o.SUITE_CLIENT_VERSION))
    python_version = property(lambda self: self.prop(o.SUITE_PYTHON_VERSION))
    reason = property(lambda self: self.prop(o.SUITE_CELL_REASON))
    log = property(lambda self: self.prop(o.SUITE_CELL_LOG))
    provider = property(lambda self: self.prop(o.SUITE_CELL_PROVIDER))
    protocol = property(lambda self: self.prop(o.SUITE_CELL_PROTOCOL))  # the claim, "" = none
    resp = property(lambda self: self.prop(o.SUITE_CELL_RESP))  # measured: "2", "3", "2 3", ""
    parser = property(lambda self: self.prop(o.SUITE_CELL_PARSER))  # the claim, "" = none

    @property
    def parser_classes(self) -> str:
        """The parser classes the suite's connections used, sync and asyncio, from the cell's
        connection facts: "_AsyncHiredisParser _HiredisParser" ("" when none was measured)."""
        found = {
            value
            for kind in connections.KINDS
            for value in connections.parse(self.prop(connections.property_name(kind, "parser")))
            if value != connections.UNKNOWN
        }
        return " ".join(sorted(found))

    topology = property(lambda self: self.prop(o.SUITE_CELL_TOPOLOGY))  # the claim, "" = none
    mode = property(lambda self: self.prop(o.SUITE_CELL_MODE))  # measured: "cluster", ...

    @property
    def client_release(self) -> str:
        """The client release the cell ran: as installed, else the one its name gives."""
        return self.client_version or self.client.rsplit("-", 1)[-1]

    def feature_outcomes(self) -> dict[str, str]:
        """Each feature's outcome in this cell: the worst of its tests (as the report's grid)."""
        found: dict[str, list[str]] = {}
        for test in self.tests:
            found.setdefault(test.feature, []).append(test.outcome)
        return {feature: worst(outs) for feature, outs in found.items()}

    def compared_outcomes(self) -> dict[str, str]:
        """Each feature's outcome as releases are compared (ranges, bisection): a flaky one
        passed when run again, so it passes, as it does for the minimum."""
        return {f: o.PASS if v == o.FLAKY else v for f, v in self.feature_outcomes().items()}

    @property
    def status(self) -> str:
        """ok, error, excluded or skipped; a file without ``cell.status`` came from pytest: ok."""
        return self.prop(o.SUITE_CELL_STATUS) or o.CELL_OK

    @property
    def seconds(self) -> float:
        try:
            return float(self.prop(o.SUITE_CELL_SECONDS))
        except ValueError:
            return self.time
