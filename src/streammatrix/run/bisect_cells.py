"""The cells a bisection runs (:mod:`.bisect` decides which): only some features' tests
(``-k``), files of their own under ``cells/bisect/`` and ``logs/bisect/``, marked with the
``cell.bisect`` property (the features) and ``cell.bisect.step`` (the round)."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from streammatrix import processes
from streammatrix.config.model import Matrix
from streammatrix.errors import ServerStartError
from streammatrix.plan import Cell
from streammatrix.plugin import outcomes as o
from streammatrix.run.cell import (
    CellResult,
    plugin_path,
    record_not_run,
    run_cell,
    shared_environ,
)
from streammatrix.run.envpool import env_key
from streammatrix.run.envs import ClientEnv, ReleaseNotInstallable
from streammatrix.run.events import Events
from streammatrix.run.launch import Launcher, client_preload
from streammatrix.run.matrix import RunOptions
from streammatrix.run.parsers import ParserNotInstallable
from streammatrix.run.paths import ReportPaths
from streammatrix.run.pool import RunServers, ServerPool
from streammatrix.run.properties import base_properties
from streammatrix.servers.base import Provider


class BisectPaths(ReportPaths):
    """``cells/bisect/`` and ``logs/bisect/`` under the report directory."""

    @property
    def cells(self) -> Path:
        return self.root / "cells" / "bisect"

    @property
    def logs(self) -> Path:
        return self.root / "logs" / "bisect"


class BisectRunner:
    """Runs bisection cells: one pool of environments (made ahead: the releases a later step
    may need are asked for while this one runs) and one of servers for the whole bisection,
    the run's (``servers``: those the grid started) or, without them, its own."""

    def __init__(
        self, matrix: Matrix, options: RunOptions, events: Events, paths: BisectPaths,
        servers: RunServers | None = None,
    ) -> None:  # fmt: skip
        self.matrix, self.options, self.events = matrix, options, events
        self.paths = paths
        self.servers = servers
        self._own: RunServers | None = None
        self.provider: Provider | None = None
        self.pool: ServerPool | None = None
        start = options.start or matrix.start
        self.launcher = Launcher(
            shared_environ(plugin_path(options.envdir)), fork=start == o.START_FORK
        )
        # a release's fork server starts as soon as its environment is made, a later step's too
        self.envs = options.env_pool(
            events, lambda env: self.launcher.warm(env.python, client_preload(env.client.module))
        )

    def ahead(self, cells: Sequence[Cell]) -> None:
        """Make the environments of cells a later step may run, while this one runs."""
        for cell in cells:
            if cell.excluded is None:
                self.envs.ahead(cell)

    def stop(self) -> None:
        self.envs.close()
        self.launcher.close()
        if self._own is not None:
            self._own.__exit__(None, None, None)

    def run(
        self,
        cells: Sequence[tuple[Cell, list[str]]],
        step: int,
        tests: dict[str, set[str]],
        axes: Sequence[str] = (),
    ) -> list[tuple[CellResult, list[str]]]:
        """Run ``cells`` (each with its features; ``tests`` names each feature's tests; ``axes``
        the axis each cell steps along)."""
        stepped = {c.id: axis for (c, _), axis in zip(cells, axes)}
        if self.pool is None:
            if self.servers is None:
                self.servers = self._own = RunServers(self.options.provider, self.events)
            self.pool = self.servers.pool()
            self.provider = self.pool.provider
        options, paths = self.options, self.paths
        self.envs.want([c for c, _ in cells])
        plugin_dir = plugin_path(options.envdir)
        workdir = self.matrix.path.parent.resolve()
        suite = (workdir / self.matrix.suite).resolve()
        timeout = options.timeout or self.matrix.timeout

        def one(item: tuple[Cell, list[str]]) -> tuple[CellResult, list[str]]:
            cell, features = item
            env = self.envs.get(env_key(cell)) if cell.excluded is None else None
            extra = {o.SUITE_CELL_BISECT: ",".join(features), o.SUITE_CELL_BISECT_STEP: str(step)}
            if cell.id in stepped:
                extra[o.SUITE_CELL_BISECT_AXIS] = stepped[cell.id]
            made = env if isinstance(env, ClientEnv) else None
            props = {**base_properties(cell, made, self.provider.kind_of(cell.server)), **extra}
            if cell.excluded is not None:
                self.events.say(f"bisect step {step}: {cell.id}: excluded: {cell.excluded}")
                return record_not_run(cell, paths, o.CELL_EXCLUDED, cell.excluded, props), features
            if isinstance(env, (ReleaseNotInstallable, ParserNotInstallable)):
                return record_not_run(cell, paths, o.CELL_SKIPPED, str(env), props), features
            why = None if made is not None else str(env)
            if why is None:
                try:
                    server = self.pool.get(cell.server, cell.topology)
                except ServerStartError as exc:
                    why = str(exc)
            if why is not None or made is None:
                # said here: no later step runs this release again (run/bisect.py)
                self.events.say(f"bisect step {step}: {cell.id}: could not run: {why}")
                return record_not_run(cell, paths, o.CELL_ERROR, str(why), props), features
            names = sorted({n for f in features for n in tests.get(f, ())})
            self.events.say(f"bisect step {step}: {cell.id}: {', '.join(features)}")
            res = run_cell(
                cell, made, server, suite=suite, paths=paths, plugin_dir=plugin_dir,
                timeout=timeout, workdir=workdir, launcher=self.launcher,
                pytest_args=["-k", " or ".join(names)] if names else [], extra=extra,
            )  # fmt: skip
            return res, features

        executor = ThreadPoolExecutor(max(1, options.workers), thread_name_prefix="bisect")
        try:
            return list(executor.map(one, cells))
        except BaseException:
            # stop the running cells now: waiting for them would keep an interrupted run
            # going until they end; each writes its file as interrupted, those not begun none
            processes.interrupt()
            raise
        finally:
            executor.shutdown(wait=True, cancel_futures=True)
