"""Added to a tiny suite by the interrupt tests: in the one cell named by SLOW_CELL, a test
that takes long enough for the runner to be interrupted while it runs. It creates the file
SLOW_CELL_STARTED names when its sleep begins, so a test knows when to send its signal."""

import json
import os
import time


def test_fast():
    assert True


def test_slow_in_one_cell():
    cell = json.loads(os.environ.get("STREAMMATRIX_CELL", "{}")).get("id")
    if cell == os.environ.get("SLOW_CELL"):
        started = os.environ.get("SLOW_CELL_STARTED")
        if started:
            with open(started, "w") as marker:
                marker.write(str(os.getpid()))
        time.sleep(120)
