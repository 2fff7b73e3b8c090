"""Bisection on the server axis, on real cells: the stream suite with one redis-py release
against a server row listing real Redis releases (the ``redis-server`` wheels of the catalogue's
``redis-5.0`` row, 5.0.7 to 6.0.9), the grid running only the row's two ends.

Nothing here is taken on trust: every release is also run (``expand: all``) and the bisected
ranges must be the ones measured there.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml
from support import ROOT
from support.matrix import catalogue_servers, copy_suite, write_matrix

from streammatrix.report.analysis.stored import expand as expanded
from streammatrix.report.views.json_view import json_schema

pytestmark = [pytest.mark.servers, pytest.mark.slow]

RELEASES = ["5.0.7", "5.0.9", "5.0.10", "6.0.8", "6.0.9"]
CLIENT = {"name": "redis-5.0", "version": "5.0.*"}


@pytest.fixture(scope="module")
def envdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("envs")


def run(
    tmp_path: Path, envdir: Path, expand: str, *args: str, releases=RELEASES, **extra
) -> tuple[int, dict, str]:
    copy_suite(tmp_path / "suite")
    (row,) = catalogue_servers("redis-5.0")
    config = write_matrix(tmp_path / "matrix.yaml", servers=[], clients=[CLIENT], **extra)
    entry = {**row, "name": "redis-5-6", "releases": releases, "expand": expand}
    entry.pop("default", None)
    data = yaml.safe_load(config.read_text())
    config.write_text(yaml.safe_dump({**data, "servers": [entry]}, sort_keys=False))
    report = tmp_path / "report"
    done = subprocess.run(
        [sys.executable, "-m", "streammatrix", "run", "--config", str(config),
         "--envdir", str(envdir), "--report-dir", str(report), *args],
        capture_output=True, text=True, timeout=1200, check=False,
    )  # fmt: skip
    raw = json.loads((report / "report.json").read_text())
    jsonschema.validate(raw, json_schema())  # the file as written; the tests read it expanded
    data = expanded(raw)
    return done.returncode, data, done.stdout + done.stderr


def server_ranges(data: dict) -> dict[str, list[tuple[str, str, str]]]:
    return {
        f["feature"]: [(s["outcome"], s["first"], s["last"]) for s in f["spans"]]
        for f in data["ranges"]["features"]
        if f["axis"] == "server" and len(f["spans"]) > 1
    }


def test_server_releases_between_the_grids_ends_are_bisected_as_every_release_measures(
    tmp_path, envdir
):
    code, data, output = run(
        tmp_path / "ends", envdir, "ends", "--bisect",
        required=["TestSyncStreamsBasics"], declared=["redis>=5.0"],
    )  # fmt: skip
    assert sorted(c["server"]["version"] for c in data["cells"]) == ["5.0.7", "6.0.9"], output
    steps = data["ranges"]["bisection"]["steps"]
    assert steps and {s["release"] for s in steps} <= {f"Redis {v}" for v in RELEASES[1:-1]}
    assert len(steps) < len(RELEASES) - 2  # fewer cells than running every release between
    bisected = server_ranges(data)
    assert bisected, "no feature changes between Redis 5.0.7 and 6.0.9 on this range"

    _, every, output_all = run(tmp_path / "all", envdir, "all")
    assert sorted(c["server"]["version"] for c in every["cells"]) == sorted(RELEASES)
    assert server_ranges(every) == bisected, output_all
    for found in data["ranges"]["features"]:
        if found["feature"] in bisected and found["axis"] == "server":
            assert found["precision"] == "exact"
            boundary = [s["first"] for s in found["spans"][1:]]
            for first, span in zip(boundary, found["spans"]):
                # both sides of each boundary were run: the last of one span, the first of
                # the next, which are neighbouring releases of the row
                assert span["last"] in span["measured"]
                assert RELEASES.index(first) == RELEASES.index(span["last"]) + 1
    assert data["ranges"]["bisection"]["open"] == []
    # the versions lie on a row: the report does not also say nothing could be bisected
    assert not [n for n in data["ranges"]["server_notes"] if "Redis 5.0.7 -> Redis 6.0.9" in n]
    markdown = (tmp_path / "ends" / "report" / "report.md").read_text()
    assert "| Redis | redis-py 5.0." in markdown  # the releases of Redis, with the client fixed
    # the server statement, in the words of a client requirement
    (line,) = [x for x in data["ranges"]["supported"] if x["axis"] == "server"]
    assert line["first"] in RELEASES and line["first_precision"] in ("exact", "sampled")
    assert line["requirement"].startswith(f"Redis >={line['first']}")
    assert line["requirement"] in data["summary"]
    # a declared range names a client distribution: a server line is never checked against it
    assert data["ranges"]["declared"] == []
    assert code in (0, 1), output


def test_a_server_without_resp3_is_unsupported_server_over_resp3(tmp_path, envdir):
    """Redis 5.0 has no HELLO: every test of a RESP3 cell is unsupported-server, not an error,
    and the shipped RESP3 expectations (how redis-py fails XREAD over RESP3 where it runs) do
    not turn it red."""
    shipped = yaml.safe_load((ROOT / "matrix.yaml").read_text())["expected"]
    # those that can hold in a RESP3-only standalone matrix (one naming RESP2 or a cluster
    # there is refused)
    shipped = [e for e in shipped if str(e.get("protocol", "3")) == "3" and "topology" not in e]
    assert any("protocol" in e and e["outcome"] == "fail" for e in shipped)
    _, data, output = run(tmp_path, envdir, "ends", protocols=[3], expected=shipped)
    (old,) = [c for c in data["cells"] if c["server"]["version"] == "5.0.7"]
    assert old["status"] == "ok", output
    outcomes = {t["outcome"] for t in data["tests"] if t["cell"] == old["id"]}
    assert outcomes == {"unsupported-server"}, output
    # a fact of the server, never red (6.0.9's RESP3 reply shapes are another matter)
    assert not [u for u in data["unexpected"] if old["id"] in json.dumps(u)], output


def test_a_release_whose_server_cannot_be_had_leaves_its_boundary_open_and_is_run_once(
    tmp_path, envdir
):
    """redis-server has no 6.0.7 wheel: that release cannot start. Bisection says so, goes on
    with the releases it can run, and does not call a boundary beside 6.0.7 exact."""
    code, data, output = run(
        tmp_path, envdir, "ends", "--bisect", releases=["5.0.7", "5.0.9", "6.0.7", "6.0.8"],
    )  # fmt: skip
    assert "redis-6.0.7--redis-5.0--" in output and "could not run" in output, output
    cells = [s["cell"] for s in data["ranges"]["bisection"]["steps"]]
    assert len([c for c in cells if c.startswith("redis-6.0.7--")]) == 1, cells  # not retried
    assert [c for c in cells if c.startswith("redis-5.0.9--")], cells  # went on past it
    flipping = [
        f for f in data["ranges"]["features"] if f["axis"] == "server" and len(f["spans"]) > 1
    ]
    assert flipping, "no feature changes between Redis 5.0.7 and 6.0.8 on this range"
    for found in flipping:
        assert found["precision"] != "exact", found
        assert "open" in [s["outcome"] for s in found["spans"]], found
    assert " 0 exact boundaries" in output, output
    opened = data["ranges"]["bisection"]["open"]
    assert opened and all("could not run or excluded: 6.0.7" in x for x in opened), opened
    markdown = (tmp_path / "report" / "report.md").read_text()
    assert "Bisection could not run the releases between" in markdown
    assert "budget exhausted" not in markdown
    assert code in (0, 1), output


def test_bisection_does_not_run_a_release_matrix_yaml_excludes(tmp_path, envdir):
    """An exclusion holds for the releases bisection would run too: 6.0.8 is excluded, so
    the boundary next to it stays open and no test runs on it."""
    _, data, output = run(
        tmp_path, envdir, "ends", "--bisect",
        exclude=[{"server": "redis>=6.0,<6.0.9", "reason": "known crash"}],
    )  # fmt: skip
    steps = {s["cell"]: s["outcomes"] for s in data["ranges"]["bisection"]["steps"]}
    excluded = [c for c in steps if c.startswith("redis-6.0.8--")]
    assert excluded and set(steps[excluded[0]].values()) == {"excluded"}, steps
    assert not list((tmp_path / "report" / "logs" / "bisect").glob("redis-6.0.8--*")), output
    opened = data["ranges"]["bisection"]["open"]
    assert opened and all("could not run or excluded: 6.0.8" in x for x in opened), opened
