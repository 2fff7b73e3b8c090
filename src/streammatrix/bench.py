"""A benchmark of the runner itself: ``streammatrix bench`` (``nox -s bench``).

It measures and reports; it asserts nothing. Three parts, written to ``report/bench.json`` and
printed as tables:

* **server starts**: start-to-ready time (the provider's ``start()``: container or process,
  PING, INFO server) per provider and server, the median of several starts after one that may
  fetch or pull. A provider that cannot work here (no engine, a missing image) is reported as
  such, with the reason.
* **matrix runs**: the real ``streammatrix run`` on a fixed selection (default: the first four
  default servers x the first and last default clients, binary provider), once cold (client
  environments recreated) and then warm at each ``--workers`` count. Each run is split into its
  phases: provider set-up, client environments, server starts, the cells (the union of the
  intervals during which a cell's pytest process runs), the report merge. The runner's overhead
  is the wall time during which no cell runs, plus the time a new process takes to import
  what ``run`` imports.
* **latencies**: the stream suite's own ``latency_ms`` / ``latency_target_ms`` testcase
  properties, read from the warm run's cell files for one server.

The bench keeps its client environments under ``<envdir>/bench-clients``, so that recreating
them never pulls one from under a concurrent ``nox -s matrix``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

SCHEMA = 1
# What the runner aims for; the report says whether each is met, and nothing fails on them.
GOALS = {
    "warm_overhead_share": 0.25,  # of a warm run's wall time
    "ready_seconds": {"binary": 0.2, "docker": 1.0},  # median start-to-ready
    "speedup": 1.8,  # wall(--workers 1) / wall(--workers 2): "close to twice as fast"
}
PROVIDERS = ("docker", "binary")
WIDE = 150  # columns the tables are printed in, at least
# What a fresh `streammatrix run` process imports before its first cell.
RUN_IMPORTS = (
    "streammatrix.cli",
    "streammatrix.runner",
    "streammatrix.report",
    "streammatrix.servers.select",
    "streammatrix.servers.binary",
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``streammatrix bench`` beyond the common selection ones."""
    parser.add_argument("--starts", type=int, default=5, help="timed starts per server")
    parser.add_argument(
        "--providers", default=",".join(PROVIDERS), help="providers whose starts are timed"
    )
    parser.add_argument(
        "--provider", default="binary", choices=("auto", "docker", "binary"),
        help="provider of the matrix runs",
    )  # fmt: skip
    parser.add_argument("--workers", default="1,2", help="worker counts of the warm runs")
    parser.add_argument("--report-dir", default=Path("report"), type=Path)
    parser.add_argument("--envdir", default=Path(".nox"), type=Path, help="where client envs live")
    parser.add_argument(
        "--skip-runs", action="store_true", help="only time server starts (no matrix runs)"
    )


# --- server starts ------------------------------------------------------------------------


def _median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def time_starts(
    specs: Sequence[Any],
    kinds: Sequence[str],
    starts: int,
    notify: Callable[[str], None],
) -> list[dict[str, Any]]:
    """Start and stop each server ``starts`` + 1 times per provider; the first is not timed."""
    from streammatrix.servers.base import ProviderError, ServerStartError
    from streammatrix.servers.select import make_provider

    rows: list[dict[str, Any]] = []
    for kind in kinds:
        goal = GOALS["ready_seconds"].get(kind)
        try:
            provider = make_provider(kind, notify=lambda _message: None)
        except ProviderError as exc:
            notify(f"{kind}: not available ({exc})")
            rows += [_start_row(kind, spec.name, goal, error=str(exc)) for spec in specs]
            continue
        for spec in specs:
            row = _start_row(kind, spec.name, goal)
            labels = {"io.streammatrix.bench": "start"}
            try:
                for attempt in range(starts + 1):
                    began = time.perf_counter()
                    server = provider.start(spec, labels)
                    seconds = time.perf_counter() - began
                    server.stop()
                    row["version"] = server.identity.version
                    if attempt == 0:
                        row["first_seconds"] = round(seconds, 4)
                    else:
                        row["samples"].append(round(seconds, 4))
            except (ProviderError, ServerStartError) as exc:
                row.update(available=False, error=str(exc).splitlines()[0])
            median = _median(row["samples"])
            row["median_seconds"] = round(median, 4) if median is not None else None
            row["met"] = None if median is None or goal is None else median < goal
            notify(
                f"{kind} {spec.name}: "
                + (f"median {median:.3f}s of {starts}" if median is not None else row["error"])
            )
            rows.append(row)
    return rows


