"""Fixtures for the project's own tests (the runner), not for the shared stream suite.

With ``STREAMMATRIX_STRICT=1`` (CI sets it) a skipped test fails instead: a missing Docker engine
or server binary must not turn a red run green.
"""

from __future__ import annotations

import os

import pytest

STRICT = os.environ.get("STREAMMATRIX_STRICT", "").lower() in ("1", "true", "yes")

# data/ holds suites that the tests hand to the runner (a user's suite with its own conftest and
# pytest.ini among them): they run in their cells, never in this session, whose every test a
# collected conftest's hooks would reach
collect_ignore = ["data"]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if STRICT and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped under STREAMMATRIX_STRICT=1 (CI): {reason}"
