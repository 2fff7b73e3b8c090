"""Writing an output file whole or not at all, and saying where when it cannot be written.

Every file the runner hands to a reader (the reports, the merged JUnit, bench.json) is written
to a temporary file in the same folder and renamed over the target, so a reader, or the next
run, never sees half a file: a full disk or a killed runner leaves the old file or none.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path

from streammatrix.errors import OutputError


def output_dir(path: str | Path) -> Path:
    """Make the folder ``path`` (and its parents); an OutputError naming it if that fails."""
    folder = Path(path)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise OutputError(f"{folder}: exists and is not a directory") from None
    except OSError as exc:
        raise OutputError(f"{folder}: cannot make the folder: {_why(exc)}") from None
    return folder


def write_with(path: str | Path, write: Callable[[Path], object]) -> Path:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it to ``path``.

    Any OSError (no space, no permission, a folder where the file should be) becomes one
    OutputError that names ``path``; the temporary file is removed.
    """
    target = Path(path)
    output_dir(target.parent)
    # one writer per file (each cell has its own), so a fixed name: a run killed mid-write
    # leaves "<name>.tmp", which the next run's clean-up of the cell folder knows
    tmp = target.with_name(target.name + ".tmp")
    try:
        write(tmp)
        os.replace(tmp, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise OutputError(f"{target}: cannot write: {_why(exc)}") from None
    return target


def write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` as UTF-8 to ``path``, whole or not at all (see :func:`write_with`)."""
    return write_with(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def _why(exc: OSError) -> str:
    return exc.strerror or str(exc)
