"""One run per report directory: two runs writing into one would clear and mix each other's
cell files, and each would report cells of the other.

A run holds an exclusive kernel lock (``flock``) on ``<report dir>/.streammatrix-run.lock``
from before it clears the folder until its report is written. The kernel drops the lock when
the process ends, however it ends (SIGKILL included), so the file left behind never blocks the
next run; it only says who held the lock last. A second run into the same directory does not
wait: it stops at once, naming the directory and the run that holds it.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import socket
import stat
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from streammatrix.errors import OutputError, StreamMatrixError
from streammatrix.files import output_dir

LOCK_NAME = ".streammatrix-run.lock"


class ReportDirInUse(StreamMatrixError):
    """Another run writes into the same report directory (exit 2: unusable options)."""


def _owner() -> str:
    started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    command = " ".join(["streammatrix", *sys.argv[1:]])
    owner = f"pid {os.getpid()} on {socket.gethostname()}, since {started}: {command}"
    return "".join(c if c.isprintable() else "?" for c in owner)[:1000]  # one line, read back


def _open(root: Path) -> int:
    """The lock file's descriptor: a regular file of the report dir, never a link's target."""
    path = output_dir(root) / LOCK_NAME  # the folder's own problems, worded as for any output
    try:
        # no O_TRUNC: a run that does not get the lock must not erase the holder's name;
        # O_NOFOLLOW: a link planted there must not make the run write over its target
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK, 0o644)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            why: object = f"{path} is a symbolic link; remove it (the run keeps its lock there)"
        else:
            why = exc.strerror or exc
        raise OutputError(f"{root}: cannot take the report dir's lock: {why}") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):  # a FIFO, a device
        os.close(fd)
        raise OutputError(
            f"{root}: cannot take the report dir's lock: {path} is not a regular file; remove "
            "it (the run keeps its lock there)"
        )
    return fd


@contextlib.contextmanager
def report_dir_lock(root: Path) -> Iterator[None]:
    """Hold the report directory ``root`` for the block; ReportDirInUse if another run does."""
    fd = _open(root)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 4096).decode("utf-8", "replace").strip() or "a run"
            raise ReportDirInUse(
                f"{root}: another run is writing its report here ({holder}); wait for it to "
                "end, or give this run another --report-dir"
            ) from None
        try:
            os.ftruncate(fd, 0)
            os.write(fd, (_owner() + "\n").encode())
        except OSError as exc:  # a full disk: nothing of the run can be written
            raise OutputError(f"{root / LOCK_NAME}: cannot write: {exc.strerror or exc}") from None
        yield
    finally:
        os.close(fd)  # closing the only descriptor releases the lock
