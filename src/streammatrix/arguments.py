"""The command line's arguments: one subcommand per command of :mod:`streammatrix.cli`.

``bench`` adds its own options (:func:`streammatrix.bench.options.add_arguments`).
"""

from __future__ import annotations

import argparse
import math
import os
from pathlib import Path

from streammatrix.bench.options import add_arguments as bench_arguments
from streammatrix.config.model import MAX_TIMEOUT
from streammatrix.config.values import TIMEOUT_RANGE
from streammatrix.run.bisect import DEFAULT_BUDGET

# the first line of streammatrix.cli's docstring
DESCRIPTION = (
    "Command line: ``streammatrix run | report | images | list | bench``; the noxfile calls these."
)
# CI jobs and tests point every command at another matrix file without editing the commands.
CONFIG_VARIABLE = "STREAMMATRIX_CONFIG"
DEFAULT_CONFIG = os.environ.get(CONFIG_VARIABLE, "matrix.yaml")


def _positive(kind: type, at_most: float | None = None, more: str = "") -> object:
    def parse(text: str) -> object:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not math.isfinite(value) or value <= 0:  # nan and inf parse as floats
            raise argparse.ArgumentTypeError(f"{text!r} must be a finite number greater than 0")
        if at_most is not None and value > at_most:
            raise argparse.ArgumentTypeError(f"{text!r} must be {more or f'at most {at_most}'}")
        return value

    return parse


def _selection(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", default=DEFAULT_CONFIG, type=Path, help="the matrix file")
    parser.add_argument(
        "--servers", action="append", help="server names or globs, comma-separated ('all')"
    )
    parser.add_argument(
        "--clients", action="append", help="client names or globs, comma-separated ('all')"
    )
    parser.add_argument("--python", action="append", help="python versions, comma-separated")
    parser.add_argument(
        "--protocols",
        action="append",
        help="protocols of matrix.yaml to run, e.g. 2 (comma-separated)",
    )
    parser.add_argument(
        "--parsers",
        action="append",
        help="parsers of matrix.yaml's client rows to run, e.g. hiredis ('default': rows without)",
    )
    parser.add_argument(
        "--topologies",
        action="append",
        help="topologies of matrix.yaml to run, e.g. cluster (comma-separated)",
    )
    parser.add_argument("--shard", help="run slice I of N of the cells, e.g. 2/4")


HISTORY_HELP = "runs of history report.json keeps per feature and cell (overrides matrix.yaml)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="streammatrix", description=DESCRIPTION)
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the matrix and write the report")
    _selection(run)
    run.add_argument(
        "--workers",
        type=_positive(int),
        default=os.cpu_count() or 1,
        help="cells run in parallel (default: CPU count)",
    )
    run.add_argument(
        "--provider",
        choices=("auto", "docker", "binary"),
        help="where servers come from (default: matrix.yaml's provider, else auto)",
    )
    run.add_argument("--report-dir", default=Path("report"), type=Path)
    run.add_argument("--envdir", default=Path(".nox"), type=Path, help="where client envs live")
    run.add_argument("--refresh", action="store_true", help="recreate client environments")
    run.add_argument("--keep", action="store_true", help="keep earlier cell files in report dir")
    run.add_argument(
        "--timeout",
        type=_positive(float, MAX_TIMEOUT, f"above 0 {TIMEOUT_RANGE}"),
        help="seconds per cell (overrides matrix.yaml)",
    )
    run.add_argument("--baseline", type=Path, help="an earlier report.json to compare with")
    run.add_argument("--history", type=_positive(int), help=HISTORY_HELP)
    run.add_argument(
        "--no-fork", action="store_true",
        help="spawn every cell's pytest instead of forking it from a warm server (start: spawn)",
    )  # fmt: skip
    run.add_argument("--list", action="store_true", help="only list the cells")
    run.add_argument(
        "--bisect",
        action="store_true",
        help="after the grid, bisect every outcome change between two releases of a range row",
    )
    run.add_argument(
        "--bisect-budget",
        type=_positive(int),
        default=DEFAULT_BUDGET,
        help=f"cells the bisection may run (default {DEFAULT_BUDGET})",
    )
    run.add_argument("--declared", type=Path, help="a pyproject.toml whose dependencies to check")

    report = sub.add_parser("report", help="merge cell files into the compatibility report")
    report.add_argument("inputs", nargs="*", type=Path, help="cell files or folders")
    report.add_argument(
        "--config",
        type=Path,
        help=f"the matrix file (default: {DEFAULT_CONFIG} if it exists; a named one must exist)",
    )
    report.add_argument("--report-dir", default=Path("report"), type=Path)
    report.add_argument("--baseline", type=Path)
    report.add_argument("--history", type=_positive(int), help=HISTORY_HELP)
    report.add_argument(
        "--declared", type=Path, help="a pyproject.toml whose dependencies to check"
    )

    images = sub.add_parser("images", help="build local server images from binary sources")
    _selection(images)
    images.add_argument("--force", action="store_true", help="rebuild images already present")

    listing = sub.add_parser("list", help="list the cells a run would run")
    _selection(listing)

    bench = sub.add_parser("bench", help="measure the runner itself; writes report/bench.json")
    _selection(bench)
    bench_arguments(bench)
    return parser
