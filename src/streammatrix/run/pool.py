"""One server per matrix row and topology, started on first use and shared by every cell that
needs it: the grid's cells and, after them, the bisection's (:class:`RunServers`); a cluster
is one server here (:mod:`streammatrix.servers.topology`)."""

from __future__ import annotations

import threading
import time

from streammatrix import processes
from streammatrix.config.model import ServerSpec
from streammatrix.errors import ProviderError, ServerStartError
from streammatrix.run.events import Events, ProviderReady, ServerStarted
from streammatrix.servers import topology as topologies
from streammatrix.servers.base import Provider, RunningServer
from streammatrix.servers.select import make_provider


class ServerPool:
    """Each server starts once, on first use, and serves every cell that needs it.

    A server found dead when a cell asks for it is started again, so one crash costs one cell.
    """

    def __init__(self, provider: Provider, events: Events) -> None:
        self.provider, self.events = provider, events
        self._servers: dict[tuple[str, str], RunningServer] = {}
        self._failed: dict[tuple[str, str], ServerStartError] = {}
        self._locks: dict[tuple[str, str], threading.Lock] = {}
        self._guard = threading.Lock()

    def get(self, spec: ServerSpec, topology: str | None = None) -> RunningServer:
        """The server of ``spec`` for cells of ``topology`` (None: standalone, no claim).

        ServerStartError when it does not start; a server that cannot be deployed so (it
        cannot run as a cluster) is a :class:`~streammatrix.servers.topology.Refused`."""
        key = (spec.name, topology or "")
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key in self._failed:
                failed = self._failed[key]
                raise type(failed)(str(failed))
            server = self._servers.get(key)
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
                server = topologies.start(
                    self.provider, spec, topology, {"io.streammatrix.server": spec.name}
                )
            except topologies.ClusterUnsupported as exc:
                self.events.say(str(exc).partition("\n")[0])
                refused = topologies.Refused(spec, self.provider.kind_of(spec), str(exc))
                self._servers[key] = refused
                return refused
            except (ServerStartError, ProviderError) as exc:
                message = str(exc)
                if repr(spec.name) not in message.partition("\n")[0]:
                    message = f"server {spec.name!r} did not start: {message}"
                kind = type(exc) if isinstance(exc, ServerStartError) else ServerStartError
                self._failed[key] = kind(message)
                raise kind(message) from None
            if processes.interrupted():  # it came up as the run was being stopped
                server.stop()
                raise ServerStartError(
                    "interrupted: the run was stopped while this server was starting"
                )
            ident = server.identity
            self.events.emit(
                ServerStarted(
                    spec.name,
                    server.url,
                    ident.name,
                    ident.version,
                    server.kind,
                    time.monotonic() - started,
                    topology or "",
                )
            )
            self._servers[key] = server
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
