"""Reruns in a cell file: which tests to run again, and the verdict on those that passed then.

A test that failed (``fail`` or ``error``, never an unsupported result) is run again in the
same cell; one that passes on a rerun is ``flaky``: its case keeps the first failure's message
as its reason, loses the failure element (JUnit reporters see a pass) and records ``tries``.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Mapping
from pathlib import Path

from junitparser import JUnitXml, Properties, Property

from streammatrix.junit.format import case_outcome, properties
from streammatrix.junit.write import _suites, _write
from streammatrix.plugin import outcomes as o

RERUN = (o.FAIL, o.ERROR)


def rerunnable(path: Path) -> list[str]:
    """The node ids of the failed tests in a cell file (tests without a node id are left)."""
    found = []
    for suite in _suites(JUnitXml.fromfile(str(path))):
        for case in suite:
            props = properties(case)
            outcome, _ = case_outcome(case, props)
            if outcome in RERUN and props.get(o.CASE_NODEID):
                found.append(props[o.CASE_NODEID])
    return found


def rerun_results(path: Path) -> tuple[dict[str, str], float]:
    """A rerun's JUnit file: nodeid -> classified outcome, and its tests' own time (the sum of
    the testcases' times; one that cannot be read, or is not finite, counts as none)."""
    found, seconds = {}, 0.0
    for suite in _suites(JUnitXml.fromfile(str(path))):
        for case in suite:
            props = properties(case)
            if props.get(o.CASE_NODEID):
                found[props[o.CASE_NODEID]] = case_outcome(case, props)[0]
            with contextlib.suppress(ValueError):
                time = case.time
                seconds += time if time is not None and math.isfinite(time) else 0.0
    return found, seconds


def mark_flaky(path: Path, tries: Mapping[str, int]) -> None:
    """Turn each case whose node id is in ``tries`` into a flaky one that took that many runs."""
    if not tries:
        return
    xml = JUnitXml.fromfile(str(path))
    for suite in _suites(xml):
        for case in suite:
            props = properties(case)
            nodeid = props.get(o.CASE_NODEID, "")
            if nodeid not in tries:
                continue
            first = next(iter(case.result), None)
            message = (first.message or "") if first is not None else ""
            case.result = []
            element = case.child(Properties)
            for prop in list(element or ()):
                if prop.name in (o.CASE_OUTCOME, o.CASE_REASON, o.CASE_TRIES):
                    element.remove(prop)
            for name, value in (
                (o.CASE_OUTCOME, o.FLAKY),
                (o.CASE_TRIES, str(tries[nodeid])),
                (o.CASE_REASON, f"passed on run {tries[nodeid]}; first run: {message}"[:500]),
            ):
                element.append(Property(name, value))
        suite.update_statistics()
    _write(xml, path)
