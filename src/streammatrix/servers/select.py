"""Which provider starts the servers: ``provider: auto | docker | binary`` in matrix.yaml.

``docker`` and ``binary`` mean exactly that, and fail with one clear error when they cannot
work. ``auto`` means "whatever works here": Docker when an engine answers a ping quickly, else
local binaries, said once. With Docker, a server whose image is neither present nor pullable
but that has a ``binary:`` source runs from that binary instead, also said once: a fresh
machine without a registry runs the matrix before anyone has built images (``nox -s images``),
and a server without a binary source still fails with the image error.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from streammatrix.errors import ProviderError
from streammatrix.servers.base import Provider, RunningServer
from streammatrix.servers.binary.provider import BinaryProvider

if TYPE_CHECKING:
    import docker

    from streammatrix.config.model import ServerSpec
    from streammatrix.servers.docker.provider import DockerProvider
    from streammatrix.servers.docker.pull import ImageUnavailable

# The Docker SDK (a fifth of a run's start-up) is imported only when a run may use Docker.

KINDS = ("auto", "docker", "binary")
P = TypeVar("P", "DockerProvider", "AutoProvider")
PING_TIMEOUT = 2.0  # seconds auto mode waits for the engine before it uses local binaries


def make_provider(
    kind: str = "auto",
    *,
    cache_dir: str | Path | None = None,
    notify: Callable[[str], None] = print,
) -> Provider:
    """The provider ``kind`` names; ProviderError when an explicitly chosen one cannot work."""
    if kind == "binary":
        return _binary_provider(cache_dir)
    if kind not in ("auto", "docker"):
        raise ProviderError(f"unknown provider {kind!r}: choose one of {', '.join(KINDS)}")
    from streammatrix.servers.docker.engine import EngineUnavailable, connect
    from streammatrix.servers.docker.provider import DockerProvider

    if kind == "docker":
        return _reaped_said(DockerProvider(progress=notify), notify)
    try:
        client = connect(ping_timeout=PING_TIMEOUT)
    except EngineUnavailable as exc:
        notify(
            f"not using Docker: no engine answers at {exc.address} ({exc.reason}); "
            "starting servers from local binaries"
        )
        return _binary_provider(cache_dir)
    return _reaped_said(AutoProvider(client, cache_dir=cache_dir, notify=notify), notify)


def _reaped_said(provider: P, notify: Callable[[str], None]) -> P:
    """Tell the user which containers of ended runs the new provider removed."""
    if provider.reaped:
        notify(
            f"removed {len(provider.reaped)} container(s) left by runs that ended without "
            f"cleaning up: {', '.join(provider.reaped)}"
        )
    return provider


def _binary_provider(cache_dir: str | Path | None) -> Provider:
    return BinaryProvider(cache_dir=cache_dir)


class AutoProvider:
    """Docker, except for servers whose image cannot be had but whose binary can.

    It holds a Docker provider and, made on first need, a binary one; :meth:`kind_of` and each
    running server's ``kind`` say which of the two serves a row.
    """

    kind = "auto"

    def __init__(
        self,
        client: docker.DockerClient | None = None,
        *,
        cache_dir: str | Path | None = None,
        notify: Callable[[str], None] = print,
        docker_provider: DockerProvider | None = None,
    ) -> None:
        from streammatrix.servers.docker.provider import DockerProvider

        self.docker = docker_provider or DockerProvider(client, progress=notify)
        self.cache_dir = cache_dir
        self.notify = notify
        self.fallbacks: dict[str, str] = {}  # server name -> why it runs from its binary
        self._binary: Provider | None = None
        self._lock = threading.Lock()

    @property
    def reaped(self) -> list[str]:
        return self.docker.reaped

    def kind_of(self, spec: ServerSpec) -> str:
        """The provider that serves ``spec``: binary for a fallback or an image-less row."""
        return "binary" if spec.name in self.fallbacks or spec.image is None else "docker"

    def start(
        self, spec: ServerSpec, labels: Mapping[str, str] | None = None, *, cluster: bool = False
    ) -> RunningServer:
        from streammatrix.servers.docker.pull import ImageUnavailable

        if spec.image is None and spec.binary is not None:  # nothing for Docker to run
            return self._binary_provider().start(spec, labels, cluster=cluster)
        if spec.name not in self.fallbacks:
            try:
                return self.docker.start(spec, labels, cluster=cluster)
            except ImageUnavailable as exc:
                if spec.binary is None:
                    raise
                self._fall_back(spec, exc)
        return self._binary_provider().start(spec, labels, cluster=cluster)

    def _fall_back(self, spec: ServerSpec, exc: ImageUnavailable) -> None:
        with self._lock:
            if spec.name in self.fallbacks:
                return
            self.fallbacks[spec.name] = str(exc)
        self.notify(
            f"server {spec.name!r}: image {exc.image} is not present and cannot be pulled; "
            f"running its binary ({spec.binary.describe() if spec.binary else '?'}) instead "
            "(`nox -s images` builds the image)"
        )

    def _binary_provider(self) -> Provider:
        with self._lock:
            if self._binary is None:
                self._binary = _binary_provider(self.cache_dir)
            return self._binary
