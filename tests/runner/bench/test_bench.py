"""``streammatrix bench`` in a tiny configuration: what bench.json holds, never how fast.

The benchmark measures; nothing here compares a time with a limit. The tests check that every
part is there and consistent: server starts per provider (an engine that does not answer is
reported, not a crash), the cold and warm matrix runs split into phases, the suite's latencies
read from the cell files, and the goals.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from support import PY, ROOT
from support.matrix import copy_suite, write_matrix

from streammatrix.arguments import build_parser
from streammatrix.bench.command import SCHEMA, _default_selection, bench_topologies
from streammatrix.bench.goals import GOALS, PROVIDERS
from streammatrix.bench.runs import union_seconds
from streammatrix.bench.starts import time_starts
from streammatrix.config.load import load
from streammatrix.plan import plan

SERVER = "redis-7.0"


def tiny_matrix(tmp_path: Path) -> Path:
    copy_suite(tmp_path / "suite")
    return write_matrix(
        tmp_path / "matrix.yaml", servers=[SERVER], clients=[{"name": "redis-7", "version": "7.*"}]
    )


def run_bench(tmp_path: Path, *args: str, env: dict[str, str] | None = None):
    environ = {**os.environ, **(env or {})}
    environ.pop("VIRTUAL_ENV", None)
    return subprocess.run(
        [sys.executable, "-m", "streammatrix", "bench", "--config", str(tiny_matrix(tmp_path)),
         "--report-dir", str(tmp_path / "report"), "--envdir", str(tmp_path / "envs"), *args],
        capture_output=True, text=True, env=environ, timeout=900, check=False,
    )  # fmt: skip


@pytest.mark.servers
@pytest.mark.slow
def test_tiny_bench_writes_every_part_of_bench_json(tmp_path):
    # No engine answers at this address: the docker provider is reported as not available.
    done = run_bench(
        tmp_path,
        *("--starts", "2", "--workers", "1,2", "--providers", "docker,binary"),
        *("--bisect-range", ">=4.3.3,<4.3.6"),  # 4.3.3 fails xautoclaim, 4.3.4 passes
        *("--rounds", "1", "--repeats", "2", "--envs", "2", "--default-matrix", "1"),
        env={"DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock"},
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    result = json.loads((tmp_path / "report" / "bench.json").read_text())

    # bisection next to every release: 4.3.3 and 4.3.5, then 4.3.4 between them
    part = result["bisection"]
    assert (part["every_release"]["cells"], part["every_release"]["bisection_cells"]) == (3, 0)
    assert (part["bisect"]["cells"], part["bisect"]["bisection_cells"]) == (3, 1)
    assert part["same_ranges"] is True, part
    assert part["bisect"]["ranges"]["xautoclaim on redis-7.0"] == [
        ["fail", "4.3.3", "4.3.3"],
        ["pass", "4.3.4", "4.3.5"],
    ]

    assert result["schema"] == SCHEMA
    assert result["selection"] == {
        "servers": [SERVER],
        "clients": ["redis-7"],
        "python": [PY],
        "protocols": None,
        "parsers": None,
        "topologies": None,
        "provider": "binary",
    }
    assert result["machine"]["cpus"] >= 1
    assert result["starts_per_server"] == 2

    docker, binary = (next(r for r in result["starts"] if r["provider"] == k) for k in PROVIDERS)
    assert docker["available"] is False and "no-engine.sock" in docker["error"]
    assert docker["samples"] == [] and docker["median_seconds"] is None and docker["met"] is None
    assert binary["available"] is True and binary["error"] == ""
    assert binary["server"] == SERVER and binary["version"].startswith("7.0")
    assert len(binary["samples"]) == 2 and binary["first_seconds"] > 0
    assert min(binary["samples"]) <= binary["median_seconds"] <= max(binary["samples"])
    assert binary["goal_seconds"] == GOALS["ready_seconds"]["binary"]
    assert isinstance(binary["met"], bool)

    runs = {run["label"]: run for run in result["runs"]}
    assert list(runs) == ["cold", "warm w1", "warm w2"]
    assert runs["cold"]["envs"] == "created" and runs["cold"]["workers"] == 2
    for label in ("warm w1", "warm w2"):
        assert runs[label]["envs"] == "reused", runs[label]
    for run in runs.values():
        assert run["exit_code"] == 0 and run["cells"] == 1
        assert run["statuses"] == {"ok": 1}
        assert run["server_starts"] == 1
        assert 0 < run["cells_wall_seconds"] <= run["total_seconds"]
        # One cell: its interval is the whole of the cells' wall time.
        assert run["cells_sum_seconds"] == pytest.approx(run["cells_wall_seconds"], abs=0.002)
        assert 0 < run["pytest_sum_seconds"] <= run["cells_sum_seconds"]
        assert 0 < run["overhead_share"] < 1
        # the phases come from the run's events: none may be missing or counted twice, so
        # each is measured and what is left over is not negative
        for part in ("startup", "envs", "report"):
            assert run[f"{part}_seconds"] > 0, (part, run)
        assert run["provider_seconds"] >= 0 and run["other_seconds"] >= 0, run
        cells = Path(run["report_dir"]) / "cells"
        assert [p.stem for p in cells.glob("*.xml")] == [f"{SERVER}--redis-7--py{PY}"]
        # one cell: its start-up (wall minus its tests' JUnit time) is the median and the p90
        assert run["started"] == {"fork": 1}, run
        assert 0 < run["startup_median_seconds"] == run["startup_p90_seconds"]
        assert run["startup_median_seconds"] < run["cells_sum_seconds"]

    cold = result["cold_vs_warm"]
    assert cold["workers"] == 2 and cold["cold_seconds"] == runs["cold"]["total_seconds"]
    assert cold["warm_seconds"] == runs["warm w2"]["total_seconds"] and cold["ratio"] > 0
    over = result["workers_over_cores"]
    if over is not None:  # only when a warm run had as many workers as the machine has cores
        assert over["cores"] == result["machine"]["cpus"]
        assert [r["workers"] for r in over["runs"]] == [1, 2]

    loop = result["loop"]
    assert loop["cells"] == 1 and loop["workers"] == result["machine"]["cpus"]
    (turn,) = loop["rounds"]
    assert turn["runner_exit_code"] == 0
    assert list(turn["loop_codes"]) == [f"{SERVER}--redis-7--py{PY}"]
    assert turn["loop_codes"][f"{SERVER}--redis-7--py{PY}"] in (0, 1)  # pytest ran the suite
    assert turn["runner_seconds"] == loop["runner_median_seconds"] > 0
    assert turn["loop_seconds"] == loop["loop_median_seconds"] > 0
    assert loop["ratio"] > 0
    # the CPU time each side spent includes the processes it waited for: pytest and servers
    assert turn["runner_cpu_seconds"] > 0 and turn["loop_cpu_seconds"] > 0
    assert 1 <= loop["cores"] <= result["machine"]["cpus"] and loop["floor_ratio"] > 0
    assert (tmp_path / "report" / "bench" / "loop-1" / f"{SERVER}--redis-7--py{PY}.xml").is_file()

    feature = result["one_feature"]
    assert feature["cell"] == f"{SERVER}--redis-7--py{PY}" and feature["feature"] == "xautoclaim"
    for how in ("fork", "spawn"):
        row = feature[how]
        assert row["started"] == how and row["status"] == "ok" and row["tests"] >= 1
        assert len(row["samples"]) == 2
        assert min(row["samples"]) <= row["median_seconds"] <= max(row["samples"])
        assert 0 < row["startup_median_seconds"] < row["median_seconds"]  # its tests took time

    assert result["speedup"]["speedup"] > 0

    latencies = result["latencies"]
    assert latencies, "the suite records latency_ms on its seed tests"
    for row in latencies:
        assert row["server"] == SERVER and row["client"] == "redis-7"
        assert row["latency_ms"] >= 0 and row["target_ms"] > 0
        assert isinstance(row["within"], bool)
        assert "::" in row["test"] and row["feature"]

    # each run against its CPU floor: every part of the difference is there
    for run in runs.values():
        floor = run["floor"]
        assert floor["cpu_seconds"] > 0 and floor["floor_seconds"] > 0 and floor["ratio"] > 0
        assert floor["cores"] >= 1 and floor["wall_seconds"] == run["total_seconds"]
        assert set(floor["gap"]) == {
            "start", "environments", "servers", "fork_warm_up", "idle_cores", "report",
            "in_cells_off_cpu", "other_processes",
        }  # fmt: skip
        if floor["cores"] > 1:  # one core works in them, the others idle
            assert floor["gap"]["start"] > 0 and floor["gap"]["report"] > 0
    cores = result["floor"]["selection"]["cores"]
    selection = result["floor"]["selection"]
    warm_at_cores = [r["label"] for r in runs.values() if r["envs"] == "reused"]
    warm_at_cores = [label for label in warm_at_cores if runs[label]["workers"] == cores]
    assert selection["runs"] == [*warm_at_cores, "vs loop 1"]
    spread = selection["ratio"]
    assert spread["min"] <= spread["median"] <= spread["max"]
    # the whole default matrix of that matrix.yaml (one server, one client): a warm-up, a run
    assert [r["label"] for r in result["default_runs"]] == ["default warm-up", "default 1"]
    assert result["default_runs"][1]["envs"] == "reused"
    assert result["floor"]["default"]["runs"] == ["default 1"]

    env = result["env"]
    assert (env["client"], env["python"], env["installer"]) == ("redis-7", PY, "uv")
    assert env["release"].startswith("7.") and len(env["samples"]) == 2
    # the bisecting run made its own environments and timed its one step
    steps = result["bisection"]["bisect"]["steps"]
    assert [(s["step"], s["cells"]) for s in steps] == [(1, 1)]

    goals = {row["goal"]: row for row in result["summary"]}
    assert set(goals) == {
        "warm run overhead share", "docker server ready", "binary server ready", "--workers 2 vs 1",
        "cell start-up median", "ratio to a hand-written loop", "one-feature cell",
        "cold vs warm ratio", "wall / CPU floor, selection matrix",
        "wall / CPU floor, default matrix", "one client environment, warm cache",
        "bisection step",
    }  # fmt: skip
    assert goals["docker server ready"]["met"] is None  # not measured, not missed
    assert "floor" in goals["ratio to a hand-written loop"]["note"]
    assert "a forked cell of" in goals["cell start-up median"]["note"]
    assert "not available" in goals["docker server ready"]["note"]
    assert all(
        isinstance(row["met"], bool) for row in result["summary"] if row["value"] is not None
    )

    titles = ("Server start-to-ready", "Matrix runs", "Stream latencies", "Speed", "Goals",
              "Against the CPU floor")  # fmt: skip
    for title in titles:
        assert title in output, output


@pytest.mark.docker
@pytest.mark.servers
def test_docker_starts_and_a_missing_image_are_reported(tmp_path):
    """With the real engine: starts are timed; a server whose image cannot be had is reported."""
    from streammatrix.config.model import ServerSpec
    from streammatrix.servers.docker.engine import EngineUnavailable, connect

    try:
        connect(ping_timeout=2).close()
    except EngineUnavailable as exc:
        pytest.skip(f"no Docker engine: {exc}")
    from support.engine import image_for

    spec = image_for(SERVER)  # built here if the engine lacks it, as `nox -s images` would
    missing = ServerSpec(name="bench-missing", image="streammatrix-bench-missing:0")
    messages: list[str] = []
    rows = time_starts([spec, missing], ["docker"], 2, messages.append)

    started, absent = rows
    assert started["available"] is True, started
    assert started["version"].startswith("7.0") and len(started["samples"]) == 2
    assert started["median_seconds"] is not None and isinstance(started["met"], bool)
    assert absent["available"] is False and absent["samples"] == []
    assert "streammatrix-bench-missing:0" in absent["error"]
    assert len(messages) == 2


def test_union_of_cell_intervals():
    assert union_seconds([]) == 0
    assert union_seconds([(0, 2), (1, 3)]) == 3  # overlapping: counted once
    assert union_seconds([(0, 1), (2, 3)]) == 2  # a gap is not counted
    assert union_seconds([(0, 4), (1, 2), (5, 6)]) == 5  # one inside another


def test_unusable_options_are_a_usage_error(tmp_path):
    done = run_bench(tmp_path, "--providers", "podman", "--skip-runs")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "podman" in done.stdout + done.stderr
    (tmp_path / "again").mkdir()
    done = run_bench(tmp_path / "again", "--rounds", "-1", "--skip-runs")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "--rounds" in done.stdout + done.stderr


def test_fixed_selects_thirty_resp2_cells_of_the_projects_matrix():
    matrix = load(ROOT / "matrix.yaml")
    args = build_parser().parse_args(["bench", "--fixed"])
    servers, clients, pythons, protocols, parsers = _default_selection(matrix, args)
    cells = plan(
        matrix, servers=servers, clients=clients, pythons=pythons, protocols=protocols,
        parsers=parsers, topologies=bench_topologies(matrix),
    )  # fmt: skip
    assert len(cells) == 30 and {c.protocol for c in cells} == {"2"}
    assert {c.parser for c in cells} <= {None, "", "python"}  # no hiredis column
    assert {c.topology for c in cells} == {"standalone"}  # a cluster's start is timed apart
    assert all(c.excluded is None and c.server.binary is not None for c in cells)
    assert len({c.server.name for c in cells}) == 6 and len({c.client.name for c in cells}) == 5
    narrowed = build_parser().parse_args(["bench", "--fixed", "--servers", "redis-7.0"])
    assert _default_selection(matrix, narrowed)[0] == ["redis-7.0"]  # names given still rule


@pytest.mark.servers
def test_cluster_starts_are_timed_against_their_own_goal():
    """A cluster start is the whole cluster: a number per provider, beside the servers' own."""
    spec = next(s for s in load(ROOT / "matrix.yaml").servers if s.name == SERVER)
    messages: list[str] = []
    (row,) = time_starts([spec], ["binary"], 1, messages.append, topology="cluster")
    assert row["available"] is True, row
    assert row["version"].startswith("7.0") and len(row["samples"]) == 1
    assert row["goal_seconds"] == GOALS["cluster_ready_seconds"]["binary"]
    assert messages == [f"binary {SERVER} (cluster): median {row['median_seconds']:.3f}s of 1"]
