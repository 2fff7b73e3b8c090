"""One pytest invocation of a cell: forked from a warm fork server, or spawned.

A :class:`Launcher` lives as long as the run. It keeps idle fork servers (:mod:`.forkserver`)
per client interpreter, started with the environment every cell of the run shares; a worker
takes one, runs its cell's pytest in it and gives it back, so there is at most one server per
interpreter per worker. :meth:`Launcher.warm` starts the first one while the run's servers
start, so that even the first cell forks. Where forking cannot work (``start: spawn``, a server
that did not start, a cell whose PYTHON* settings differ from the server's) the cell's pytest is
spawned as ``python -m pytest``, and the log says why. A server that breaks before it forked the
cell is dropped and the cell spawned; one that dies while its cell runs ends that cell only.

:meth:`Launcher.run_pytest` is one pytest invocation: a cell may call it more than once (a
rerun of its failed tests) and gets one exit code each time.
"""

from __future__ import annotations

import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

from streammatrix import processes
from streammatrix.plugin import outcomes as o
from streammatrix.run.forkserver import START_TIMEOUT, ForkServer, ForkServerError

PLUGIN = "streammatrix.plugin.pytest_plugin"


@dataclass(frozen=True)
class Launched:
    """How one pytest invocation ended."""

    code: int | None  # pytest's exit code, negative: killed by that signal; None: timed out
    start: str  # outcomes.START_FORK or START_SPAWN
    error: str = ""  # the fork server died while the cell ran (its exit code means nothing)


def client_preload(module: str) -> tuple[str, ...]:
    """What a fork server imports for cells of the client ``module`` (sync and asyncio)."""
    return (module, f"{module}.asyncio")


class Launcher:
    """Fork servers of one run, per interpreter; ``fork=False`` spawns every cell."""

    def __init__(self, shared: dict[str, str], *, fork: bool = True) -> None:
        self.shared, self.fork = dict(shared), fork
        self._idle: dict[str, list[ForkServer]] = {}
        self._busy: set[ForkServer] = set()
        self._failed: dict[str, str] = {}  # interpreter -> why no fork server serves it
        self._warming: dict[str, list[threading.Event]] = {}  # each set once its server is up
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
            except ForkServerError as exc:
                self._drop(server)
                if server.last_pid is not None or processes.interrupted():
                    return Launched(None, o.START_FORK, f"the fork server died: {exc}")
                why = f"the fork server broke before the cell started: {exc}"
            else:
                self._give_back(server)
                return Launched(code, o.START_FORK)
        _note(log, f"# start: {o.START_SPAWN} ({why})")
        cmd = [str(python), "-m", "pytest", *args]
        return Launched(spawn_pytest(cmd, environ, cwd, log, timeout), o.START_SPAWN)

    def close(self) -> None:
        """Stop every fork server; from then on every cell is spawned. Idempotent."""
        with self._lock:
            self._closed = True
            warming = [done for events in self._warming.values() for done in events]
        for done in warming:  # a server still starting closes itself once it is up
            done.wait(START_TIMEOUT)
        with self._lock:
            servers = [s for idle in self._idle.values() for s in idle] + list(self._busy)
            self._idle.clear()
        for server in servers:
            server.close()

    def __enter__(self) -> Launcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def warm(self, python: str | Path, preload: tuple[str, ...] = (), count: int = 1) -> None:
        """Start ``count`` servers for ``python`` in the background while the run starts its
        servers, so that cells fork at once (a cell that comes first waits for one of them)."""
        python = str(python)
        with self._lock:
            if not self.fork or self._closed or python in self._warming:
                return
            events = self._warming[python] = [threading.Event() for _ in range(count)]

        def start(done: threading.Event) -> None:
            try:
                server, _why = self._start(python, preload)
                if server is not None:
                    self._give_back(server)
            finally:
                done.set()

        for done in events:
            threading.Thread(
                target=start, args=(done,), name="forkserver-warm", daemon=True
            ).start()

    def _take(self, python: str, preload: tuple[str, ...]) -> tuple[ForkServer | None, str]:
        """An idle server for ``python``, a new one, or None and why the cell is spawned."""
        if not self.fork:
            return None, "start: spawn was asked for"
        while True:
            with self._lock:
                if self._closed or processes.interrupted():
                    return None, "the run is ending"
                if python in self._failed:
                    return None, self._failed[python]
                idle = self._idle.get(python)
                if idle:
                    server = idle.pop()
                    self._busy.add(server)
                    return server, ""
                pending = [e for e in self._warming.get(python, ()) if not e.is_set()]
            if not pending:
                return self._start(python, preload)
            pending[0].wait()  # one being warmed is sooner than a new one

    def _start(self, python: str, preload: tuple[str, ...]) -> tuple[ForkServer | None, str]:
        """A new busy server for ``python``, or None and why not."""
        try:  # outside the lock: another worker may start its own server meanwhile
            server = ForkServer.start(python, self.shared, preload=preload, plugins=(PLUGIN,))
        except ForkServerError as exc:
            with self._lock:
                self._failed.setdefault(python, f"no fork server: {exc}")
                return None, self._failed[python]
        with self._lock:
            if not self._closed:
                self._busy.add(server)
                return server, ""
        server.close()
        return None, "the run is ending"

    def _give_back(self, server: ForkServer) -> None:
        with self._lock:
            self._busy.discard(server)
            if not self._closed and server.process.poll() is None:
                self._idle.setdefault(str(server.python), []).append(server)
                return
        server.close()

    def _drop(self, server: ForkServer) -> None:
        with self._lock:
            self._busy.discard(server)
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
