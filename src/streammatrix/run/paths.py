"""Where a run writes: the folders of its cell files and logs, and clearing an earlier run's."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from streammatrix.errors import OutputError
from streammatrix.plan import CELL_ID, Cell

RUNNING = ".running"  # a cell's running-test file, beside its log


@dataclass
class ReportPaths:
    """Where a run writes: ``cells/<cell>.xml`` and ``logs/<cell>.log`` under one root.

    The root is made absolute at once: pytest runs in the matrix file's folder, so a relative
    ``--junitxml`` would land there instead.
    """

    root: Path

    def __post_init__(self) -> None:
        self.root = Path(os.path.abspath(self.root))

    def prepare(self, *, keep: bool) -> None:
        """Make the folders; unless ``keep``, remove the cell and log files of an earlier run.

        Only files named like a cell's are removed: anything else in these folders is the
        user's and stays.
        """
        try:
            for folder, suffixes in (
                (self.cells, (".xml", ".xml.tmp")),
                (self.logs, (".log", RUNNING)),
            ):
                if folder.exists() and not folder.is_dir():
                    raise OutputError(f"{folder}: exists and is not a directory")
                folder.mkdir(parents=True, exist_ok=True)
                if keep:
                    continue
                # a bisection's cell files (run/bisect.py) belong to the run they came from
                for path in [*folder.iterdir(), *_files(folder / "bisect")]:
                    if path.is_file() and _ours(path.name, suffixes):
                        path.unlink()
        except OSError as exc:
            raise OutputError(f"{self.root}: cannot write the run's files: {exc}") from None

    @property
    def cells(self) -> Path:
        return self.root / "cells"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    def cell_file(self, cell: Cell) -> Path:
        return self.cells / f"{cell.id}.xml"

    def log_file(self, cell: Cell) -> Path:
        return self.logs / f"{cell.id}.log"

    def running_file(self, cell: Cell) -> Path:
        """Where the cell's plugin keeps the test running now (see plugin/current.py)."""
        return self.logs / f"{cell.id}{RUNNING}"


def _files(folder: Path) -> list[Path]:
    return list(folder.iterdir()) if folder.is_dir() else []


def _ours(name: str, suffixes: tuple[str, ...]) -> bool:
    return any(
        name.endswith(suffix) and CELL_ID.fullmatch(name[: -len(suffix)]) for suffix in suffixes
    )
