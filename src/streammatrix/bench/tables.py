"""The tables ``streammatrix bench`` prints from its result (what bench.json holds).

Server starts, matrix runs, stream latencies and goals, as rich tables at least :data:`WIDE`
columns wide so that no number is cut in a pipe or a CI log. Every cell is a
:class:`rich.text.Text`, so names, test ids and error text are printed as they are, never read
as markup (``test_x[hiredis]``, ``[/x]``) whatever the console's own markup setting is.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text

WIDE = 150  # columns the tables are printed in, at least


def _s(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _verdict(met: bool | None) -> Text:
    if met is None:
        return Text("-")
    return Text("met", style="green") if met else Text("missed", style="red")


def _row(*cells: str | Text) -> list[Text]:
    """Table cells as plain text: a str is never parsed as markup."""
    return [cell if isinstance(cell, Text) else Text(cell) for cell in cells]


def print_tables(result: dict[str, Any], console: Any) -> None:
    """Print every part of ``result`` that holds something, the goals last."""
    from rich.console import Console

    if console.width < WIDE:  # a pipe or CI log: wide enough that no number is cut
        console = Console(width=WIDE, highlight=False, force_terminal=console.is_terminal)
    _print_starts(result, console)
    if result.get("cluster_starts"):
        _print_starts(result, console, "cluster_starts")
    if result["runs"]:
        _print_runs(result, console)
    if result["latencies"]:
        _print_latencies(result, console)
    _print_speed(result, console)
    _print_floor(result, console)
    _print_goals(result, console)


def _print_starts(result: dict[str, Any], console: Any, part: str = "starts") -> None:
    from rich.table import Table

    what = "Cluster (3 primaries)" if part == "cluster_starts" else "Server"
    starts = Table(title=f"{what} start-to-ready, median of {result['starts_per_server']} starts")
    for column in ("provider", "server", "version", "median s", "min s", "max s", "first s"):
        starts.add_column(column, justify="right" if column.endswith(" s") else "left")
    starts.add_column("goal")
    missing = []
    for row in result[part]:
        samples = row["samples"]
        if not row["available"] and not samples:
            missing.append(f"{row['provider']} {row['server']}: not available: {row['error']}")
            continue
        starts.add_row(
            *_row(
                row["provider"],
                row["server"],
                row["version"],
                _s(row["median_seconds"]),
                _s(min(samples) if samples else None),
                _s(max(samples) if samples else None),
                _s(row["first_seconds"]),
                Text.assemble(f"< {row['goal_seconds']}s ", _verdict(row["met"])),
            )
        )
    console.print(starts)
    for line in missing:
        console.print(Text(line, style="yellow"))


def _print_runs(result: dict[str, Any], console: Any) -> None:
    from rich.table import Table

    runs = Table(title="Matrix runs, seconds (overhead: wall time with no cell running)")
    columns = (
        "run", "w", "envs", "cells", "total", "cells wall", "overhead", "import",
        "provider", "envs s", "servers", "report", "other", "cells sum", "pytest sum",
        "start med", "start p90",
    )  # fmt: skip
    for column in columns:
        runs.add_column(column, justify="left" if column in ("run", "envs") else "right")
    for run in result["runs"]:
        runs.add_row(
            *_row(
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
                _s(run.get("startup_median_seconds")),
                _s(run.get("startup_p90_seconds")),
            )
        )
    console.print(runs)


def _print_latencies(result: dict[str, Any], console: Any) -> None:
    from rich.table import Table

    table = Table(title=Text(f"Stream latencies on {result['latencies'][0]['server']} (ms)"))
    clients = sorted({row["client"] for row in result["latencies"]})
    table.add_column("test")
    table.add_column("target", justify="right")
    for client in clients:
        table.add_column(client, justify="right")
    tests: dict[str, dict[str, Any]] = {}
    for row in result["latencies"]:
        entry = tests.setdefault(row["test"], {"target": row["target_ms"]})
        mark = "" if row["within"] in (True, None) else " over"
        entry[row["client"]] = Text.assemble(f"{row['latency_ms']:.3f}", (mark, "red"))
    for test, entry in tests.items():
        name = test.rsplit("::", 1)[-1]
        table.add_row(*_row(name, _s(entry["target"], 0), *(entry.get(c, "-") for c in clients)))
    console.print(table)


def _print_goals(result: dict[str, Any], console: Any) -> None:
    from rich.table import Table

    goals = Table(title="Goals")
    for column in ("goal", "value", "target", "", "note"):
        goals.add_column(column)
    for row in result["summary"]:
        value = row["value"]
        if isinstance(value, float) and "share" in row["goal"]:
            shown = f"{value:.1%}"
        elif isinstance(value, float) and ("workers" in row["goal"] or "ratio" in row["goal"]):
            shown = f"{value:.2f}x"
        else:
            shown = _s(value)
        goals.add_row(*_row(row["goal"], shown, row["target"], _verdict(row["met"]), row["note"]))
    console.print(goals)


def _print_speed(result: dict[str, Any], console: Any) -> None:
    """Cold vs warm, workers over cores, the hand-written loop, the one-feature cell."""
    from rich.table import Table

    table = Table(title="Speed, seconds")
    for column in ("measure", "value", "detail"):
        table.add_column(column, justify="right" if column == "value" else "left")
    cold = result.get("cold_vs_warm")
    if cold:
        detail = f"cold {cold['cold_seconds']} / warm {cold['warm_seconds']} (w{cold['workers']})"
        table.add_row(*_row("cold / warm", f"{cold['ratio']:.2f}x", detail))
    over = result.get("workers_over_cores")
    for run in over["runs"] if over else ():
        table.add_row(
            *_row(
                f"w{run['workers']} / w{over['cores']} (cores)",
                f"{run['vs_cores']:.2f}x",
                f"{run['total_seconds']}",
            )
        )
    loop = result.get("loop")
    if loop:
        detail = (
            f"runner {loop['runner_median_seconds']} (w{loop['workers']}) / loop "
            f"{loop['loop_median_seconds']}, {loop['cells']} cells, {len(loop['rounds'])} rounds"
        )
        table.add_row(*_row("runner / hand-written loop", f"{loop['ratio']:.2f}x", detail))
        if loop.get("floor_ratio") is not None:
            detail = (
                f"CPU time: runner {loop['runner_cpu_seconds']} over {loop['cores']} cores / "
                f"loop wall {loop['loop_median_seconds']} (the loop's CPU "
                f"{loop['loop_cpu_seconds']})"
            )
            table.add_row(*_row("floor of that ratio", f"{loop['floor_ratio']:.2f}x", detail))
    feature = result.get("one_feature")
    for how in ("fork", "spawn") if feature else ():
        row = feature[how]
        detail = f"{feature['feature']} on {feature['cell']}: {row['tests']} tests, "
        detail += row["started"]
        table.add_row(*_row(f"one-feature cell, {how}", _s(row["median_seconds"]), detail))
    if table.row_count:
        console.print(table)


GAP_PARTS = {
    "start": "start (import, provider)",
    "environments": "waiting on environments",
    "servers": "waiting on servers",
    "fork_warm_up": "waiting on fork-server warm-up",
    "idle_cores": "idle cores",
    "report": "the report",
    "other_processes": "other processes on the machine",
    "in_cells_off_cpu": "in cells, off the CPU (rest)",
}


def _print_floor(result: dict[str, Any], console: Any) -> None:
    """Warm runs against their CPU floor, and where the difference goes (medians, ranges)."""
    from rich.table import Table

    floors = [f for f in (result.get("floor") or {}).values() if f]
    if not floors:
        return
    table = Table(title="Against the CPU floor, seconds: median (min-max) over the warm runs")
    table.add_column("measure")
    for floor in floors:
        table.add_column(f"{floor['matrix']} ({len(floor['runs'])} runs)", justify="right")

    def spread(value: dict[str, float], digits: int = 2) -> str:
        return (
            f"{_s(value['median'], digits)} ({_s(value['min'], digits)}-{_s(value['max'], digits)})"
        )

    table.add_row(*_row("wall", *(spread(f["wall_seconds"]) for f in floors)))
    table.add_row(*_row("CPU floor", *(spread(f["floor_seconds"]) for f in floors)))
    table.add_row(*_row("wall / floor", *(spread(f["ratio"], 3) for f in floors)))
    for part, name in GAP_PARTS.items():
        table.add_row(
            *_row(name, *(spread(f["gap"][part]) if part in f["gap"] else "-" for f in floors))
        )
    console.print(table)
