"""The cell-file format: what a cell's JUnit file holds beyond pytest's own, and how a test case
in it is classified. :mod:`~streammatrix.junit.write` and :mod:`~streammatrix.junit.read` both
use these, so the format has one owner.
"""

from __future__ import annotations

import re

from junitparser import Error, Properties, Skipped, TestCase, TestSuite

from streammatrix.plugin import outcomes as o

PLACEHOLDER_CLASSNAME = "streammatrix.cell"  # the runner's stand-in test of a cell that did not run
PLACEHOLDER_NAME = "cell"
EXPECTED_PROPERTY = "expected"  # written on merged test cases that matrix.yaml expects to fail
# A cell id: server--client--pyX.Y[--respN][--parser-P][--cluster]; matrix.yaml names allow
# nothing that could break out of it. The protocol suffix is there only when matrix.yaml has
# `protocols:`, the parser's only for a parser other than the client's own (hiredis), named by
# the client row, the topology's only for a cluster (a standalone claim adds nothing; files
# written before that say "--standalone").
# A cell's file is named after it, so a file that cannot be read still tells which cell it was.
CELL_ID = re.compile(
    r"[A-Za-z0-9][A-Za-z0-9._-]*--[A-Za-z0-9][A-Za-z0-9._-]*--py[0-9][0-9.]*"
    r"(?:--resp[0-9](?:-[a-z]+)?)?"
    r"(?:--parser-[a-z]+)?"
    r"(?:--(?:standalone|cluster))?"
)


def properties(element: TestSuite | TestCase) -> dict[str, str]:
    """The ``<property>`` children of a suite or test case, by name."""
    props = element.child(Properties)
    return {p.name: p.value or "" for p in (props or ()) if p.name}


def case_outcome(case: TestCase, props: dict[str, str] | None = None) -> tuple[str, str]:
    """The classified outcome of a test case, and a problem with it ("" when none).

    The plugin's ``outcome`` property wins; a case without one (a suite run without the plugin)
    is classified from its JUnit result, as pytest reported it.
    """
    props = properties(case) if props is None else props
    outcome = props.get(o.CASE_OUTCOME, "")
    if outcome in o.TEST_OUTCOMES:
        return outcome, ""
    problem = f"test {case.name!r} has an unknown outcome {outcome!r}" if outcome else ""
    results = case.result
    if not results:
        return o.PASS, problem
    first = results[0]
    if isinstance(first, Skipped):
        message = (first.message or "").strip()
        for unsupported in (o.UNSUPPORTED_SERVER, o.UNSUPPORTED_CLIENT):
            if message.startswith(unsupported):
                return unsupported, problem
        return o.SKIPPED, problem
    return (o.ERROR if isinstance(first, Error) else o.FAIL), problem
