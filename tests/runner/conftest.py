"""Fixtures for the project's own tests (the runner), not for the shared stream suite.

With ``STREAMMATRIX_STRICT=1`` (CI sets it) a skipped test fails instead: a missing Docker engine
or server binary must not turn a red run green.
"""

from __future__ import annotations

import os

import pytest

STRICT = os.environ.get("STREAMMATRIX_STRICT", "").lower() in ("1", "true", "yes")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if STRICT and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped under STREAMMATRIX_STRICT=1 (CI): {reason}"
