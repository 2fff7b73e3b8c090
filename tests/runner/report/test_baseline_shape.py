"""A baseline of the right schema but the wrong shape is refused with one line naming the file
and the key, both by the reader and by ``run`` before any cell starts; every version of
report.json this one wrote is still read."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys

import pytest
from support import DATA, ROOT

from streammatrix.report.analysis.baseline import READABLE, BaselineError, load_baseline
from streammatrix.report.analysis.stored import expand
from streammatrix.report.build import write_reports
from streammatrix.report.views.json_view import SCHEMA

CELLS = DATA / "cells"
EMPTY = {"cells": [], "tests": [], "minimum": [], "features": []}


def _written(tmp_path) -> dict:
    """A report.json as this version writes it."""
    return json.loads(write_reports([CELLS], tmp_path / "old").paths["json"].read_text())


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({"schema": SCHEMA, "cells": [{"x": 1}]}, "'tests' is missing"),
        ({"schema": SCHEMA, **EMPTY, "cells": [{"x": 1}]}, "cells[0]: 'id' is missing"),
        ({"schema": SCHEMA, **EMPTY, "tests": "abc"}, 'tests: expected array, got "abc"'),
        ({"schema": SCHEMA, **EMPTY, "minimum": None}, "minimum: expected array, got null"),
        ({"schema": SCHEMA, **EMPTY, "cells": [{"id": 5}]}, "cells[0].id: expected string"),
        ({"schema": SCHEMA, **EMPTY, "tests": [{"cell": "c", "id": "t", "outcome": []}]},
         "tests[0].outcome: expected string, got []"),
        ({"schema": SCHEMA, **EMPTY, "features": [{"key": "k", "grid": ["pass"]}]},
         "features[0].grid: expected object"),
        ({"schema": SCHEMA, **EMPTY, "history": {"runs": [], "outcomes": [],
          "minimums": {}, "feature_minimums": {}}}, "history.outcomes: expected object"),
        ({"schema": SCHEMA, **EMPTY, "history": {"runs": [], "outcomes": {"k": {"c": "pass"}},
          "minimums": {}, "feature_minimums": {}}}, "history.outcomes.k.c: expected array"),
        ({"schema": SCHEMA, **EMPTY, "history": {"runs": []}}, "history: 'outcomes' is missing"),
        ({"schema": SCHEMA, **EMPTY, "generated": float("nan")}, "generated: expected string"),
        ({"schema": "streammatrix-report/99", **EMPTY}, "is not one this version reads"),
        ([1, 2], "not a streammatrix report.json"),
    ],
)  # fmt: skip
def test_a_baseline_of_the_wrong_shape_is_one_clear_error(tmp_path, data, words):
    path = tmp_path / "report.json"
    path.write_text(json.dumps(data))
    with pytest.raises(BaselineError) as caught:
        load_baseline(path)
    message = str(caught.value)
    assert message.startswith(f"baseline {path}: ") and words in message, message
    assert "\n" not in message


def test_a_hostile_key_is_quoted_on_one_line(tmp_path):
    path = tmp_path / "report.json"
    history = {"runs": [], "outcomes": {"a\nerror: forged": {"c": 1}}, "minimums": {},
               "feature_minimums": {}}  # fmt: skip
    path.write_text(json.dumps({"schema": SCHEMA, **EMPTY, "history": history}))
    with pytest.raises(BaselineError) as caught:
        load_baseline(path)
    assert "\n" not in str(caught.value) and "['a\\nerror: forged']" in str(caught.value)


def test_json_nested_too_deeply_is_a_clear_error(tmp_path):
    path = tmp_path / "report.json"
    path.write_text("[" * 200_000)
    with pytest.raises(BaselineError, match="not JSON"):
        load_baseline(path)


def test_every_report_this_version_writes_and_older_versions_are_read(tmp_path):
    current = _written(tmp_path)
    assert current["schema"] in READABLE
    path = tmp_path / "current.json"
    path.write_text(json.dumps(current))
    assert load_baseline(path)["schema"] == SCHEMA
    # /1: the plain shape (what /3 expands to), no history, no ranges; minimums without their
    # cell counts
    old = copy.deepcopy(expand(current))
    for key in ("history", "ranges"):
        old.pop(key)
    old["schema"] = "streammatrix-report/1"
    for m in old["minimum"]:
        m.pop("cells")
    path.write_text(json.dumps(old))
    again = write_reports([CELLS], tmp_path / "again", None, path)
    assert again.report.baseline is not None and again.report.baseline.empty
    assert again.report.history["runs"][0] == old["generated"]


def test_run_refuses_a_bad_baseline_before_anything_starts(tmp_path):
    (tmp_path / "tests" / "streams").mkdir(parents=True)
    config = tmp_path / "matrix.yaml"
    config.write_text(
        "python: ['3.11']\n"
        "servers: [{name: r, image: 'streammatrix-no-such-image:1'}]\n"
        "clients: [{version: '5.0.*'}]\n"
    )
    baseline = tmp_path / "truncated.json"
    baseline.write_text(json.dumps({"schema": SCHEMA, "cells": [{"id": "c"}]}))
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "COLUMNS": "300"}
    done = subprocess.run(
        [sys.executable, "-m", "streammatrix", "run", "--config", str(config),
         "--baseline", str(baseline), "--report-dir", str(tmp_path / "report"),
         "--envdir", str(tmp_path / "envs")],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    missing = "'tests' is missing (a truncated file?)"
    assert done.stdout.strip() == f"error: baseline {baseline}: {missing}"
    assert not (tmp_path / "report").exists() and not (tmp_path / "envs").exists()


def test_a_baseline_that_is_not_a_file_is_refused_without_reading_it(tmp_path):
    for path in (tmp_path, "/dev/zero"):  # /dev/zero would be read forever
        with pytest.raises(BaselineError, match="not a file"):
            load_baseline(path)


@pytest.mark.parametrize("side", ["server", "client"])
def test_a_baseline_minimum_too_long_to_read_compares_as_no_version(tmp_path, side):
    """A minimum of 5000 digits (int() reads at most 4300) raises nothing: no version."""
    data = _written(tmp_path)
    minimum = next(m for m in data["minimum"] if m[side])
    minimum[side] = "9" * 5000
    path = tmp_path / "baseline.json"
    path.write_text(json.dumps(data))
    result = write_reports([CELLS], tmp_path / "new", baseline=load_baseline(path))
    assert json.loads(result.paths["json"].read_text())["cells"]
