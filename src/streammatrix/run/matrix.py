"""Cells -> results: the provider, client environments, servers (each started once), and the
cells in parallel, every step told to the run's observers (:mod:`.events`).

Whatever happens, every planned cell ends with one JUnit file, every server that was started is
stopped, and every cell process is gone.
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from streammatrix import processes
from streammatrix.config.model import Matrix
from streammatrix.errors import EnvError, PythonNotFound, ServerStartError, StreamMatrixError
from streammatrix.plan import Cell
from streammatrix.plugin import outcomes as o
from streammatrix.run.cell import (
    CellResult,
    plugin_path,
    record_not_run,
    run_cell,
    shared_environ,
)
from streammatrix.run.envpool import EnvPool, env_key
from streammatrix.run.envs import ClientEnv, ReleaseNotInstallable, without_uv
from streammatrix.run.events import (
    CellEnded,
    CellStarted,
    Events,
    RunPlanned,
)
from streammatrix.run.launch import Launcher, client_preload
from streammatrix.run.parsers import ParserNotInstallable
from streammatrix.run.paths import ReportPaths
from streammatrix.run.pool import RunServers, ServerPool
from streammatrix.run.properties import base_properties
from streammatrix.servers.base import Provider

SIGNAL_LATENCY = 0.1  # seconds the main thread waits at most before it looks at signals
INTERRUPTED_BEFORE = "interrupted: the run was stopped before this cell started"


@dataclass
class RunOptions:
    report_dir: Path
    envdir: Path
    workers: int = 2
    refresh: bool = False
    keep: bool = False  # keep earlier cell files in report_dir (e.g. to add a second shard)
    timeout: float | None = None
    provider: str = "auto"
    start: str | None = None  # fork | spawn (how cells start); None: matrix.yaml's start
    # when the run began: with refresh, an environment made since then is this run's own
    began: float = field(default_factory=time.time)

    def env_pool(self, events: Events, ready: Callable[[ClientEnv], None] | None = None) -> EnvPool:
        """A pool that makes this run's client environments ahead of its cells."""
        return EnvPool(
            self.envdir, events, workers=self.workers, refresh=self.refresh, since=self.began,
            ready=ready,
        )  # fmt: skip


def run_matrix(
    matrix: Matrix,
    cells: Sequence[Cell],
    options: RunOptions,
    events: Events,
    servers: RunServers | None = None,
) -> list[CellResult]:
    """Start the provider ``options.provider`` names, then run every cell (:func:`run_cells`).

    ``servers``: the run's servers, which its caller stops (the bisection after the grid runs on
    them); without it the grid's servers stop when its cells end."""
    events.emit(RunPlanned(len(cells), options.workers, options.provider))
    with contextlib.ExitStack() as own:
        if servers is None:
            servers = own.enter_context(RunServers(options.provider, events))
        pool = servers.pool()
        return run_cells(matrix, cells, pool.provider, options, events, pool=pool)


def run_cells(
    matrix: Matrix,
    cells: Sequence[Cell],
    provider: Provider,
    options: RunOptions,
    events: Events,
    pool: ServerPool | None = None,
) -> list[CellResult]:
    """Run every cell; return one result per cell, in plan order. The cells' servers come from
    ``pool``, which its owner stops; without it, from one of their own, stopped at their end.

    A signal at any moment of it (making environments, starting servers, running cells)
    interrupts the run; the handlers come back only once every server and cell is stopped, so a
    second signal cannot cut that short.
    """
    with processes.stop_on_signals(), contextlib.ExitStack() as own:
        if pool is None:
            pool = ServerPool(provider, events)
            own.callback(pool.stop_all)
        return _run_cells(matrix, cells, provider, options, events, pool)


