"""What two files for one cell, or a cell file that cannot be read, mean for the merge.

CI shards are downloaded and merged by hand or by a workflow: the same shard can arrive twice
(harmless when both copies agree), two runs can leave different results for one cell (nobody
knows which is right), and a shard can arrive truncated (its cell's results are lost). Only the
first is a mere warning; the others must not depend on which file name sorts first.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from streammatrix.junit.format import CELL_ID
from streammatrix.junit.records import CellRecord
from streammatrix.plugin import outcomes as o

# Which file is shown when two disagree: one that ran beats one that did not. The exit code
# does not depend on it: a disagreement is unexpected either way.
_STATUS_RANK = {o.CELL_OK: 0, o.CELL_ERROR: 1, o.CELL_SKIPPED: 2, o.CELL_EXCLUDED: 3}


def results(record: CellRecord) -> tuple[str, tuple[tuple[str, str], ...]]:
    """What a cell file says happened: the cell's status and every test's outcome."""
    return record.status, tuple(sorted((t.id, t.outcome) for t in record.tests))


def describe(record: CellRecord) -> str:
    """``path (ok: 40 pass, 1 fail)``: a file and what it says, for a message."""
    counts = Counter(t.outcome for t in record.tests)
    text = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
    return f"{record.source} ({record.status}{': ' + text if text else ''})"


def merge_duplicate(kept: CellRecord, other: CellRecord, warnings: list[str]) -> CellRecord:
    """The record to show for a cell that two files describe; a conflict is recorded on it."""
    if results(kept) == results(other):
        warnings.append(
            f"{other.source}: cell {kept.id!r} also comes from {kept.source} with the same "
            "results (the same file twice?); ignored this copy"
        )
        return kept
    better = _STATUS_RANK.get(other.status, 9) < _STATUS_RANK.get(kept.status, 9)
    winner = other if better else kept
    winner.conflicts = [
        *kept.conflicts,
        *other.conflicts,
        f"{describe(kept)} and {describe(other)} disagree; the grid shows {winner.source}",
    ]
    return winner


def lost_cell(path: Path, problem: str) -> CellRecord:
    """An error cell standing for a file that cannot be read: its results are lost.

    Its id comes from the file name when that is a cell id (``<cell>.xml``), so the cell keeps
    its column; otherwise the file's name is all there is.
    """
    stem = path.name.removesuffix(".xml")
    props = {
        o.SUITE_CELL_STATUS: o.CELL_ERROR,
        o.SUITE_CELL_REASON: f"{path}: {problem}; the cell's results are lost",
    }
    if CELL_ID.fullmatch(stem):
        rest, python = stem.rsplit("--", 1)
        server, client = rest.split("--", 1)
        props.update(
            {
                o.SUITE_CELL_SERVER: server,
                o.SUITE_CELL_CLIENT: client,
                o.SUITE_CELL_PYTHON: python.removeprefix("py"),
            }
        )
    else:
        stem = path.name
    props[o.SUITE_CELL] = stem
    return CellRecord(stem, path, props)
