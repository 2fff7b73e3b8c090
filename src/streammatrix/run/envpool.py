"""The client environments of a run, made ahead of the cells that need them.

Environments are made in the background (``workers`` at a time, in the order the cells need
them), so a cell whose environment is ready runs while the others are still being made; a
cell waits only for its own. A later step's environments (bisection's possible next releases)
are asked for ahead, quietly: they are made while the current step runs, and said when a cell
needs them. Each (client, python, parser) is made once per pool; the lock of :mod:`.envs` makes runs
and pools that share an envdir wait for each other instead of making one twice.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from pathlib import Path

from streammatrix.config.model import ClientSpec
from streammatrix.errors import EnvError
from streammatrix.plan import Cell
from streammatrix.run.envs import ClientEnv, ensure_env
from streammatrix.run.events import EnvReady, EnvsReady, Events

Key = tuple[str, str, str]  # client name, python, parser ("" when the row names none)
Made = tuple["ClientEnv | EnvError", float]  # the environment (or why not), seconds it took


def env_key(cell: Cell) -> Key:
    """The environment a cell runs in: its client's, on its Python, for its parser."""
    return (cell.client.name, cell.python, cell.parser or "")


class EnvPool:
    """Environments made in the background; :meth:`get` waits for one."""

    def __init__(
        self,
        envdir: Path,
        events: Events,
        *,
        workers: int,
        refresh: bool = False,
        since: float | None = None,
        ready: Callable[[ClientEnv], None] | None = None,
    ) -> None:
        self.envdir, self.refresh = envdir, refresh
        self.events = events
        self.since = since  # with refresh: one made since then is fresh (made by this run)
        self.ready = ready  # called with each wanted environment once it is made
        self._pool = ThreadPoolExecutor(max(1, workers), thread_name_prefix="env")
        self._made: dict[Key, Future[Made]] = {}
        self._told: set[Key] = set()
        self._pending: set[Key] = set()
        self._began: float | None = None
        self._lock = threading.Lock()

    def want(self, cells: Sequence[Cell]) -> None:
        """The environments ``cells`` need, in their order; each is said once it is made."""
        keys = {env_key(c): c.client for c in cells if c.excluded is None}
        with self._lock:
            if self._began is None or not self._pending:
                self._began = time.monotonic()
            fresh = [k for k in keys if k not in self._told and k not in self._pending]
            self._pending.update(fresh)
        for key in fresh:
            self._submit(key, keys[key]).add_done_callback(lambda f, key=key: self._tell(key, f))

    def ahead(self, cell: Cell) -> None:
        """Make the environment of a cell a later step may run, quietly (a failure is said if
        and when a cell needs it); ``ready`` is called with it once it is made, as for a wanted
        one."""
        self._submit(env_key(cell), cell.client).add_done_callback(self._ready)

    def get(self, key: Key) -> ClientEnv | EnvError:
        """The environment for ``key`` (asked for with :meth:`want`), waiting for it."""
        try:
            return self._made[key].result()[0]
        except CancelledError:
            return EnvError("interrupted: the run was stopped before this environment was made")

    def close(self) -> None:
        """Cancel what has not started; wait for what has (an install is not cut in half)."""
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> EnvPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _submit(self, key: Key, client: ClientSpec) -> Future[Made]:
        with self._lock:
            future = self._made.get(key)
            if future is None:
                future = self._made[key] = self._pool.submit(self._make, client, key)
            return future

    def _make(self, client: ClientSpec, key: Key) -> Made:
        started = time.monotonic()
        _, python, parser = key
        try:
            env: ClientEnv | EnvError = ensure_env(
                client, python, self.envdir, refresh=self.refresh, since=self.since,
                parser=parser or None,
            )  # fmt: skip
        except EnvError as exc:
            env = exc
        return env, time.monotonic() - started

    def _ready(self, future: Future[Made]) -> None:
        if not future.cancelled() and self.ready is not None:
            env = future.result()[0]
            if isinstance(env, ClientEnv):
                self.ready(env)

    def _tell(self, key: Key, future: Future[Made]) -> None:
        if future.cancelled():
            return
        self._ready(future)
        env, seconds = future.result()
        client, python, parser = key
        if isinstance(env, ClientEnv):
            event = EnvReady(
                client, python, seconds, reused=env.reused, package=env.client.package,
                version=env.client_version, parser=parser, parser_version=env.parser_version,
            )  # fmt: skip
        else:
            event = EnvReady(client, python, seconds, error=str(env), parser=parser)
        with self._lock:
            self._told.add(key)
            self._pending.discard(key)
            last = not self._pending
            began = self._began
        self.events.emit(event)
        if last and began is not None:
            self.events.emit(EnvsReady(time.monotonic() - began))