def _run_cells(
    matrix: Matrix,
    cells: Sequence[Cell],
    provider: Provider,
    options: RunOptions,
    events: Events,
    pool: ServerPool,
) -> list[CellResult]:
    paths = ReportPaths(options.report_dir)
    paths.prepare(keep=options.keep)
    processes.arm()
    workdir = matrix.path.parent.resolve()
    suite = (workdir / matrix.suite).resolve()
    timeout = options.timeout or matrix.timeout
    results: dict[str, CellResult] = {}
    total = len(cells)
    order = {cell.id: i + 1 for i, cell in enumerate(cells)}

    def done(result: CellResult, started: float | None) -> None:
        results[result.cell.id] = result
        events.emit(CellEnded(result, order[result.cell.id], total, started))

    for cell in cells:
        if cell.excluded is not None:
            props = base_properties(cell, None, provider.kind_of(cell.server))
            done(record_not_run(cell, paths, o.CELL_EXCLUDED, cell.excluded, props), None)
    runnable = [c for c in cells if c.excluded is None]
    begun: set[str] = set()  # cells whose turn came: each one writes its file, whatever happens
    launcher: Launcher | None = None
    envs: EnvPool | None = None
    executor = ThreadPoolExecutor(max(1, options.workers), thread_name_prefix="cell")
    futures: list = []
    # A signal may come at any moment from here on (environments, fork servers, servers, cells):
    # whatever it interrupts, the clean-up below stops everything and writes the missing files.
    try:
        note = without_uv()
        if note:
            events.say(note)
        plugin_dir = plugin_path(options.envdir)
        start = options.start or matrix.start
        launcher = Launcher(shared_environ(plugin_dir), fork=start == o.START_FORK)
        warm = launcher.warm
        # each environment is made ahead of its cells (while the cells whose environment is
        # ready run), and its fork server started as soon as it is made
        envs = options.env_pool(
            events, lambda env: warm(env.python, client_preload(env.client.module))
        )
        envs.want(runnable)

        def one(cell: Cell) -> tuple[CellResult, float | None]:
            begun.add(cell.id)
            turn = time.monotonic()
            env = envs.get(env_key(cell))
            env_ready = time.monotonic()
            kind = provider.kind_of(cell.server)
            props = base_properties(cell, env if isinstance(env, ClientEnv) else None, kind)
            if isinstance(env, (PythonNotFound, ReleaseNotInstallable, ParserNotInstallable)):
                return record_not_run(cell, paths, o.CELL_SKIPPED, str(env), props), None
            if isinstance(env, EnvError):
                return record_not_run(cell, paths, o.CELL_ERROR, str(env), props), None
            try:
                server = pool.get(cell.server, cell.topology)
            except ServerStartError as exc:
                reason = str(exc)
                if processes.interrupted():
                    reason = f"{INTERRUPTED_BEFORE} ({reason})"
                return record_not_run(cell, paths, o.CELL_ERROR, reason, props), None
            server_ready = time.monotonic()
            launcher.prepare(env.python, client_preload(env.client.module))
            started = CellStarted(
                cell.id, order[cell.id], total, turn=turn, waited_env=env_ready - turn,
                waited_server=server_ready - env_ready,
                waited_fork=time.monotonic() - server_ready,
            )  # fmt: skip
            events.emit(started)
            result = run_cell(
                cell, env, server, suite=suite, paths=paths, plugin_dir=plugin_dir,
                timeout=timeout, workdir=workdir, reruns=matrix.reruns, launcher=launcher,
            )  # fmt: skip
            return result, started.at

        futures = [executor.submit(one, cell) for cell in runnable]
        pending = set(futures)
        while pending:
            # wake up now and then: a signal the kernel hands to another thread (a server's
            # start, a cell) runs its handler only once this, the main thread, runs again
            finished, pending = wait(pending, timeout=SIGNAL_LATENCY, return_when=FIRST_COMPLETED)
            for future in finished:
                done(*future.result())
    except BaseException:
        for future in futures:
            future.cancel()
        processes.interrupt()
        raise
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
        if envs is not None:
            envs.close()
        if launcher is not None:
            launcher.close()
        if processes.interrupted():
            # a cell file that cannot be written must not hide what ended the run
            with contextlib.suppress(StreamMatrixError):
                _record_interrupted(runnable, begun, provider, paths)
    return [results[c.id] for c in cells if c.id in results]


def _record_interrupted(
    cells: Sequence[Cell], begun: set[str], provider: Provider, paths: ReportPaths
) -> None:
    """A file for each cell whose turn never came: every planned cell ends with one."""
    for cell in cells:
        if cell.id not in begun:
            props = base_properties(cell, None, provider.kind_of(cell.server))
            record_not_run(cell, paths, o.CELL_ERROR, INTERRUPTED_BEFORE, props)


def summarize(results: Sequence[CellResult]) -> Counter[str]:
    total: Counter[str] = Counter()
    for result in results:
        total.update(result.counts)
    return total
