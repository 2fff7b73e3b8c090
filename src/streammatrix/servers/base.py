"""The interface every server provider implements, and what they share.

A provider turns a server entry of matrix.yaml into a running server on 127.0.0.1 and back into
nothing. Modelled on pytest-databases: a server is a context manager (:func:`serve`), readiness
is a plain ``-> bool`` function (:func:`streammatrix.resp.responsive`).
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, Protocol

from streammatrix.errors import ServerStartError
from streammatrix.plugin import resp

if TYPE_CHECKING:
    from streammatrix.config.model import ServerSpec

LABEL_PREFIX = "io.streammatrix"
# What makes a server a cluster node; its cluster bus listens on its port + 10000.
CLUSTER_FLAGS = ("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf")
CLUSTER_BUS_OFFSET = 10000


@dataclass
class ServerIdentity:
    """What the running server says it is (INFO server), never what its tag claims."""

    name: str  # "redis" or "valkey"
    version: str  # its own version (valkey_version on Valkey)
    redis_version: str  # the Redis compatibility version it reports

    @classmethod
    def probe(cls, host: str, port: int) -> ServerIdentity:
        return cls(*resp.server_identity(resp.info(host, port)))


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
    kind: str  # "docker", "binary" or "auto"

    def kind_of(self, spec: ServerSpec) -> str:
        """The provider that starts (or would start) ``spec``: "docker" or "binary"."""
        ...

    def start(
        self, spec: ServerSpec, labels: Mapping[str, str] | None = None, *, cluster: bool = False
    ) -> RunningServer:
        """Start the server, wait until it answers, and return it; raise ServerStartError.

        ``cluster``: a cluster node (cluster mode on, no slots yet) that listens on the address
        it announces, 127.0.0.1 and its own port, so a client here reaches every node at the
        address the cluster hands out (:mod:`streammatrix.servers.topology` joins them)."""
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


def free_port(*, cluster_bus: bool = False) -> int:
    """A free port of 127.0.0.1; with ``cluster_bus``, one whose cluster bus port is free too."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if not cluster_bus:
            return port
        bus = port + CLUSTER_BUS_OFFSET
        if bus > 65535:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", bus))
            except OSError:
                continue
        return port
