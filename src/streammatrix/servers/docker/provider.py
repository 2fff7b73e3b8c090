"""The Docker provider: one throwaway container per server, through the Docker SDK for Python.

Every container carries three labels: ``io.streammatrix.runner=streammatrix``, the run id of the
process that started it (``<hostname>:<pid>:<process start time>``) and the server entry's name.
A container is removed when its server stops, whatever ends the block (success, failure,
exception, SIGINT/SIGTERM through :func:`streammatrix.processes.stop_on_signals`). A process
that was killed outright cannot clean up; :func:`reap` removes what it left, and every new
:class:`DockerProvider` calls it.

The server's host port is chosen by the engine, on 127.0.0.1 only, and read back from the
container. A cluster node runs on the host's network instead (``network_mode: host``): it
listens on 127.0.0.1 and a free port of its own, the address it announces to its cluster, which
a client here then reaches as it is handed out (a port mapping would hand out the container's).
What the server is comes from ``INFO server``, never from the image tag.

Run ids and reaping live in :mod:`.reaping`, the engine connection in :mod:`.engine`, image
pulls in :mod:`.pull`.

One concept, though over the size rule: one container's life from creation to removal, which
:class:`DockerServer` and :class:`DockerProvider` share through the server's guard and stopped
flag, so they stay together (as the binary provider keeps its server beside it).
"""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

import docker
import requests
from docker.errors import DockerException, ImageNotFound, NotFound

from streammatrix import processes
from streammatrix.errors import ProviderError, ServerStartError
from streammatrix.servers import base
from streammatrix.servers.base import ServerIdentity
from streammatrix.servers.docker.engine import (
    ENGINE_ERRORS,
    connect,
    engine_error,
)
from streammatrix.servers.docker.pull import pull
from streammatrix.servers.docker.reaping import (
    RUN_ID_LABEL,
    RUNNER,
    RUNNER_LABEL,
    SERVER_LABEL,
    current_run_id,
    reap,
)
from streammatrix.versions import matches_claim

if TYPE_CHECKING:
    from docker.models.containers import Container

    from streammatrix.config.model import ServerSpec


log = logging.getLogger(__name__)

CONTAINER_PORT = "6379/tcp"
HOST = "127.0.0.1"
# Flags every server gets: nothing kept on disk; inside its container it listens on every
# address, and the port mapping alone decides who reaches it (127.0.0.1 of this host).
SERVER_FLAGS = (
    *("--port", "6379"),
    *("--bind", "0.0.0.0"),
    *("--protected-mode", "no"),
    *("--save", ""),
    *("--appendonly", "no"),
)


@dataclass(eq=False)
class DockerServer(base.Started):
    """A server running in a container; :meth:`stop` removes the container."""

    kind: ClassVar[str] = "docker"

    container: Container | None = field(default=None, repr=False)
    image: str = ""
    host_network: bool = False  # a cluster node: on the host's network, at its own port
    _stopped: bool = field(default=False, repr=False)
    # held while the container is created, so a stop() from a signal handler waits for the
    # container to exist and removes it, instead of missing it
    _guard: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def alive(self) -> bool:
        if self._stopped or self.container is None:
            return False
        try:
            self.container.reload()
        except ENGINE_ERRORS:
            return False
        return self.container.status == "running"

    def logs(self, tail: int = 50) -> str:
        if self.container is None:
            return ""
        try:
            return self.container.logs(tail=tail).decode(errors="replace")
        except ENGINE_ERRORS as exc:
            return f"(no logs: {exc})"

    def describe(self) -> str:
        name = self.container.name if self.container else "?"
        return f"container {name} (image {self.image}), last log lines:\n{self.logs()}"

    def stop(self) -> None:
        """Remove the container (force); safe to call more than once."""
        with self._guard:
            if self._stopped:
                return
            self._stopped = True
        try:
            if self.container is not None:
                self.container.remove(force=True, v=True)
        except NotFound:
            pass
        except ENGINE_ERRORS as exc:  # never hide what ended the block; the next reap retries
            log.warning("could not remove container %s: %s", self.container.name, exc)
        finally:
            processes.untrack(self)


