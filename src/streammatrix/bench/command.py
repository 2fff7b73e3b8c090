"""A benchmark of the runner itself: ``streammatrix bench`` (``nox -s bench``).

It measures and reports; it asserts nothing. Three parts, written to ``report/bench.json`` and
printed as tables:

* **server starts**: start-to-ready time (the provider's ``start()``: container or process,
  PING, INFO server) per provider and server, the median of several starts after one that may
  fetch or pull. A provider that cannot work here (no engine, a missing image) is reported as
  such, with the reason.
* **matrix runs**: the real ``streammatrix run`` on a fixed selection (default: the first four
  default servers x the first and last default clients, binary provider), once cold (client
  environments and compiled suite removed) and then warm at each ``--workers`` count. Each
  run is split into its phases: provider set-up, client environments, server starts, the
  cells (the union of the intervals during which a cell's pytest process runs), the report
  merge. The runner's overhead is the wall time during which no cell runs, plus the time a
  new process takes to import what ``run`` imports.
* **bisection**: what exact release boundaries cost by bisection next to running every
  release of a client range (:mod:`~streammatrix.bench.bisection`).
* **latencies**: the stream suite's own ``latency_ms`` / ``latency_target_ms`` testcase
  properties, read from the warm run's cell files for one server.
* **speed** (:mod:`~streammatrix.bench.speed`): each run's cell start-up (median, p90), the
  cold run over the warm one, warm runs at more workers than cores, the runner against a
  hand-written loop on the same cells, and a cell narrowed to one feature.

The bench keeps its client environments under ``<envdir>/bench-clients``, so that recreating
them never pulls one from under a concurrent ``nox -s matrix``.

This module holds the command (options, selection, bench.json); the parts live beside it:
:mod:`~streammatrix.bench.starts`, :mod:`~streammatrix.bench.runs` (with
:mod:`~streammatrix.bench.cells`), :mod:`~streammatrix.bench.goals` and
:mod:`~streammatrix.bench.tables`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from streammatrix import files
from streammatrix.bench.bisection import bisection_cost
from streammatrix.bench.cells import latencies
from streammatrix.bench.envs import env_cost
from streammatrix.bench.floor import summary
from streammatrix.bench.goals import GOALS, PROVIDERS, goals_met
from streammatrix.bench.loop import usable_cores
from streammatrix.bench.options import (
    FIXED_CLIENTS,
    FIXED_PARSERS,
    FIXED_PROTOCOLS,
    FIXED_SERVERS,
)
from streammatrix.bench.runs import RunCommand, import_seconds, matrix_run
from streammatrix.bench.speed import beside_runs, from_runs
from streammatrix.bench.starts import time_starts
from streammatrix.bench.tables import print_tables
from streammatrix.config.load import load
from streammatrix.config.model import TOPOLOGIES
from streammatrix.errors import ConfigError
from streammatrix.plan import plan, runs
from streammatrix.plugin.outcomes import TOPOLOGY_CLUSTER as CLUSTER

SCHEMA = 1


def _default_selection(
    matrix: Any, args: argparse.Namespace
) -> tuple[list[str], list[str], list[str], list[str] | None, list[str] | None]:
    """The fixed matrix: given names, else 4 default servers x the oldest and newest client,
    on one Python (this interpreter's when matrix.yaml has it, else its first); with
    ``--fixed``, FIXED_SERVERS x FIXED_CLIENTS over RESP2 with each client's own parser unless
    names are given."""

    def names(values: list[str] | None) -> list[str] | None:
        if not values:
            return None
        return [n.strip() for v in values for n in v.split(",") if n.strip()]

    servers, clients = names(args.servers), names(args.clients)
    protocols, parsers = names(args.protocols), names(args.parsers)
    if args.fixed:
        servers = servers or list(FIXED_SERVERS)
        clients = clients or list(FIXED_CLIENTS)
        protocols = protocols or list(FIXED_PROTOCOLS)
        parsers = parsers or list(FIXED_PARSERS)
    if servers is None:
        servers = [s.name for s in matrix.servers if s.default][:4]
    if clients is None:
        defaults = [c.name for c in matrix.clients if c.default]
        clients = sorted({defaults[0], defaults[-1]}, key=defaults.index) if defaults else []
    pythons = names(args.python)
    if pythons is None:
        here = f"{sys.version_info.major}.{sys.version_info.minor}"
        pythons = [here] if here in matrix.python else list(matrix.python[:1])
    cells = plan(
        matrix, servers=servers, clients=clients, pythons=pythons, protocols=protocols,
        parsers=parsers, topologies=bench_topologies(matrix),
    )  # fmt: skip
    used_servers = [s for s in servers if any(c.server.name == s for c in cells)]
    return used_servers or servers, clients, pythons, protocols, parsers


def bench_topologies(matrix: Any) -> list[str] | None:
    """The runs time the runner on standalone cells; a cluster's start is timed apart."""
    return [TOPOLOGIES[0]] if TOPOLOGIES[0] in matrix.topologies else None


def run_bench(args: argparse.Namespace, console: Any, run: RunCommand) -> int:
    """``streammatrix bench``: measure, print the tables, write bench.json; exit 0."""

    if args.shard:
        raise ConfigError("bench runs one fixed matrix: --shard does not apply")
    matrix = load(args.config)
    servers, clients, pythons, protocols, parsers = _default_selection(matrix, args)
    by_name = {s.name: s for s in matrix.servers}
    specs = [by_name[name] for name in servers if name in by_name]
    kinds = [k.strip() for k in args.providers.split(",") if k.strip()]
    unknown = [k for k in kinds if k not in PROVIDERS]
    if unknown:
        raise ConfigError(f"--providers: unknown {', '.join(unknown)} (choose from docker, binary)")
    try:
        workers = [int(w) for w in str(args.workers).split(",") if w.strip()]
    except ValueError:
        raise ConfigError(f"--workers {args.workers!r}: expected counts like 1,2") from None
    if args.starts < 1 or not workers or min(workers) < 1:
        raise ConfigError("--starts and every --workers count must be at least 1")
    say = lambda message: console.print(message, markup=False, highlight=False)  # noqa: E731
    report_dir = args.report_dir
    envdir = (args.envdir / "bench-clients").resolve()

    say(
        f"bench: servers {', '.join(servers)}; clients {', '.join(clients)}; "
        f"python {', '.join(pythons)}; protocols {', '.join(protocols or ['all'])}"
    )
    result: dict[str, Any] = {
        "schema": SCHEMA,
        "generated": datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "config": str(args.config),
        "selection": {
            "servers": servers,
            "clients": clients,
            "python": pythons,
            "protocols": protocols,
            "parsers": parsers,
            "topologies": bench_topologies(matrix),
            "provider": args.provider,
        },
        "goals": GOALS,
        "starts_per_server": args.starts,
        "starts": time_starts(specs, kinds, args.starts, say),
        # the selected servers that the matrix runs as a cluster, started as one
        "cluster_starts": time_starts(
            [s for s in specs if CLUSTER in matrix.topologies and runs(s, CLUSTER)],
            kinds,
            args.starts,
            say,
            topology=CLUSTER,
        ),
        "runs": [],
        "speedup": None,
        "latencies": [],
        "cold_vs_warm": None,
        "workers_over_cores": None,
        "loop": None,
        "one_feature": None,
    }
    if args.rounds < 0 or args.repeats < 0:
        raise ConfigError("--rounds and --repeats must not be negative")
    if not args.skip_runs:
        _matrix_runs(result, args, workers, envdir, say, run)
        result.update(from_runs(result["runs"]))
        beside_runs(result, args, envdir, say, run)
    if args.envs > 0 and clients:
        say(f"bench: {args.envs} client environments from a warm package cache ...")
        client = next(c for c in matrix.clients if c.name == clients[0])
        result["env"] = env_cost(client, pythons[0], args.envs, envdir / "env-cost")
        say(f"bench: one environment: median {result['env']['median_seconds']}s")
    if not args.skip_runs and args.default_matrix > 0:
        result["default_runs"] = _default_runs(args, envdir, say, run)
    result["floor"] = _floors(result, args)
    if not args.skip_runs and args.bisect_range != "none" and servers:
        result["bisection"] = bisection_cost(
            args.config, servers[0], args.bisect_range, args.provider, report_dir, envdir, say,
            run,
        )  # fmt: skip
    result["summary"] = goals_met(result)
    out = files.write_text(report_dir / "bench.json", json.dumps(result, indent=2) + "\n")
    print_tables(result, console)
    say(f"bench: {out}")
    return 0


def _default_runs(
    args: argparse.Namespace, envdir: Path, say: Callable[[str], None], run: RunCommand
) -> list[dict[str, Any]]:
    """The whole default matrix: once to make its environments, then ``--default-matrix``
    warm runs at as many workers as cores."""
    cores = usable_cores()
    runs = []
    for turn in range(args.default_matrix + 1):
        label = "default warm-up" if turn == 0 else f"default {turn}"
        say(f"bench: {label}: the whole default matrix ({cores} workers) ...")
        measured = matrix_run(
            label, config=args.config, servers=[], clients=[], pythons=None,
            provider=args.provider, workers=cores, refresh=False,
            report_dir=args.report_dir / "bench" / label.replace(" ", "-"), envdir=envdir,
            startup=import_seconds(), run=run,
        )  # fmt: skip
        say(f"bench: {label}: {measured['total_seconds']:.1f}s, {measured['cells']} cells")
        runs.append(measured)
    return runs


def _floors(result: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """Warm runs against their CPU floor: the selection's (the fixed matrix with --fixed) at as
    many workers as cores, with the runs against the hand-written loop, and the default
    matrix's."""
    cores = usable_cores()
    measured = [
        (r["label"], r.get("floor"))
        for r in result["runs"]
        if r["envs"] == "reused" and r["workers"] == cores
    ]
    for turn, row in enumerate((result.get("loop") or {}).get("rounds", [])):
        measured.append((f"vs loop {turn + 1}", row.get("runner_floor")))
    default = [(r["label"], r.get("floor")) for r in result.get("default_runs", [])[1:]]
    return {
        "selection": summary(measured, "fixed" if args.fixed else "selection"),
        "default": summary(default, "default"),
    }


def _matrix_runs(
    result: dict[str, Any],
    args: argparse.Namespace,
    workers: list[int],
    envdir: Path,
    say: Callable[[str], None],
    run: RunCommand,
) -> None:
    """Run the selection cold, then warm at each worker count; fill in runs, speedup, latencies."""
    selection = result["selection"]
    servers = selection["servers"]
    startup = import_seconds()
    plans = [("cold", max(workers), True)] + [(f"warm w{w}", w, False) for w in workers]
    for label, count, refresh in plans:
        if refresh:  # cold: no client environments, no compiled suite (binaries stay cached)
            shutil.rmtree(envdir / ".pycache", ignore_errors=True)
        say(f"bench: matrix run {label} ({count} workers) ...")
        measured = matrix_run(
            label,
            config=args.config,
            servers=servers,
            clients=selection["clients"],
            pythons=selection["python"],
            protocols=selection["protocols"],
            parsers=selection.get("parsers"),
            topologies=selection["topologies"],
            provider=args.provider,
            workers=count,
            refresh=refresh,
            report_dir=args.report_dir / "bench" / label.replace(" ", "-"),
            envdir=envdir,
            startup=startup,
            run=run,
        )
        result["runs"].append(measured)
        say(
            f"bench: {label}: {measured['total_seconds']:.2f}s, "
            f"overhead {measured['overhead_share']:.0%}"
        )
    warm = {r["workers"]: r for r in result["runs"] if r["envs"] == "reused"}
    if 1 in warm and 2 in warm:
        w1, w2 = warm[1]["total_seconds"], warm[2]["total_seconds"]
        result["speedup"] = {
            "w1_seconds": w1,
            "w2_seconds": w2,
            "speedup": round(w1 / w2, 3) if w2 else None,
        }
    source = warm.get(1) or next(iter(warm.values()), None) or result["runs"][-1]
    result["latencies"] = latencies(Path(source["report_dir"]) / "cells", servers[0])
