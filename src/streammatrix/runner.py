"""Cells -> results: client environments, servers (each started once), parallel cell runs.

Whatever happens, every planned cell ends with one JUnit file, every server that was started is
stopped, and every cell process is gone.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from streammatrix import outcomes as o
from streammatrix.cell import (
    CellResult,
    ReportPaths,
    arm,
    base_properties,
    kill_running,
    plugin_path,
    record_not_run,
    run_cell,
)
from streammatrix.config import Matrix, ServerSpec
from streammatrix.plan import Cell
from streammatrix.servers.base import (
    Provider,
    ProviderError,
    RunningServer,
    ServerStartError,
    stop_on_signals,
)
from streammatrix.venvs import ClientEnv, EnvError, PythonNotFound, ensure_env


@dataclass
class RunOptions:
    report_dir: Path
    envdir: Path
    workers: int = 2
    refresh: bool = False
    keep: bool = False  # keep earlier cell files in report_dir (e.g. to add a second shard)
    timeout: float | None = None


class ServerPool:
    """Each server starts once, on first use, and serves every cell that needs it.

    A server found dead when a cell asks for it is started again, so one crash costs one cell.
    """

    def __init__(self, provider: Provider, notify: Callable[[str], None]) -> None:
        self.provider, self.notify = provider, notify
        self._servers: dict[str, RunningServer] = {}
        self._failed: dict[str, str] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self.start_seconds: list[float] = []

    def get(self, spec: ServerSpec) -> RunningServer:
        with self._guard:
            lock = self._locks.setdefault(spec.name, threading.Lock())
        with lock:
            if spec.name in self._failed:
                raise ServerStartError(self._failed[spec.name])
            server = self._servers.get(spec.name)
            if server is not None and server.alive():
                return server
            if server is not None:
                self.notify(f"server {spec.name} is gone; starting it again")
                server.stop()
            started = time.monotonic()
            try:
                server = self.provider.start(spec, {"io.streammatrix.server": spec.name})
            except (ServerStartError, ProviderError) as exc:
                message = str(exc)
                if repr(spec.name) not in message.partition("\n")[0]:
                    message = f"server {spec.name!r} did not start: {message}"
                self._failed[spec.name] = message
                raise ServerStartError(self._failed[spec.name]) from None
            self.start_seconds.append(time.monotonic() - started)
            ident = server.identity
            self.notify(
                f"server {spec.name} ready at {server.url} ({ident.name} {ident.version}, "
                f"{self.provider.kind}, {self.start_seconds[-1]:.2f}s)"
            )
            self._servers[spec.name] = server
            return server

    def stop_all(self) -> None:
        for server in self._servers.values():
            server.stop()
        self._servers.clear()


def prepare_report_dir(paths: ReportPaths, keep: bool) -> None:
    for folder in (paths.cells, paths.logs):
        if folder.exists() and not keep:
            shutil.rmtree(folder)
        folder.mkdir(parents=True, exist_ok=True)


def make_envs(
    cells: Sequence[Cell], options: RunOptions, notify: Callable[[str], None]
) -> dict[tuple[str, str], ClientEnv | EnvError]:
    """Every (client, python) environment the cells need, made in parallel."""
    wanted = {(c.client.name, c.python): c.client for c in cells if c.excluded is None}
    result: dict[tuple[str, str], ClientEnv | EnvError] = {}

    def make(key: tuple[str, str]) -> None:
        started = time.monotonic()
        try:
            env = ensure_env(wanted[key], key[1], options.envdir, refresh=options.refresh)
        except EnvError as exc:
            result[key] = exc
            notify(f"environment {key[0]} py{key[1]}: {str(exc).splitlines()[0]}")
            return
        result[key] = env
        how = "reused" if env.reused else f"created in {time.monotonic() - started:.1f}s"
        notify(
            f"environment {key[0]} py{key[1]}: {env.client.package} {env.client_version} ({how})"
        )

    with ThreadPoolExecutor(max(1, options.workers)) as pool:
        list(pool.map(make, wanted))
    return result


def run_cells(
    matrix: Matrix,
    cells: Sequence[Cell],
    provider: Provider,
    options: RunOptions,
    notify: Callable[[str], None],
) -> list[CellResult]:
    """Run every cell; return one result per cell, in plan order."""
    paths = ReportPaths(options.report_dir)
    prepare_report_dir(paths, options.keep)
    arm()
    workdir = matrix.path.parent.resolve()
    suite = (workdir / matrix.suite).resolve()
    timeout = options.timeout or matrix.timeout
    results: dict[str, CellResult] = {}
    total = len(cells)
    order = {cell.id: i + 1 for i, cell in enumerate(cells)}

    def done(result: CellResult) -> None:
        results[result.cell.id] = result
        notify(progress_line(order[result.cell.id], total, result))

    for cell in cells:
        if cell.excluded is not None:
            props = base_properties(cell, None, provider.kind)
            done(record_not_run(cell, paths, o.CELL_EXCLUDED, cell.excluded, props))
    runnable = [c for c in cells if c.excluded is None]
    envs = make_envs(runnable, options, notify)
    plugin_dir = plugin_path(options.envdir)
    pool = ServerPool(provider, notify)

    def one(cell: Cell) -> CellResult:
        env = envs[(cell.client.name, cell.python)]
        props = base_properties(cell, env if isinstance(env, ClientEnv) else None, provider.kind)
        if isinstance(env, PythonNotFound):
            return record_not_run(cell, paths, o.CELL_SKIPPED, str(env), props)
        if isinstance(env, EnvError):
            return record_not_run(cell, paths, o.CELL_ERROR, str(env), props)
        try:
            server = pool.get(cell.server)
        except ServerStartError as exc:
            return record_not_run(cell, paths, o.CELL_ERROR, str(exc), props)
        notify(f"[{order[cell.id]}/{total}] start {cell.id}")
        return run_cell(
            cell,
            env,
            server,
            suite=suite,
            paths=paths,
            plugin_dir=plugin_dir,
            timeout=timeout,
            provider=provider.kind,
            workdir=workdir,
        )

    executor = ThreadPoolExecutor(max(1, options.workers), thread_name_prefix="cell")
    futures: list = []
    try:
        with stop_on_signals():
            futures = [executor.submit(one, cell) for cell in runnable]
            for future in as_completed(futures):
                done(future.result())
    except BaseException:
        for future in futures:
            future.cancel()
        kill_running()
        raise
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
        pool.stop_all()
    return [results[c.id] for c in cells if c.id in results]


def progress_line(index: int, total: int, result: CellResult) -> str:
    counts = ", ".join(f"{n} {k}" for k, n in sorted(result.counts.items(), key=_outcome_order))
    head = f"[{index}/{total}] {result.status:<8} {result.cell.id}"
    if result.status == o.CELL_OK:
        return f"{head}  {counts}  {result.seconds:.1f}s"
    return f"{head}  {result.reason.splitlines()[0] if result.reason else ''}"


def _outcome_order(item: tuple[str, int]) -> int:
    order = (o.PASS, o.FAIL, o.ERROR, o.UNSUPPORTED_SERVER, o.UNSUPPORTED_CLIENT, o.SKIPPED)
    return order.index(item[0]) if item[0] in order else len(order)


def summarize(results: Sequence[CellResult]) -> Counter[str]:
    total: Counter[str] = Counter()
    for result in results:
        total.update(result.counts)
    return total
