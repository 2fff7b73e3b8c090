"""One pytest invocation of a cell: forked from a warm fork server, or spawned.

A :class:`Launcher` lives as long as the run. It keeps one fork server (:mod:`.forkserver`) per
client interpreter, started with the environment every cell of the run shares; every worker
whose cell needs that interpreter forks it from the same server (each cell its own child).
:meth:`Launcher.warm` queues servers to start in the background while the run's servers start,
so that even the first cell forks: at most ``warmers`` (the cores) start at once, in the order
asked for (the order cells need them), because interpreters importing side by side on a busy
machine only delay the first ones. A cell whose interpreter's server is still queued starts it
itself instead of waiting for its turn; one whose server is starting waits for it.

Where forking cannot work (``start: spawn``, a server that did not start, a cell whose PYTHON*
settings differ from the server's) the cell's pytest is spawned as ``python -m pytest``, and
the log says why. A server that breaks before it forked the cell is dropped and the cell
spawned; one that dies while cells run ends those cells only (the next cell starts a new one).

:meth:`Launcher.run_pytest` is one pytest invocation: a cell may call it more than once (a
rerun of its failed tests) and gets one exit code each time.
"""

from __future__ import annotations

import os
import subprocess
import threading
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from streammatrix import processes
from streammatrix.plugin import outcomes as o
from streammatrix.run.forkserver import (
    START_TIMEOUT,
    CellLost,
    ForkServer,
    ForkServerError,
    OtherSettings,
)

PLUGIN = "streammatrix.plugin.pytest_plugin"


@dataclass(frozen=True)
class Launched:
    """How one pytest invocation ended."""

    code: int | None  # pytest's exit code, negative: killed by that signal; None: timed out
    start: str  # outcomes.START_FORK or START_SPAWN
    error: str = ""  # the fork server died while the cell ran (its exit code means nothing)


@dataclass(eq=False)
class _WarmUp:
    """One server asked for ahead of its cells: queued, then taken by a warmer or a cell."""

    python: str
    preload: tuple[str, ...]
    taken: bool = False  # a warmer or a cell is starting it (or it was cancelled)
    done: threading.Event = field(default_factory=threading.Event)


def client_preload(module: str) -> tuple[str, ...]:
    """What a fork server imports for cells of the client ``module`` (sync and asyncio)."""
    return (module, f"{module}.asyncio")