def _start_row(kind: str, server: str, goal: float | None, error: str = "") -> dict[str, Any]:
    return {
        "provider": kind,
        "server": server,
        "version": "",
        "available": not error,
        "error": error,
        "first_seconds": None,
        "samples": [],
        "median_seconds": None,
        "goal_seconds": goal,
        "met": None,
    }


# --- matrix runs --------------------------------------------------------------------------


@dataclass
class Probe:
    """What one ``streammatrix run`` did, and when, seen from inside the process."""

    provider: float = 0.0
    envs: float = 0.0
    envs_reused: list[bool] = field(default_factory=list)
    report: float = 0.0
    server_starts: list[float] = field(default_factory=list)
    cells: list[tuple[float, float]] = field(default_factory=list)  # (start, end), monotonic


@contextlib.contextmanager
def _probed(probe: Probe) -> Iterator[None]:
    """Time the phases of ``cli.cmd_run`` by wrapping the functions it calls (restored after)."""
    import streammatrix.report as report_module
    import streammatrix.runner as runner
    import streammatrix.servers.select as select
    from streammatrix import cli

    originals = {
        (runner, "run_cell"): runner.run_cell,
        (runner, "make_envs"): runner.make_envs,
        (runner, "ServerPool"): runner.ServerPool,
        (report_module, "write_reports"): report_module.write_reports,
        (select, "make_provider"): select.make_provider,
    }

    def timed(target: Callable[..., Any], record: Callable[[float, float, Any], None]):
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            began = time.monotonic()
            result = target(*args, **kwargs)
            record(began, time.monotonic(), result)
            return result

        return wrapper

    def add_envs(began: float, ended: float, envs: dict[Any, Any]) -> None:
        probe.envs += ended - began
        probe.envs_reused += [bool(getattr(env, "reused", False)) for env in envs.values()]

    class Pool(runner.ServerPool):  # type: ignore[name-defined,misc]
        def stop_all(self) -> None:
            probe.server_starts.extend(self.start_seconds)
            super().stop_all()

    runner.run_cell = timed(runner.run_cell, lambda b, e, _r: probe.cells.append((b, e)))
    runner.make_envs = timed(runner.make_envs, add_envs)
    runner.ServerPool = Pool
    report_module.write_reports = timed(
        report_module.write_reports, lambda b, e, _r: setattr(probe, "report", e - b)
    )
    select.make_provider = timed(
        select.make_provider, lambda b, e, _r: setattr(probe, "provider", e - b)
    )
    quiet = cli.console.quiet
    cli.console.quiet = True
    try:
        yield
    finally:
        cli.console.quiet = quiet
        for (module, name), original in originals.items():
            setattr(module, name, original)


def union_seconds(intervals: Sequence[tuple[float, float]]) -> float:
    """How long at least one of the intervals was running."""
    total, end = 0.0, float("-inf")
    for start, stop in sorted(intervals):
        if stop <= end:
            continue
        total += stop - max(start, end)
        end = stop
    return total


def import_seconds() -> float:
    """Wall time of a fresh interpreter that imports what ``streammatrix run`` imports."""
    code = "import " + ", ".join(RUN_IMPORTS)
    began = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - began


