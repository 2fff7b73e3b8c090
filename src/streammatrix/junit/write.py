"""Writing JUnit: the runner's part of a cell's file, and the merged file of a whole report.

Every planned cell ends with exactly one file under ``cells/``, whatever happened to it (its
status, timing, log and, for a cell that never ran to the end, the whole file), so the report
can be rebuilt from files alone (e.g. from the artifacts of several CI shards).
:func:`write_junit` writes the merged file, one ``<testsuite>`` per cell, for CI test reporters.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from xml.etree import ElementTree

from junitparser import Error, Failure, JUnitXml, Properties, Property, Skipped, TestCase, TestSuite

from streammatrix import files
from streammatrix.junit.format import (
    EXPECTED_PROPERTY,
    PLACEHOLDER_CLASSNAME,
    PLACEHOLDER_NAME,
    case_outcome,
)
from streammatrix.junit.records import CellRecord, TestRecord
from streammatrix.plugin import outcomes as o


def _write(xml: JUnitXml, path: Path, *, pretty: bool = False) -> None:
    """Whole or not at all: a reader never sees half a file; OSError -> OutputError.

    ``pretty`` indents elements (never their text) with ElementTree: junitparser's own pretty
    printing goes through minidom, ten times slower on a merged file of a few thousand tests.
    """
    if not pretty:
        files.write_with(path, lambda tmp: xml.write(str(tmp)))
        return
    root = xml._elem  # junitparser's element: indented in place, never written and read back
    if not isinstance(root, ElementTree.Element):  # lxml's, when installed: stdlib indents its own
        root = ElementTree.fromstring(xml.tostring())
    tree = ElementTree.ElementTree(root)
    ElementTree.indent(tree, space="\t")
    files.write_with(path, lambda tmp: tree.write(tmp, encoding="utf-8", xml_declaration=True))


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
        case = TestCase(PLACEHOLDER_NAME, classname=PLACEHOLDER_CLASSNAME)
        case.result = [Error(message=error.splitlines()[0][:500] if error else "error")]
        case.system_err = error
        suite.add_testcase(case)
    suite.update_statistics()
    xml = JUnitXml()
    xml.add_testsuite(suite)
    _write(xml, path)


def suite_properties(path: Path) -> dict[str, str]:
    """The properties of the (first) <testsuite> of a cell file."""
    for suite in _suites(JUnitXml.fromfile(str(path))):
        return {p.name: p.value or "" for p in suite.properties() if p.name}
    return {}


def outcome_counts(path: Path) -> Counter[str]:
    """How many tests of each classified outcome a cell file holds (for progress lines)."""
    counts: Counter[str] = Counter()
    for suite in _suites(JUnitXml.fromfile(str(path))):
        for case in suite:
            outcome, _ = case_outcome(case)
            counts[outcome] += 1
    return counts


def _case(test: TestRecord, expected: str | None) -> TestCase:
    case = TestCase(test.name, classname=test.classname, time=test.seconds)
    props = Properties()
    for name, value in {**test.properties, o.CASE_OUTCOME: test.outcome}.items():
        props.add_property(Property(name, value))
    if expected is not None:
        props.add_property(Property(EXPECTED_PROPERTY, expected))
    case.append(props)
    message = test.message or test.reason
    if expected is not None and test.outcome != o.PASS:
        case.result = [Skipped(f"expected-failure: {expected} ({test.outcome}: {message})")]
    elif test.outcome == o.FAIL:
        case.result = [Failure(message)]
    elif test.outcome == o.ERROR:
        case.result = [Error(message)]
    elif test.outcome in (o.UNSUPPORTED_SERVER, o.UNSUPPORTED_CLIENT):
        reason = test.message or f"{test.outcome}: {test.reason}"
        case.result = [Skipped(reason)]
    elif test.outcome == o.SKIPPED:
        case.result = [Skipped(message)]
    if test.text and case.result:
        case.result[0].text = test.text
    return case


def write_junit(
    cells: Iterable[CellRecord],
    path: str | Path,
    *,
    expected: Mapping[tuple[str, str], str] | None = None,
) -> Path:
    """Write one JUnit file: one ``<testsuite>`` per cell, named by the cell id.

    Every suite keeps its cell's properties. A cell that did not run gets one stand-in test case
    (an ``<error>`` for an error cell, a ``<skipped>`` otherwise), so CI reporters show it.
    ``expected`` maps (cell id, test id) to the reason matrix.yaml gives for an expected
    failure: such a test is written as skipped ("expected-failure: ..."), not failed.
    """
    expected = expected or {}
    xml = JUnitXml("streammatrix")
    for cell in cells:
        suite = TestSuite(cell.id)
        for name, value in cell.properties.items():
            suite.add_property(name, value)
        cases = [_case(t, expected.get((cell.id, t.id))) for t in cell.tests]
        if cell.status != o.CELL_OK:
            stand_in = TestCase(PLACEHOLDER_NAME, classname=PLACEHOLDER_CLASSNAME, time=0.0)
            message = f"{cell.status}: {cell.reason}" if cell.reason else cell.status
            result = Error(message) if cell.status == o.CELL_ERROR else Skipped(message)
            stand_in.result = [result]
            if cell.detail:
                stand_in.system_err = cell.detail
            cases.append(stand_in)
        suite.add_testcases(cases)
        xml.add_testsuite(suite)
    xml.update_statistics()
    target = Path(path)
    _write(xml, target, pretty=True)
    return target