class Launcher:
    """Fork servers of one run, per interpreter; ``fork=False`` spawns every cell."""

    def __init__(
        self, shared: dict[str, str], *, fork: bool = True, warmers: int | None = None
    ) -> None:
        self.shared, self.fork = dict(shared), fork
        self.warmers = max(1, warmers or os.cpu_count() or 1)  # servers starting at once
        self._servers: dict[str, ForkServer] = {}  # per interpreter, serving
        self._failed: dict[str, str] = {}  # interpreter -> why no fork server serves it
        self._starts: dict[str, _WarmUp] = {}  # per interpreter: its server queued or starting
        self._queue: deque[_WarmUp] = deque()  # warm-ups not yet taken, in the order asked
        self._threads = 0  # warmer threads running
        self._lock = threading.Lock()
        self._closed = False

    def run_pytest(
        self,
        python: str | Path,
        args: list[str],
        *,
        environ: dict[str, str],
        cwd: Path,
        log: Path,
        timeout: float | None,
        preload: tuple[str, ...] = (),
    ) -> Launched:
        """``python -m pytest *args`` with ``environ`` in ``cwd``, output appended to ``log``."""
        server, why = self._take(str(python), preload)
        if server is not None:
            _note(log, f"# start: {o.START_FORK} (fork server {server.process.pid})")
            try:
                code = server.run(args, environ, cwd, log, timeout)
            except CellLost as exc:
                self._drop(server)
                return Launched(None, o.START_FORK, f"the fork server died: {exc}")
            except OtherSettings as exc:  # the server is fine, for its other cells
                why = str(exc)
            except ForkServerError as exc:
                self._drop(server)
                if processes.interrupted():
                    return Launched(None, o.START_FORK, f"the fork server died: {exc}")
                why = f"the fork server broke before the cell started: {exc}"
            else:
                return Launched(code, o.START_FORK)
        _note(log, f"# start: {o.START_SPAWN} ({why})")
        cmd = [str(python), "-m", "pytest", *args]
        return Launched(spawn_pytest(cmd, environ, cwd, log, timeout), o.START_SPAWN)

    def prepare(self, python: str | Path, preload: tuple[str, ...] = ()) -> None:
        """Wait until the fork server for ``python`` is up (started now if none was asked for),
        so that what a cell waits for it is seen apart from the cell; nothing when spawning."""
        if self.fork:
            self._take(str(python), tuple(preload))

    def close(self) -> None:
        """Stop every fork server; from then on every cell is spawned. Idempotent."""
        with self._lock:
            self._closed = True
            for warm in self._queue:  # never started: nothing to wait for
                warm.taken = True
                warm.done.set()
            self._queue.clear()
            starting = [w.done for w in self._starts.values()]
        for done in starting:  # a server still starting closes itself once it is up
            done.wait(START_TIMEOUT)
        with self._lock:
            servers = list(self._servers.values())
            self._servers.clear()
        processes.side_by_side(lambda server: server.close(), servers)

    def __enter__(self) -> Launcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def warm(self, python: str | Path, preload: tuple[str, ...] = ()) -> None:
        """Queue the server for ``python``, started in the background (``warmers`` at a time,
        in the order of the calls) while the run starts its servers, so that cells fork at
        once (a cell that comes first waits for it, or starts it if it is still queued)."""
        python = str(python)
        with self._lock:
            if not self.fork or self._closed or python in self._starts or python in self._servers:
                return
            warm = self._starts[python] = _WarmUp(python, tuple(preload))
            self._queue.append(warm)
            start = self._threads < self.warmers
            self._threads += start
        if start:
            threading.Thread(target=self._warmer, name="forkserver-warm", daemon=True).start()

    def _warmer(self) -> None:
        """Start queued servers one after the other until the queue is empty."""
        while True:
            with self._lock:
                if not self._queue:
                    self._threads -= 1
                    return
                warm = self._queue.popleft()
                warm.taken = True
            self._start(warm)

    def _take(self, python: str, preload: tuple[str, ...]) -> tuple[ForkServer | None, str]:
        """The server for ``python`` (started now if need be), or None and why the cell is
        spawned."""
        if not self.fork:
            return None, "start: spawn was asked for"
        while True:
            with self._lock:
                if self._closed or processes.interrupted():
                    return None, "the run is ending"
                if python in self._failed:
                    return None, self._failed[python]
                server = self._servers.get(python)
                if server is not None and server.process.poll() is None:
                    return server, ""
                if server is not None:  # it died between cells: its cells said so
                    del self._servers[python]
                warm = self._starts.get(python)
                mine = warm is None or not warm.taken
                if warm is None:  # none asked for, or the last one broke: start one now
                    warm = self._starts[python] = _WarmUp(python, tuple(preload))
                elif mine:  # queued behind others: this cell needs it now
                    self._queue.remove(warm)
                warm.taken = True
            if server is not None:
                server.close()
            if mine:
                self._start(warm)
            else:
                warm.done.wait()  # the one being started is sooner than a new one

    def _start(self, warm: _WarmUp) -> None:
        """Start ``warm``'s server and make it the one for its interpreter (or say why not)."""
        try:
            server = ForkServer.start(
                warm.python, self.shared, preload=warm.preload, plugins=(PLUGIN,)
            )
        except ForkServerError as exc:
            with self._lock:
                self._failed.setdefault(warm.python, f"no fork server: {exc}")
            server = None
        with self._lock:
            if self._starts.get(warm.python) is warm:
                del self._starts[warm.python]
            if server is not None and not self._closed:
                self._servers[warm.python] = server
                server = None
        warm.done.set()
        if server is not None:  # the run ended while it started
            server.close()

    def _drop(self, server: ForkServer) -> None:
        """Forget a broken server (its other cells end with it); the next cell starts anew."""
        with self._lock:
            if self._servers.get(server.python) is server:
                del self._servers[server.python]
        server.close()


def spawn_pytest(
    cmd: list[str], environ: dict[str, str], cwd: Path, log: Path, timeout: float | None
) -> int | None:
    """Run ``cmd`` as a tied child, output appended to ``log``: its exit code, None on timeout."""
    with log.open("a") as out:
        proc = processes.spawn(cmd, env=environ, stdout=out, cwd=cwd)
        processes.track_process(proc)
        try:
            return proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        finally:
            if proc.poll() is None:  # timeout, or the runner itself is being interrupted
                processes.stop_group(proc)
            processes.untrack_process(proc)


def _note(log: Path, line: str) -> None:
    with log.open("a") as out:
        out.write(line + "\n")