def pytest_seconds(cells_dir: Path) -> float:
    """The cells' own pytest time: the sum of each cell file's <testsuite time>."""
    from streammatrix import merge

    records, _warnings = merge.load_cells([cells_dir])
    return sum(record.time for record in records)


def matrix_run(
    label: str,
    *,
    config: Path,
    servers: Sequence[str],
    clients: Sequence[str],
    pythons: Sequence[str] | None,
    provider: str,
    workers: int,
    refresh: bool,
    report_dir: Path,
    envdir: Path,
    startup: float,
) -> dict[str, Any]:
    """One real ``streammatrix run`` in this process, timed phase by phase."""
    from streammatrix import cli

    argv = [
        "run", "--config", str(config), "--servers", ",".join(servers),
        "--clients", ",".join(clients), "--provider", provider, "--workers", str(workers),
        "--report-dir", str(report_dir), "--envdir", str(envdir),
    ]  # fmt: skip
    if pythons:
        argv += ["--python", ",".join(pythons)]
    if refresh:
        argv.append("--refresh")
    probe = Probe()
    with _probed(probe):
        began = time.monotonic()
        code = cli.main(argv)
        wall = time.monotonic() - began
    total = wall + startup
    cells_wall = union_seconds(probe.cells)
    overhead = total - cells_wall
    statuses = _statuses(report_dir / "cells")
    return {
        "label": label,
        "workers": workers,
        "envs": "created" if refresh or not all(probe.envs_reused) else "reused",
        "provider": provider,
        "exit_code": code,
        "cells": len(probe.cells),
        "statuses": statuses,
        "total_seconds": round(total, 3),
        "startup_seconds": round(startup, 3),
        "provider_seconds": round(probe.provider, 3),
        "envs_seconds": round(probe.envs, 3),
        "server_starts": len(probe.server_starts),
        "server_start_seconds": round(sum(probe.server_starts), 3),
        "cells_wall_seconds": round(cells_wall, 3),
        "cells_sum_seconds": round(sum(end - start for start, end in probe.cells), 3),
        "pytest_sum_seconds": round(pytest_seconds(report_dir / "cells"), 3),
        "report_seconds": round(probe.report, 3),
        "other_seconds": round(
            total - startup - probe.provider - probe.envs - cells_wall - probe.report, 3
        ),
        "overhead_seconds": round(overhead, 3),
        "overhead_share": round(overhead / total, 4) if total else None,
        "report_dir": str(report_dir),
    }


def _statuses(cells_dir: Path) -> dict[str, int]:
    from collections import Counter

    from streammatrix import merge

    records, _warnings = merge.load_cells([cells_dir])
    return dict(Counter(record.status for record in records))


def latencies(cells_dir: Path, server: str) -> list[dict[str, Any]]:
    """The suite's recorded latencies of every cell of ``server`` in ``cells_dir``."""
    from streammatrix import merge

    records, _warnings = merge.load_cells([cells_dir])
    rows = []
    for record in records:
        if record.server != server:
            continue
        for test in record.tests:
            if test.latency_ms is None:
                continue
            target = test.latency_target_ms
            rows.append(
                {
                    "cell": record.id,
                    "server": record.server,
                    "client": record.client,
                    "client_version": record.client_version,
                    "test": test.id,
                    "feature": test.feature,
                    "latency_ms": test.latency_ms,
                    "target_ms": target,
                    "within": None if target is None else test.latency_ms <= target,
                }
            )
    return rows


# --- the whole benchmark ------------------------------------------------------------------


