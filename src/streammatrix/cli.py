"""Command line: ``streammatrix run | report | images | list | bench``; the noxfile calls these.

Exit codes (:mod:`streammatrix.errors`): 0 every result as expected, 1 an unexpected result,
2 unusable input (matrix.yaml, options, engine), 3 the report could not be written,
130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.text import Text

from streammatrix import processes
from streammatrix.arguments import CONFIG_VARIABLE, DEFAULT_CONFIG, build_parser
from streammatrix.config.declared import read_declared
from streammatrix.config.load import load
from streammatrix.config.model import Matrix
from streammatrix.errors import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_UNEXPECTED,
    StreamMatrixError,
)
from streammatrix.plan import Cell, parse_shard, plan, servers_needed
from streammatrix.releases import Row, expand, shared
from streammatrix.report.analysis.baseline import load_baseline
from streammatrix.run.bisect import bisect
from streammatrix.run.events import Events, Observer, ReportWritten
from streammatrix.run.lock import report_dir_lock
from streammatrix.run.matrix import RunOptions, run_matrix, summarize
from streammatrix.run.pool import RunServers
from streammatrix.run.progress import printer

console = Console(highlight=False, soft_wrap=True, emoji=False, markup=False)


def _names(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    return [name.strip() for value in values for name in value.split(",") if name.strip()]


def main(argv: list[str] | None = None, observers: Sequence[Observer] = ()) -> int:
    """Run one command; extra ``observers`` see every event of a run (the benchmark uses this)."""
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args, observers)
    except StreamMatrixError as exc:
        _error(str(exc))
        return exc.exit_code
    except KeyboardInterrupt:
        _error("interrupted: servers and cell processes were stopped")
        return EXIT_INTERRUPTED


def _load(args: argparse.Namespace) -> tuple[Matrix, dict[str, Row]]:
    """matrix.yaml with its range rows expanded into releases (read from the package index)."""
    matrix, rows = expand(load(args.config))
    if getattr(args, "declared", None):
        matrix = replace(matrix, declared=matrix.declared + read_declared(args.declared))
    return matrix, rows


def _cells(args: argparse.Namespace, matrix: Matrix) -> list[Cell]:
    return plan(
        matrix,
        servers=_names(args.servers),
        clients=_names(args.clients),
        pythons=_names(args.python),
        shard=parse_shard(args.shard) if args.shard is not None else None,
        protocols=_names(args.protocols),
        parsers=_names(args.parsers),
        topologies=_names(args.topologies),
    )


def cmd_list(args: argparse.Namespace, _observers: Sequence[Observer] = ()) -> int:
    matrix, _ = _load(args)
    for cell in _cells(args, matrix):
        note = f"  (excluded: {cell.excluded})" if cell.excluded else ""
        _say(f"{cell.id}{note}")
    return EXIT_OK


def cmd_run(args: argparse.Namespace, observers: Sequence[Observer] = ()) -> int:
    matrix, rows = _load(args)
    cells = _cells(args, matrix)
    if args.list:
        return cmd_list(args)
    for note in shared(matrix, rows):
        _say(f"note: {note}")
    if not cells:  # only a shard can be empty: a selection that matches nothing is an error
        _say(
            f"shard {args.shard} has no cells (fewer lines of cells than shards: a shard keeps "
            "the releases bisection compares together): nothing to run"
        )
        return EXIT_OK
    # a baseline that cannot serve is refused before any server or cell starts
    baseline = load_baseline(args.baseline) if args.baseline else None
    events = Events([printer(_say), *observers])
    started = time.monotonic()
    options = RunOptions(
        report_dir=args.report_dir.resolve(),
        envdir=args.envdir.resolve(),
        workers=max(1, args.workers),
        refresh=args.refresh,
        keep=args.keep,
        timeout=args.timeout,
        provider=args.provider or matrix.provider,
        start="spawn" if args.no_fork else None,
    )
    with report_dir_lock(options.report_dir):  # one run per report dir
        return _run(args, matrix, rows, cells, options, events, started, baseline)


def _run(
    args: argparse.Namespace,
    matrix: Matrix,
    rows: dict[str, Row],
    cells: list[Cell],
    options: RunOptions,
    events: Events,
    started: float,
    baseline: dict[str, Any] | None,
) -> int:
    """The grid, the bisection, then the report. A signal at any point of the grid or the
    bisection stops what runs and still reports every cell that finished (exit 130); one
    while the report is written lets it finish first."""
    interrupted = False
    with processes.signals_noted() as noted:
        try:
            with processes.stop_on_signals():
                if noted.is_set():  # came before the handlers above were in place
                    raise KeyboardInterrupt
                _grid_and_bisection(args, matrix, rows, cells, options, events, started)
        except KeyboardInterrupt:
            interrupted = True
            _error("interrupted: servers and cell processes were stopped")
            _say("the cells that finished are kept; writing a partial report")
        code = _report(
            [options.report_dir / "cells"],
            options.report_dir,
            matrix,
            baseline,
            events,
            history=args.history,
            partial=interrupted,  # no night of history, but the nights before it are kept
        )
    if noted.is_set() and not interrupted:
        _error("interrupted while the report was written; it was written whole")
    return EXIT_INTERRUPTED if interrupted or noted.is_set() else code


def _grid_and_bisection(
    args: argparse.Namespace,
    matrix: Matrix,
    rows: dict[str, Row],
    cells: list[Cell],
    options: RunOptions,
    events: Events,
    started: float,
) -> None:
    # the grid's servers keep running for the bisection, and stop when both are done
    with RunServers(options.provider, events) as servers:
        _grid_then_bisection(args, matrix, rows, cells, options, events, started, servers)


def _grid_then_bisection(
    args: argparse.Namespace,
    matrix: Matrix,
    rows: dict[str, Row],
    cells: list[Cell],
    options: RunOptions,
    events: Events,
    started: float,
    servers: RunServers,
) -> None:
    results = run_matrix(matrix, cells, options, events, servers)
    counts = summarize(results)
    statuses = {r.status for r in results}
    _say(
        f"{len(results)} cells ({', '.join(sorted(statuses))}) in "
        f"{time.monotonic() - started:.1f}s: "
        + ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
    )
    steppable = rows or any(s.row for s in matrix.servers)
    if (args.bisect or matrix.bisect) and not steppable:
        _say(
            "bisect: no client row gives a version range and no server row lists releases, "
            "so there is nothing to bisect"
        )
    if (args.bisect or matrix.bisect) and steppable:
        found = bisect(matrix, rows, options, events, budget=args.bisect_budget, servers=servers)
        _say(
            f"bisection: {found.cells} cells in {found.seconds:.1f}s, {found.exact} exact "
            f"boundaries"
            + (f", {len(found.open)} left open (budget {args.bisect_budget})" if found.open else "")
            + (f", {len(found.unrun)} open where releases could not run" if found.unrun else "")
        )


def _report_matrix(config: Path | None) -> Matrix | None:
    """report reads matrix.yaml when it is there; one named (--config, or the environment)
    must be there: ignoring it would judge the cells by no expectations at all."""
    if config is None and not os.environ.get(CONFIG_VARIABLE):
        return load(DEFAULT_CONFIG) if Path(DEFAULT_CONFIG).exists() else None
    return load(config or DEFAULT_CONFIG)


def cmd_report(args: argparse.Namespace, observers: Sequence[Observer] = ()) -> int:
    matrix = _report_matrix(args.config)
    if matrix is not None and args.declared:
        matrix = replace(matrix, declared=matrix.declared + read_declared(args.declared))
    baseline = load_baseline(args.baseline) if args.baseline else None
    inputs = args.inputs or [args.report_dir / "cells"]
    events = Events([printer(_say), *observers])
    # a run into this dir would write over the report, and its cells are half there
    with report_dir_lock(args.report_dir):
        return _report(inputs, args.report_dir, matrix, baseline, events, history=args.history)


def _report(
    inputs: list[Path],
    out: Path,
    matrix: Matrix | None,
    baseline: dict[str, Any] | None,
    events: Events,
    *,
    history: int | None = None,
    partial: bool = False,
) -> int:
    # the report's templates (jinja2) are needed once, at the end: a run does not wait on them
    from streammatrix.report.build import write_reports

    began = time.monotonic()
    result = write_reports(inputs, out, matrix, baseline, history=history, partial=partial)
    events.emit(ReportWritten(str(out), time.monotonic() - began))
    for warning in result.warnings:
        _say(f"warning: {warning}", style="yellow")
    for line in result.summary_lines():
        _say(line)
    bad = list(result.unexpected)  # newly failing results are among them
    if bad:
        causes = result.report.causes
        grouped = f" ({len(causes)} cause(s))" if len(causes) < len(result.unexpected) else ""
        _say(f"{len(bad)} unexpected result(s){grouped}:", style="bold red")
        for cause in causes:  # one line per cause, then the cells it hit
            _say(f"  - {cause}")
            if len(cause.cells) > 1:
                _say(f"      cells: {', '.join(cause.cells)}")
        return EXIT_UNEXPECTED
    return EXIT_OK


def cmd_images(args: argparse.Namespace, _observers: Sequence[Observer] = ()) -> int:
    matrix = load(args.config)
    if args.servers:
        specs = servers_needed(matrix, _cells(args, matrix))
    else:
        specs = [s for s in matrix.servers if s.default]
    from streammatrix.servers.images import build_images  # the Docker SDK: only here

    results = build_images(specs, force=args.force, progress=_say)
    failed = [r for r in results if getattr(r, "error", None)]
    for r in failed:
        _error(str(r.error))
    return EXIT_UNEXPECTED if failed else EXIT_OK


def cmd_bench(args: argparse.Namespace, _observers: Sequence[Observer] = ()) -> int:
    from streammatrix.bench.command import run_bench

    return run_bench(args, console, run=_quiet_main)


def _quiet_main(argv: list[str], observers: Sequence[Observer]) -> int:
    """``main`` with the console silenced: the benchmark's own matrix runs."""
    quiet, console.quiet = console.quiet, True
    try:
        return main(argv, observers)
    finally:
        console.quiet = quiet


def _say(message: str, style: str | None = None) -> None:
    """Print ``message`` literally: no markup, no emoji codes, no highlighting."""
    console.print(Text(message, style=style or ""), soft_wrap=True)


def _error(message: str) -> None:
    text = Text("error: ", style="bold red")
    text.append(message)
    console.print(text, soft_wrap=True)


COMMANDS = {
    "run": cmd_run,
    "report": cmd_report,
    "images": cmd_images,
    "list": cmd_list,
    "bench": cmd_bench,
}

if __name__ == "__main__":
    sys.exit(main())
