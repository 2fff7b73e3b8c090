"""The test running now, for the runner: a cell that times out names the test that hung.

The runner names a file in ``STREAMMATRIX_CURRENT_TEST``; the plugin writes each test's node id
into it as the test starts (set-up, call and teardown) and empties it when the test ends, so
after a timeout the file holds the test that never finished ("" when the hang was outside any
test: collection, the session's own fixtures). A write that fails costs the name, not the cell.
"""

from __future__ import annotations

import os

from streammatrix.plugin import outcomes


def _write(text: str) -> None:
    path = os.environ.get(outcomes.ENV_CURRENT_TEST)
    if not path:
        return
    try:
        with open(path, "w", encoding="utf-8") as out:
            out.write(text)
    except OSError:
        pass


def pytest_runtest_logstart(nodeid: str, location: object) -> None:
    _write(nodeid)


def pytest_runtest_logfinish(nodeid: str, location: object) -> None:
    _write("")
