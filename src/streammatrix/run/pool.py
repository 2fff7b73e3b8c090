"""One server per matrix row, started on first use and shared by every cell that needs it:
the grid's cells and, after them, the bisection's (:class:`RunServers`)."""

from __future__ import annotations

import threading
import time

from streammatrix import processes
from streammatrix.config.model import ServerSpec
from streammatrix.errors import ProviderError, ServerStartError
from streammatrix.run.events import Events, ProviderReady, ServerStarted
from streammatrix.servers.base import Provider, RunningServer
from streammatrix.servers.select import make_provider


class ServerPool:
    """Each server starts once, on first use, and serves every cell that needs it.

    A server found dead when a cell asks for it is started again, so one crash costs one cell.
    """

    def __init__(self, provider: Provider, events: Events) -> None:
        self.provider, self.events = provider, events
        self._servers: dict[str, RunningServer] = {}
        self._failed: dict[str, str] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

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
                self.events.say(f"server {spec.name} is gone; starting it again")
                server.stop()
            if processes.interrupted():
                raise ServerStartError(
                    "interrupted: the run was stopped before this server started"
                )
            started = time.monotonic()
            try:
                server = self.provider.start(spec, {"io.streammatrix.server": spec.name})
            except (ServerStartError, ProviderError) as exc:
                message = str(exc)
                if repr(spec.name) not in message.partition("\n")[0]:
                    message = f"server {spec.name!r} did not start: {message}"
                self._failed[spec.name] = message
                raise ServerStartError(self._failed[spec.name]) from None
            ident = server.identity
            self.events.emit(
                ServerStarted(
                    spec.name,
                    server.url,
                    ident.name,
                    ident.version,
                    server.kind,
                    time.monotonic() - started,
                )
            )
            self._servers[spec.name] = server
            return server

    def stop_all(self) -> None:
        """Stop every server, side by side (each stop waits for its server to exit)."""
        processes.side_by_side(lambda server: server.stop(), list(self._servers.values()))
        self._servers.clear()


class RunServers:
    """The servers of one run: its provider, made on first use, and one pool that the grid and
    the bisection after it share, so the bisection's cells run on the servers the grid started.
    Every server stops when the run leaves the ``with`` block (a signal's too)."""

    def __init__(self, provider: str, events: Events) -> None:
        self.kind, self.events = provider, events
        self._pool: ServerPool | None = None

    def pool(self) -> ServerPool:
        if self._pool is None:
            began = time.monotonic()
            provider = make_provider(self.kind, notify=self.events.say)
            self.events.emit(ProviderReady(provider.kind, time.monotonic() - began))
            self._pool = ServerPool(provider, self.events)
        return self._pool

    def __enter__(self) -> RunServers:
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._pool is not None:
            self._pool.stop_all()