class DockerProvider:
    """Starts each server entry's ``image`` as a container on a random 127.0.0.1 port."""

    kind = "docker"

    def kind_of(self, spec: ServerSpec) -> str:
        return self.kind

    def __init__(
        self,
        client: docker.DockerClient | None = None,
        start_timeout: float = 30.0,
        run_id: str | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        self.client = client if client is not None else connect()
        self.start_timeout = start_timeout
        self.run_id = run_id or current_run_id()
        self.progress = progress or log.info
        self._present: set[str] = set()
        try:
            self.reaped = reap(self.client)
        except ENGINE_ERRORS as exc:
            raise engine_error(exc) from exc

    def command(self, spec: ServerSpec, cluster_port: int = 0) -> list[str]:
        if cluster_port:  # on the host's network: 127.0.0.1 only, as a local server
            return [
                *("--port", str(cluster_port), "--bind", HOST),
                *SERVER_FLAGS[4:], *base.CLUSTER_FLAGS, *spec.args,
            ]  # fmt: skip
        return [*SERVER_FLAGS, *spec.args]

    def ensure_image(self, spec: ServerSpec) -> str:
        """The spec's image, pulled first if it is not present; ImageUnavailable otherwise."""
        if not spec.image:
            raise ProviderError(f"server {spec.name!r} has no `image:`; Docker cannot start it")
        image = spec.image
        if image in self._present:
            return image
        try:
            self.client.images.get(image)
        except ImageNotFound:
            pull(self.client, spec, image, self.progress)
        except ENGINE_ERRORS as exc:
            raise engine_error(exc) from exc
        self._present.add(image)
        return image

    def start(
        self, spec: ServerSpec, labels: Mapping[str, str] | None = None, *, cluster: bool = False
    ) -> DockerServer:
        image = self.ensure_image(spec)
        name = f"{RUNNER}-{re.sub(r'[^A-Za-z0-9_.-]', '-', spec.name)}-{uuid.uuid4().hex[:8]}"
        all_labels = {
            **(labels or {}),
            RUNNER_LABEL: RUNNER,
            RUN_ID_LABEL: self.run_id,
            SERVER_LABEL: spec.name,
        }
        port = base.free_port(cluster_bus=True) if cluster else 0
        server = DockerServer(spec, HOST, port, image=image, host_network=cluster)
        processes.track(server)
        try:
            with server._guard:
                if server._stopped or processes.interrupted():
                    raise ServerStartError(f"server {spec.name!r}: interrupted before it started")
                server.container = self._create(spec, image, name, all_labels, port)
            self._start(server)
        except BaseException as exc:
            # stopped by the run's clean-up (a signal) while starting: whatever the engine or the
            # wait said next ("exited before answering PING", "marked for removal") follows
            # from that removal, and is not why the server did not start
            stopped_by_run = server._stopped or processes.interrupted()
            server.stop()
            if server.container is None:  # interrupted between the engine and us: by name
                self._remove_named(name)
            if stopped_by_run and isinstance(exc, Exception):
                raise ServerStartError(
                    f"server {spec.name!r}: interrupted while it was starting (the run was stopped)"
                ) from exc
            raise
        return server

    def _create(
        self, spec: ServerSpec, image: str, name: str, labels: dict[str, str], cluster_port: int
    ) -> Container:
        network: dict = (
            {"network_mode": "host"} if cluster_port else {"ports": {CONTAINER_PORT: (HOST, None)}}
        )
        try:
            return self.client.containers.create(
                image,
                command=self.command(spec, cluster_port),
                name=name,
                detach=True,
                labels=labels,
                **network,
            )
        except requests.RequestException as exc:
            raise engine_error(exc) from exc
        except DockerException as exc:
            raise ServerStartError(
                f"server {spec.name!r}: cannot create a container: {exc}"
            ) from exc

    def _start(self, server: DockerServer) -> None:
        spec, container = server.spec, server.container
        assert container is not None
        try:
            container.start()
            server.port = server.port or self._host_port(server)
            base.wait_ready(
                HOST,
                server.port,
                timeout=self.start_timeout,
                alive=server.alive,
                describe=server.describe,
            )
            server.identity = ServerIdentity.probe(HOST, server.port)
        except ServerStartError as exc:
            hint = ""
            if server.host_network and "did not answer PING within" in str(exc):
                hint = (
                    "\n(a cluster node runs on the host's network: an engine whose host network "
                    "is not this machine's, as in a VM, cannot serve one; use --provider binary)"
                )
            raise ServerStartError(f"server {spec.name!r}: {exc}{hint}") from exc
        except requests.RequestException as exc:
            raise engine_error(exc) from exc
        except (DockerException, OSError) as exc:
            raise ServerStartError(f"server {spec.name!r}: {exc}\n{server.describe()}") from exc
        if spec.version and not matches_claim(spec.version, server.identity.version):
            raise ServerStartError(
                f"server {spec.name!r} claims version {spec.version}, but image {server.image} "
                f"runs {server.identity.name} {server.identity.version} (INFO server)"
            )

    def _host_port(self, server: DockerServer) -> int:
        """The host port the engine mapped to 6379, read back from the container."""
        container = server.container
        assert container is not None
        deadline = time.monotonic() + self.start_timeout
        while True:
            container.reload()
            bindings = (container.attrs["NetworkSettings"].get("Ports") or {}).get(CONTAINER_PORT)
            if bindings:
                return int(bindings[0]["HostPort"])
            if container.status != "running":  # worded as base.wait_ready words a death
                raise ServerStartError(
                    f"exited before answering PING (before its port was mapped)\n"
                    f"{server.describe()}"
                )
            if time.monotonic() > deadline:
                raise ServerStartError(f"no host port mapped for {CONTAINER_PORT}")
            time.sleep(0.01)

    def _remove_named(self, name: str) -> None:
        try:
            self.client.containers.get(name).remove(force=True, v=True)
        except (*ENGINE_ERRORS, NotFound):
            pass
