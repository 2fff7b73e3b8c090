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

from streammatrix.errors import ServerStartError
from streammatrix.plugin import resp

if TYPE_CHECKING:
    from streammatrix.config.model import ServerSpec

LABEL_PREFIX = "io.streammatrix"


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