def _default_selection(
    matrix: Any, args: argparse.Namespace
) -> tuple[list[str], list[str], list[str]]:
    """The fixed matrix: given names, else 4 default servers x the oldest and newest client,
    on one Python (this interpreter's when matrix.yaml has it, else its first)."""
    from streammatrix.plan import plan

    def names(values: list[str] | None) -> list[str] | None:
        if not values:
            return None
        return [n.strip() for v in values for n in v.split(",") if n.strip()]

    servers, clients = names(args.servers), names(args.clients)
    if servers is None:
        servers = [s.name for s in matrix.servers if s.default][:4]
    if clients is None:
        defaults = [c.name for c in matrix.clients if c.default]
        clients = sorted({defaults[0], defaults[-1]}, key=defaults.index) if defaults else []
    pythons = names(args.python)
    if pythons is None:
        here = f"{sys.version_info.major}.{sys.version_info.minor}"
        pythons = [here] if here in matrix.python else list(matrix.python[:1])
    cells = plan(matrix, servers=servers, clients=clients, pythons=pythons)
    used_servers = [s for s in servers if any(c.server.name == s for c in cells)]
    return used_servers or servers, clients, pythons


def goals_met(result: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    warm = [r for r in result["runs"] if r["envs"] == "reused"]
    if warm:
        worst = max(warm, key=lambda r: r["overhead_share"] or 0)
        share = worst["overhead_share"]
        rows.append(
            {
                "goal": "warm run overhead share",
                "value": share,
                "target": f"< {GOALS['warm_overhead_share']:.0%}",
                "met": share is not None and share < GOALS["warm_overhead_share"],
                "note": f"worst warm run: {worst['label']}",
            }
        )
    for kind in PROVIDERS:
        measured = [r for r in result["starts"] if r["provider"] == kind]
        medians = [r["median_seconds"] for r in measured if r["median_seconds"] is not None]
        if not measured:
            continue
        goal = GOALS["ready_seconds"][kind]
        rows.append(
            {
                "goal": f"{kind} server ready",
                "value": max(medians) if medians else None,
                "target": f"< {goal}s",
                "met": max(medians) < goal if medians else None,
                "note": "slowest median" if medians else f"not available: {measured[0]['error']}",
            }
        )
    if result.get("speedup"):
        speedup = result["speedup"]
        rows.append(
            {
                "goal": "--workers 2 vs 1",
                "value": speedup["speedup"],
                "target": f">= {GOALS['speedup']}x",
                "met": speedup["speedup"] >= GOALS["speedup"],
                "note": f"{speedup['w1_seconds']}s -> {speedup['w2_seconds']}s",
            }
        )
    return rows


def run_bench(args: argparse.Namespace, console: Any) -> int:
    """``streammatrix bench``: measure, print the tables, write bench.json; exit 0."""
    from streammatrix.config import ConfigError, load

    if args.shard:
        raise ConfigError("bench runs one fixed matrix: --shard does not apply")
    matrix = load(args.config)
    servers, clients, pythons = _default_selection(matrix, args)
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
        f"python {', '.join(pythons)}"
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
            "provider": args.provider,
        },
        "goals": GOALS,
        "starts_per_server": args.starts,
        "starts": time_starts(specs, kinds, args.starts, say),
        "runs": [],
        "speedup": None,
        "latencies": [],
    }
    if not args.skip_runs:
        startup = import_seconds()
        plans = [("cold", max(workers), True)] + [(f"warm w{w}", w, False) for w in workers]
        for label, count, refresh in plans:
            say(f"bench: matrix run {label} ({count} workers) ...")
            run = matrix_run(
                label,
                config=args.config,
                servers=servers,
                clients=clients,
                pythons=pythons,
                provider=args.provider,
                workers=count,
                refresh=refresh,
                report_dir=report_dir / "bench" / label.replace(" ", "-"),
                envdir=envdir,
                startup=startup,
            )
            result["runs"].append(run)
            say(
                f"bench: {label}: {run['total_seconds']:.2f}s, overhead {run['overhead_share']:.0%}"
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
    result["summary"] = goals_met(result)
    report_dir.mkdir(parents=True, exist_ok=True)
    out = report_dir / "bench.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print_tables(result, console)
    say(f"bench: {out}")
    return 0


# --- output -------------------------------------------------------------------------------


def _s(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _verdict(met: bool | None) -> str:
    return {True: "[green]met[/]", False: "[red]missed[/]"}.get(met, "-")  # type: ignore[arg-type]


def print_tables(result: dict[str, Any], console: Any) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    if console.width < WIDE:  # a pipe or CI log: wide enough that no number is cut
        console = Console(width=WIDE, highlight=False, force_terminal=console.is_terminal)

    starts = Table(title=f"Server start-to-ready, median of {result['starts_per_server']} starts")
    for column in ("provider", "server", "version", "median s", "min s", "max s", "first s"):
        starts.add_column(column, justify="right" if column.endswith(" s") else "left")
    starts.add_column("goal")
    missing = []
    for row in result["starts"]:
        samples = row["samples"]
        if not row["available"] and not samples:
            missing.append(f"{row['provider']} {row['server']}: not available: {row['error']}")
            continue
        starts.add_row(
            row["provider"],
            row["server"],
            row["version"],
            _s(row["median_seconds"]),
            _s(min(samples) if samples else None),
            _s(max(samples) if samples else None),
            _s(row["first_seconds"]),
            f"< {row['goal_seconds']}s {_verdict(row['met'])}",
        )
    console.print(starts)
    for line in missing:
        console.print(f"[yellow]{escape(line)}[/]")

    if result["runs"]:
        runs = Table(title="Matrix runs, seconds (overhead: wall time with no cell running)")
        columns = (
            "run", "w", "envs", "cells", "total", "cells wall", "overhead", "import",
            "provider", "envs s", "servers", "report", "other", "cells sum", "pytest sum",
        )  # fmt: skip
        for column in columns:
            runs.add_column(column, justify="left" if column in ("run", "envs") else "right")
        for run in result["runs"]:
            runs.add_row(
                run["label"],
                str(run["workers"]),
                run["envs"],
                str(run["cells"]),
                _s(run["total_seconds"], 2),
                _s(run["cells_wall_seconds"], 2),
                f"{_s(run['overhead_seconds'], 2)} ({run['overhead_share']:.0%})",
                _s(run["startup_seconds"], 2),
                _s(run["provider_seconds"], 2),
                _s(run["envs_seconds"], 2),
                f"{run['server_starts']}: {_s(run['server_start_seconds'], 2)}",
                _s(run["report_seconds"], 2),
                _s(run["other_seconds"], 2),
                _s(run["cells_sum_seconds"], 2),
                _s(run["pytest_sum_seconds"], 2),
            )
        console.print(runs)

    if result["latencies"]:
        table = Table(title=f"Stream latencies on {result['latencies'][0]['server']} (ms)")
        clients = sorted({row["client"] for row in result["latencies"]})
        table.add_column("test")
        table.add_column("target", justify="right")
        for client in clients:
            table.add_column(client, justify="right")
        tests: dict[str, dict[str, Any]] = {}
        for row in result["latencies"]:
            entry = tests.setdefault(row["test"], {"target": row["target_ms"]})
            mark = "" if row["within"] in (True, None) else " [red]over[/]"
            entry[row["client"]] = f"{row['latency_ms']:.3f}{mark}"
        for test, entry in tests.items():
            name = test.rsplit("::", 1)[-1]
            table.add_row(name, _s(entry["target"], 0), *(entry.get(c, "-") for c in clients))
        console.print(table)

    goals = Table(title="Goals")
    for column in ("goal", "value", "target", "", "note"):
        goals.add_column(column)
    for row in result["summary"]:
        value = row["value"]
        if isinstance(value, float) and "share" in row["goal"]:
            shown = f"{value:.1%}"
        elif isinstance(value, float) and "workers" in row["goal"]:
            shown = f"{value:.2f}x"
        else:
            shown = _s(value)
        goals.add_row(row["goal"], shown, row["target"], _verdict(row["met"]), escape(row["note"]))
    console.print(goals)
