"""The runner's part of a cell's JUnit file: its status, timing, log and, for a cell that never
ran to the end, the whole file.

Every planned cell ends with exactly one file under ``cells/``, whatever happened to it, so the
report can be rebuilt from files alone (e.g. from the artifacts of several CI shards).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Mapping
from pathlib import Path

from junitparser import Error, JUnitXml, Properties, TestCase, TestSuite

from streammatrix import outcomes as o


def _write(xml: JUnitXml, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    xml.write(str(tmp))
    os.replace(tmp, path)  # a reader never sees half a file


def _suites(xml: JUnitXml | TestSuite) -> list[TestSuite]:
    return [xml] if isinstance(xml, TestSuite) else list(xml)


def annotate(path: Path, properties: Mapping[str, str]) -> None:
    """Add runner properties to the <testsuite> pytest wrote (replacing same-named ones)."""
    xml = JUnitXml.fromfile(str(path))
    for suite in _suites(xml):
        for prop in [p for p in suite.properties() if p.name in properties]:
            suite.remove_property(prop)
        for name, value in properties.items():
            suite.add_property(name, str(value))
    _write(xml, path)


def write_status(
    path: Path, cell_id: str, properties: Mapping[str, str], *, error: str | None = None
) -> None:
    """A file for a cell that did not run to the end: error, excluded or skipped."""
    suite = TestSuite(cell_id)
    for name, value in properties.items():
        suite.add_property(name, str(value))
    if error is not None:
        case = TestCase("cell", classname="streammatrix.cell")
        case.result = [Error(message=error.splitlines()[0][:500] if error else "error")]
        case.system_err = error
        suite.add_testcase(case)
    suite.update_statistics()
    xml = JUnitXml()
    xml.add_testsuite(suite)
    _write(xml, path)


def outcome_counts(path: Path) -> Counter[str]:
    """How many tests of each classified outcome a cell file holds (for progress lines)."""
    counts: Counter[str] = Counter()
    for suite in _suites(JUnitXml.fromfile(str(path))):
        for case in suite:
            props = case.child(Properties)
            outcome = next(
                (p.value for p in (props or ()) if p.name == o.CASE_OUTCOME), None
            ) or _plain_outcome(case)
            counts[outcome] += 1
    return counts


def _plain_outcome(case: TestCase) -> str:
    """Outcome of a test the plugin did not classify (e.g. a user's own suite)."""
    if case.is_passed:
        return o.PASS
    if case.is_skipped:
        return o.SKIPPED
    return o.ERROR if case.is_error else o.FAIL
