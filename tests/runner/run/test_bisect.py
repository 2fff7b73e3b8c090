"""Range rows and bisection, on real cells: the version-feature tests of the stream suite
against one real server (binary redis-7.0) over a small real range of redis-py releases.

The boundaries asserted here were measured beforehand by running every release of the range
on Redis 7.0.15 (and :func:`test_every_release_agrees_with_the_bisection` measures them again):
trim-minid passes on 4.1.4, fails on 4.2.0-4.3.1 and passes from 4.3.2 on (non-monotone);
xautoclaim fails up to 4.3.3 and passes from 4.3.4 on.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from support import ROOT
from support.matrix import write_matrix

from streammatrix.report.analysis.stored import expand
from streammatrix.report.analysis.vocabulary import KIND_DECLARED
from streammatrix.report.views.json_view import json_schema

pytestmark = [pytest.mark.servers, pytest.mark.slow]

RANGE = ">=4.1.4,<4.4"
GRID = ["4.1.4", "4.2.0", "4.2.2", "4.3.0", "4.3.6"]  # expand: minor, first and last per line
EVERY = ["4.1.4", "4.2.0", "4.2.1", "4.2.2", "4.3.0", "4.3.1", "4.3.2", "4.3.3", "4.3.4",
         "4.3.5", "4.3.6"]  # fmt: skip
TRIM_MINID = [("pass", "4.1.4", "4.1.4"), ("fail", "4.2.0", "4.3.1"), ("pass", "4.3.2", "4.3.6")]
XAUTOCLAIM = [("fail", "4.1.4", "4.3.3"), ("pass", "4.3.4", "4.3.6")]
REQUIREMENT = "redis>=4.1.4,!=4.2.*,!=4.3.0,!=4.3.1"


@pytest.fixture(scope="module")
def envdir(tmp_path_factory) -> Path:
    """Client environments shared by this module's runs (each release is made once)."""
    return tmp_path_factory.mktemp("envs")


def small_suite(target: Path) -> Path:
    """The stream suite's version-feature tests only: the features that change in the range."""
    source = ROOT / "tests" / "streams"
    target.mkdir()
    helpers = [p.name for p in source.glob("_*.py")]  # every helper module the tests import
    for name in ("conftest.py", *helpers, "test_version_features.py"):
        shutil.copy(source / name, target / name)
    return target


def run(tmp_path: Path, envdir: Path, *args: str, **matrix: object) -> tuple[int, dict, str]:
    small_suite(tmp_path / "suite")
    config = write_matrix(
        tmp_path / "matrix.yaml",
        servers=["redis-7.0"],
        clients=[{"name": "redis-range", "version": RANGE, **matrix.pop("client", {})}],
        required=["trim-minid"],
        **matrix,
    )
    report = tmp_path / "report"
    done = subprocess.run(
        [sys.executable, "-m", "streammatrix", "run", "--config", str(config),
         "--envdir", str(envdir), "--report-dir", str(report), "--workers", "2", *args],
        capture_output=True, text=True, timeout=1200, check=False,
    )  # fmt: skip
    output = done.stdout + done.stderr
    raw = json.loads((report / "report.json").read_text())
    jsonschema.validate(raw, json_schema())  # the file as written; the tests read it expanded
    data = expand(raw)
    return done.returncode, data, output


def spans(data: dict, feature: str) -> list[tuple[str, str, str]]:
    (found,) = [f for f in data["ranges"]["features"] if f["feature"] == feature]
    return [(s["outcome"], s["first"], s["last"]) for s in found["spans"]]


def feature(data: dict, name: str) -> dict:
    (found,) = [f for f in data["ranges"]["features"] if f["feature"] == name]
    return found


