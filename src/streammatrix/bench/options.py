"""The options of ``streammatrix bench`` (:mod:`.command`) and the selections they name.

Every command's arguments are built on each start of the command line, so this module imports
nothing the bench's parts need: a run does not pay for importing the bench.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from streammatrix.bench.goals import PROVIDERS

# the bisection part's client range (``--bisect-range``)
DEFAULT_RANGE = ">=4.1.4,<4.4"
# The fixed matrix of ``--fixed``: the runner against the hand-written loop on 30 cells of
# servers that run from binaries (matrix.yaml rows) and five redis-py lines.
FIXED_SERVERS = ("redis-6.2", "redis-7.0", "redis-7.2", "redis-7.4", "redis-8.2", "valkey-8.0")
FIXED_CLIENTS = ("redis-4.6", "redis-5.0", "redis-5.2", "redis-6", "redis-latest")
FIXED_PROTOCOLS = ("2",)
FIXED_PARSERS = ("default", "python")  # each client's own parser: no hiredis column


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
    cores = os.cpu_count() or 1
    parser.add_argument(
        "--workers", default=",".join(str(w) for w in dict.fromkeys((1, cores, 2 * cores))),
        help="worker counts of the warm runs (default: 1, the cores, twice the cores)",
    )  # fmt: skip
    parser.add_argument("--report-dir", default=Path("report"), type=Path)
    parser.add_argument("--envdir", default=Path(".nox"), type=Path, help="where client envs live")
    parser.add_argument(
        "--skip-runs", action="store_true", help="only time server starts (no matrix runs)"
    )
    parser.add_argument(
        "--bisect-range",
        default=DEFAULT_RANGE,
        help=f"client range of the bisection part (default {DEFAULT_RANGE!r}); 'none' skips it",
    )
    parser.add_argument(
        "--fixed", action="store_true",
        help=f"the fixed {len(FIXED_SERVERS) * len(FIXED_CLIENTS)}-cell matrix instead: "
        f"{len(FIXED_SERVERS)} servers x {len(FIXED_CLIENTS)} redis-py lines, RESP2, one Python",
    )  # fmt: skip
    parser.add_argument(
        "--envs", type=int, default=5,
        help="client environments made from a warm package cache, timed (0: none)",
    )  # fmt: skip
    parser.add_argument(
        "--default-matrix", type=int, default=0, metavar="N",
        help="also time N warm runs of the whole default matrix (what `nox -s matrix` runs) "
        "against their CPU floor (default 0: none)",
    )  # fmt: skip
    _speed_arguments(parser)


def _speed_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--rounds", type=int, default=1,
        help="turns of (runner, hand-written loop) on the selection; 0: no comparison",
    )  # fmt: skip
    parser.add_argument("--feature", default="xautoclaim", help="the one-feature cell's feature")
    parser.add_argument("--repeats", type=int, default=5, help="timed one-feature cells per way")
