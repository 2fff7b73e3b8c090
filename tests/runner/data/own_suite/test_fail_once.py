import os

from conftest import shared


def test_fails_once():
    """Fails on its first run in a cell, passes when run again (a flaky test)."""
    runs = shared.incr(os.environ.get("TEST_STREAM_PREFIX", "own-suite:") + "fail-once")
    assert runs > 1, "first run: fails once"
