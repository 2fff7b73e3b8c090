"""The interface every server provider implements, and what they share.

A provider turns a server entry of matrix.yaml into a running server on 127.0.0.1 and back into
nothing. Modelled on pytest-databases: a server is a context manager (:func:`serve`), readiness
is a plain ``-> bool`` function (:func:`streammatrix.resp.responsive`).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, Protocol

from streammatrix import resp

if TYPE_CHECKING:
    from streammatrix.config import ServerSpec

LABEL_PREFIX = "io.streammatrix"


class ProviderError(RuntimeError):
    """A provider cannot work at all (engine down, binary source unusable). One clear message."""


class ServerStartError(RuntimeError):
    """One server did not come up; the message carries its last log lines."""


@dataclass
class ServerIdentity:
    """What the running server says it is (INFO server), never what its tag claims."""

    name: str  # "redis" or "valkey"
    version: str  # its own version (valkey_version on Valkey)
    redis_version: str  # the Redis compatibility version it reports

    @classmethod
    def probe(cls, host: str, port: int) -> ServerIdentity:
        return cls(*resp.server_identity(resp.info(host, port)))


def version_matches(claimed: str, actual: str) -> bool:
    """True when ``claimed`` is ``actual`` or a prefix of it on dotted components (7.0/7.0.15).

    Every provider checks a row's ``version:`` with this against what INFO server reports.
    """
    want, have = claimed.strip().split("."), actual.strip().split(".")
    return bool(claimed.strip()) and have[: len(want)] == want


class RunningServer(Protocol):
    kind: ClassVar[str]  # the provider that really started it: "docker" or "binary"
    spec: ServerSpec
    host: str
    port: int
    identity: ServerIdentity

    @property
    def url(self) -> str: ...

    def alive(self) -> bool: ...

    def logs(self, tail: int = 50) -> str: ...

    def stop(self) -> None: ...


class Provider(Protocol):
    kind: str  # "docker" or "binary"

    def start(self, spec: ServerSpec, labels: Mapping[str, str] | None = None) -> RunningServer:
        """Start the server, wait until it answers, and return it; raise ServerStartError."""
        ...


@dataclass
class Started:
    """Common fields of a running server; providers subclass it."""

    spec: ServerSpec
    host: str
    port: int
    identity: ServerIdentity = field(default_factory=lambda: ServerIdentity("", "", ""))

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"


def wait_ready(
    host: str,
    port: int,
    *,
    timeout: float,
    alive: Callable[[], bool],
    describe: Callable[[], str],
    check: Callable[[str, int], bool] = resp.responsive,
) -> None:
    """Poll ``check`` until it is true; raise ServerStartError with ``describe()`` otherwise."""
    deadline = time.monotonic() + timeout
    delay = 0.005
    while True:
        if check(host, port):
            return
        if not alive():
            raise ServerStartError(f"exited before answering PING\n{describe()}")
        if time.monotonic() > deadline:
            raise ServerStartError(f"did not answer PING within {timeout:g}s\n{describe()}")
        time.sleep(delay)
        delay = min(delay * 2, 0.1)


@contextlib.contextmanager
def serve(
    provider: Provider, spec: ServerSpec, labels: Mapping[str, str] | None = None
) -> Iterator[RunningServer]:
    """Start ``spec`` with ``provider`` for the duration of the block; always stop it."""
    server = provider.start(spec, labels)
    try:
        yield server
    finally:
        server.stop()


# Every server a provider started in this process, so that a signal handler or atexit can stop
# them all: nothing is left running, whatever ends the run.
_LIVE: dict[int, RunningServer] = {}


def track(server: RunningServer) -> None:
    _LIVE[id(server)] = server


def untrack(server: RunningServer) -> None:
    _LIVE.pop(id(server), None)


def stop_all() -> None:
    for server in list(_LIVE.values()):
        with contextlib.suppress(Exception):
            server.stop()
    _LIVE.clear()


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """Turn SIGTERM/SIGHUP into KeyboardInterrupt for the block, so every ``finally`` runs."""
    import signal

    def interrupt(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = {}
    for sig in (signal.SIGTERM, signal.SIGHUP):
        with contextlib.suppress(ValueError):  # not the main thread
            previous[sig] = signal.signal(sig, interrupt)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        stop_all()