def test_a_range_is_expanded_and_every_flip_bisected_to_adjacent_releases(tmp_path, envdir):
    code, data, output = run(tmp_path, envdir, "--bisect", declared=["redis>=4.0"])
    assert data["schema"] == "streammatrix-report/3"

    grid = sorted(c["client"]["version"] for c in data["cells"])
    assert grid == GRID, output  # the grid: the first and last release of each minor line
    assert {c["client"]["entry"] for c in data["cells"]} == {f"redis-{v}" for v in GRID}
    bisected = sorted(p.stem for p in (tmp_path / "report" / "cells" / "bisect").glob("*.xml"))
    steps = data["ranges"]["bisection"]["steps"]
    assert sorted(s["cell"] for s in steps) == bisected
    probed = {s["release"] for s in steps}
    assert probed and probed <= set(EVERY) - set(GRID), steps
    assert len(steps) < len(EVERY) - len(GRID)  # bisection measured fewer than all the rest

    assert spans(data, "trim-minid") == TRIM_MINID  # non-monotone: two flips, each bisected
    assert spans(data, "xautoclaim") == XAUTOCLAIM
    for name, first in (("trim-minid", "4.3.2"), ("xautoclaim", "4.3.4")):
        found = feature(data, name)
        assert (found["passes_from"], found["precision"]) == (first, "exact")
    # the releases on both sides of each boundary were measured
    trim = feature(data, "trim-minid")["spans"]
    assert {"4.1.4", "4.2.0", "4.3.1", "4.3.2"} <= {v for s in trim for v in s["measured"]}
    assert data["ranges"]["bisection"]["open"] == []

    (line,) = data["ranges"]["supported"]
    assert line["requirement"] == REQUIREMENT
    assert (line["first"], line["first_precision"]) == ("4.1.4", "sampled")
    assert (line["since"], line["since_precision"]) == ("4.3.2", "exact")
    assert REQUIREMENT in data["summary"]

    (declared,) = data["ranges"]["declared"]
    assert declared["ok"] is False
    assert declared["admitted_failing"] == ["4.2.0", "4.2.1", "4.2.2", "4.3.0", "4.3.1"]
    assert declared["corrected"] == REQUIREMENT
    assert any(u["kind"] == KIND_DECLARED for u in data["unexpected"])
    assert code == 1, output
    markdown = (tmp_path / "report" / "report.md").read_text()
    assert "### Release boundaries" in markdown and REQUIREMENT in markdown
    # bisection cells feed the ranges only: the grid keeps the releases the matrix planned
    assert not any(c["id"] in bisected for c in data["cells"])


def test_every_release_agrees_with_the_bisection(tmp_path, envdir):
    """expand: all measures each release: the same ranges, every release of them measured."""
    _, data, output = run(tmp_path, envdir, client={"expand": "all"})
    assert sorted((c["client"]["version"] for c in data["cells"]), key=EVERY.index) == EVERY
    assert spans(data, "trim-minid") == TRIM_MINID, output
    assert spans(data, "xautoclaim") == XAUTOCLAIM
    for name in ("trim-minid", "xautoclaim"):
        for span in feature(data, name)["spans"]:
            assert span["measured"] == span["releases"]
    assert data["ranges"]["bisection"] == {"bisected": False, "steps": [], "open": []}


def test_an_exhausted_budget_leaves_the_boundaries_open_and_says_so(tmp_path, envdir):
    _, data, output = run(tmp_path, envdir, "--bisect", "--bisect-budget", "1")
    steps = data["ranges"]["bisection"]["steps"]
    assert len(steps) == 1, output
    still = data["ranges"]["bisection"]["open"]
    assert still and all("not measured" in item for item in still)
    assert feature(data, "xautoclaim")["precision"] == "open"
    markdown = (tmp_path / "report" / "report.md").read_text()
    assert "Bisection budget exhausted" in markdown


@pytest.mark.skipif(shutil.which("python3.9") is None, reason="needs python 3.9")
def test_a_release_that_does_not_install_on_the_python_is_a_skipped_cell(tmp_path):
    """redis 7.1.0 requires Python 3.10: on 3.9 its cell is skipped, saying why."""
    small_suite(tmp_path / "suite")
    config = write_matrix(
        tmp_path / "matrix.yaml",
        servers=["redis-7.0"],
        clients=[{"name": "redis-7", "version": ">=7.0.1,<7.1.1"}],
        python=["3.9"],
    )
    report = tmp_path / "report"
    done = subprocess.run(
        [sys.executable, "-m", "streammatrix", "run", "--config", str(config),
         "--envdir", str(tmp_path / "envs"), "--report-dir", str(report)],
        capture_output=True, text=True, timeout=1200, check=False,
    )  # fmt: skip
    data = expand(json.loads((report / "report.json").read_text()))
    cells = {c["client"]["entry"]: c for c in data["cells"]}
    assert sorted(cells) == ["redis-7.0.1", "redis-7.1.0"], done.stdout + done.stderr
    assert cells["redis-7.0.1"]["status"] == "ok"
    skipped = cells["redis-7.1.0"]
    assert skipped["status"] == "skipped"
    assert "does not install on python 3.9" in skipped["reason"]
    assert ">=3.10" in skipped["reason"]
    assert not any(u["cell"] == skipped["id"] for u in data["unexpected"])


def test_the_bisection_runs_on_the_servers_the_grid_started(tmp_path, envdir):
    _, data, output = run(tmp_path, envdir, "--bisect", "--bisect-budget", "2")
    assert data["ranges"]["bisection"]["steps"], output  # the bisection ran cells
    # one start of the one server: the grid's, still running when the bisection's cells run
    assert output.count("server redis-7.0 ready at") == 1, output
